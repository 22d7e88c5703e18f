import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: any;
}

/**
 * A real local HTTP server standing in for the SMS/voice/WeChat gateways that
 * receive carebell's webhooks. `answer` decides each response's status.
 */
export async function startWebhookReceiver(answer: (path: string, nth: number) => number = () => 200) {
  const received: ReceivedWebhook[] = [];
  const attempts = new Map<string, number>();
  /** The status actually answered to each request, by path. */
  const statuses = new Map<string, number[]>();
  const waiters: Array<{ match: (w: ReceivedWebhook) => boolean; resolve: (w: ReceivedWebhook) => void }> = [];
  const attemptWaiters: Array<{ path: string; resolve: (status: number) => void }> = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const nth = (attempts.get(path) ?? 0) + 1;
      attempts.set(path, nth);
      const status = answer(path, nth);
      statuses.set(path, [...(statuses.get(path) ?? []), status]);
      for (const w of attemptWaiters.filter((a) => a.path === path)) {
        attemptWaiters.splice(attemptWaiters.indexOf(w), 1);
        w.resolve(status);
      }
      if (status >= 200 && status < 300) {
        const w = { path, headers: req.headers, raw, body: JSON.parse(raw) };
        received.push(w);
        for (const waiter of [...waiters]) {
          if (waiter.match(w)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(w);
          }
        }
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url: (path: string) => `${base}${path}`,
    received,
    attempts,
    /** Webhooks accepted at `path`, in order. */
    at: (path: string) => received.filter((w) => w.path === path),
    next(match: (w: ReceivedWebhook) => boolean): Promise<ReceivedWebhook> {
      const seen = received.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    /** Resolves with the status answered to the first request at `path` (at once, if one came already). */
    attempted(path: string): Promise<number> {
      const first = statuses.get(path)?.[0];
      if (first !== undefined) return Promise.resolve(first);
      return new Promise((resolve) => attemptWaiters.push({ path, resolve }));
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
