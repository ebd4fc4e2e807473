import http from 'node:http';
import https from 'node:https';
import { parseRetryAfterMs } from './backoff.js';
import type { DeliveryOutcome } from './types.js';

/** What the receiver answered, or why there was no answer. */
export type PostResult =
  | { readonly kind: 'answered'; readonly status: number; readonly text: string; readonly retryAfter: string | undefined }
  | { readonly kind: 'failed'; readonly reason: string };

/** How a kept connection closed by the receiver fails when reused (Node's own "socket hang up" is ECONNRESET). */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE']);

/** How much of an answer's body is kept (for an error message); the rest is read and dropped. */
const KEPT_BODY_CHARS = 1_024;

/**
 * POSTs to one URL over a kept-alive connection, with node:http rather than fetch. Under a
 * floor's load (events sent as they are journalled, ~45 requests a second) each fetch left
 * ~23 KB that outlived a young-generation GC (web streams, the body tee, abort signals): 60% of
 * all the gateway promoted, which made every scavenge slow and a major GC run every few
 * seconds — event-loop stalls that a badge or a panic press waits for. One kept connection also
 * spares the receiver a TCP (and TLS) handshake per event. Redirects are never followed (as
 * with fetch's `redirect: 'manual'`).
 */
export class HttpPoster {
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;

  constructor(
    private readonly url: URL,
    /** A request with no complete answer by then is abandoned and counts as a failure. */
    private readonly timeoutMs: number,
  ) {
    const secure = url.protocol === 'https:';
    this.request = secure ? https.request : http.request;
    // Idle sockets are unref'd by the agent, so a kept connection never holds the process up.
    this.agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 4 }) : new http.Agent({ keepAlive: true, maxSockets: 4 });
  }

  async post(body: string, headers: Readonly<Record<string, string>>, signal: AbortSignal): Promise<PostResult> {
    const first = await this.attempt(body, headers, signal);
    // A kept connection the receiver closed as we reused it fails at once with no answer: try
    // again on a new one now, not after the loop's backoff (an alarm must not wait a second).
    const result = first.kind === 'failed' && first.reusedSocket === true && !signal.aborted ? await this.attempt(body, headers, signal) : first;
    return result.kind === 'failed' ? { kind: 'failed', reason: result.reason } : result;
  }

  private attempt(body: string, headers: Readonly<Record<string, string>>, signal: AbortSignal): Promise<PostResult & { readonly reusedSocket?: boolean }> {
    return new Promise((resolve) => {
      let settled = false;
      let answered = false;
      const settle = (result: PostResult & { readonly reusedSocket?: boolean }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onStop);
        resolve(result);
      };
      const request = this.request(this.url, { method: 'POST', agent: this.agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (response) => {
        answered = true;
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (text.length < KEPT_BODY_CHARS) text += chunk.slice(0, KEPT_BODY_CHARS - text.length);
        });
        response.on('end', () => {
          const retryAfter = response.headers['retry-after'];
          settle({ kind: 'answered', status: response.statusCode ?? 0, text, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter });
        });
        response.on('error', (error) => settle({ kind: 'failed', reason: connectionFailure(error) }));
      });
      const timer = setTimeout(() => {
        settle({ kind: 'failed', reason: `no answer within ${this.timeoutMs} ms` });
        request.destroy();
      }, this.timeoutMs);
      const onStop = (): void => {
        settle({ kind: 'failed', reason: 'stopped' });
        request.destroy();
      };
      if (signal.aborted) return onStop();
      signal.addEventListener('abort', onStop, { once: true });
      request.on('error', (error) => {
        const reusedSocket = request.reusedSocket && !answered && RESET_CODES.has(String((error as { code?: unknown }).code));
        settle({ kind: 'failed', reason: connectionFailure(error), reusedSocket });
      });
      request.end(body);
    });
  }

  /** Closes the kept connections. */
  close(): void {
    this.agent.destroy();
  }
}

/** Names the cause (ECONNREFUSED, ECONNRESET) without the URL, which may carry credentials. */
function connectionFailure(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return `connection failed: ${typeof code === 'string' ? code : error.message}`;
}

/**
 * What a forwarder does with a receiver's answer: 2xx delivered; 408, 429 and 5xx retried
 * (honouring Retry-After); any other 4xx rejected; a redirect or 1xx kept and retried, since it
 * means a misconfigured URL and events are never dropped for it. `redact` takes secrets out of
 * the receiver's text before it reaches a log or the forwarder's status.
 */
export function deliveryOutcome(answer: PostResult, nowMs: number, redact: (text: string) => string = (text) => text): DeliveryOutcome {
  if (answer.kind === 'failed') return { kind: 'retry', reason: answer.reason };
  const { status } = answer;
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  const text = answer.text.trim();
  const detail = `HTTP ${status}${text === '' ? '' : `: ${redact(text.slice(0, 200))}`}`;
  if (status === 408 || status === 429 || status >= 500) return { kind: 'retry', reason: detail, retryAfterMs: parseRetryAfterMs(answer.retryAfter ?? null, nowMs) };
  if (status >= 400) return { kind: 'rejected', reason: detail };
  return { kind: 'retry', reason: `${detail} (not followed: fix the forwarder url)` };
}
