import { createServer, type Server } from 'node:http';

/** A webhook as a station's receiver got it: what it said, its delivery id, and when (simulated time). */
export interface Received {
  path: string;
  event: string;
  alarmId: string;
  step: number | null;
  delivery: string;
  at: number;
}

/** A stretch of simulated time in which a receiver answers 503 (its server down). */
export interface Outage {
  path: string;
  from: number;
  to: number;
}

/**
 * The stations' webhook receivers (one HTTP server, a path per station), as a
 * district's systems would run them: they keep what arrives and answer 204,
 * or 503 while an outage is on. What they got is the verdict's evidence for
 * "every delivery made, once".
 */
export async function startReceivers(simNow: () => number, outages: Outage[] = [], onReceived?: (w: Received) => void) {
  const received: Received[] = [];
  let refused = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const now = simNow();
      if (outages.some((o) => o.path === path && now >= o.from && now < o.to)) {
        refused++;
        return void res.writeHead(503).end();
      }
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event?: string; alarm?: { id?: string }; step?: { level?: number } };
        const w: Received = { path, event: String(body.event), alarmId: String(body.alarm?.id), step: body.step?.level ?? null, delivery: String(req.headers['x-carebell-delivery'] ?? ''), at: now };
        received.push(w);
        res.writeHead(204).end();
        onReceived?.(w);
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url: (path: string) => `${base}${path}`,
    received,
    refused: () => refused,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
export type Receivers = Awaited<ReturnType<typeof startReceivers>>;
