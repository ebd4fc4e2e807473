import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly body: unknown;
}

/** A real local HTTP server standing in for a Frigate NVR; answers 200 unless told to fail. */
export async function startNvr(): Promise<{ url: string; requests: ReceivedRequest[]; next: () => Promise<ReceivedRequest>; failNext: (count: number) => void; close: () => Promise<void> }> {
  const requests: ReceivedRequest[] = [];
  let waiters: ((request: ReceivedRequest) => void)[] = [];
  let failures = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const received = { method: req.method ?? '', url: req.url ?? '', body: body === '' ? null : (JSON.parse(body) as unknown) };
      requests.push(received);
      if (failures > 0) {
        failures -= 1;
        res.writeHead(503).end('busy');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ success: true, event_id: '1.0-abc' }));
      const pending = waiters;
      waiters = [];
      for (const waiter of pending) waiter(received);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    next: () => new Promise((resolve) => waiters.push(resolve)),
    failNext: (count) => (failures = count),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

