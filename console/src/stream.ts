import { authHeaders, type JournalEvent } from './api.js';
import { SseParser } from './sse.js';

export type StreamStatus = 'connecting' | 'live' | 'reconnecting';

export interface StreamHandlers {
  readonly onEvent: (event: JournalEvent) => void;
  readonly onStatus: (status: StreamStatus, detail?: string) => void;
}

/**
 * The live event feed: `fetch()` streaming of /api/v1/events/stream, because EventSource cannot
 * send the Authorization header. On any break it reconnects with `Last-Event-ID` set to the last
 * seq it saw, so the gateway replays what was missed and nothing shows twice.
 */
export function openEventStream(handlers: StreamHandlers, afterSeq?: number): () => void {
  const controller = new AbortController();
  let lastId: string | null = afterSeq === undefined ? null : String(afterSeq);
  let retryMs = 2_000;
  let stopped = false;

  const run = async (): Promise<void> => {
    let attempt = 0;
    while (!stopped) {
      handlers.onStatus(attempt === 0 ? 'connecting' : 'reconnecting');
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders() };
        if (lastId !== null) headers['last-event-id'] = lastId;
        const response = await fetch('/api/v1/events/stream', { headers, signal: controller.signal, cache: 'no-store', credentials: 'omit' });
        if (!response.ok || response.body === null) {
          if (response.status === 401 || response.status === 403) {
            handlers.onStatus('reconnecting', `the live feed was refused (${response.status}); sign in again`);
            return;
          }
          throw new Error(`the live feed answered ${response.status}`);
        }
        handlers.onStatus('live');
        attempt = 0;
        const parser = new SseParser();
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const frame of parser.push(value)) {
            if (frame.retryMs !== null) retryMs = frame.retryMs;
            if (frame.id !== null) lastId = frame.id;
            if (frame.data === '') continue;
            try {
              handlers.onEvent(JSON.parse(frame.data) as JournalEvent);
            } catch {
              // A frame that is not JSON is not an event: skip it, keep the stream.
            }
          }
        }
        throw new Error('the live feed closed');
      } catch (error) {
        if (stopped || (error as Error).name === 'AbortError') return;
        attempt += 1;
        handlers.onStatus('reconnecting', (error as Error).message);
        // Back off a little more each failed attempt, up to 30 s.
        await new Promise((resolve) => setTimeout(resolve, Math.min(retryMs * attempt, 30_000)));
      }
    }
  };
  void run();
  return () => {
    stopped = true;
    controller.abort();
  };
}
