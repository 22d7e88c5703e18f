import { z } from 'zod';
import { access } from '../access.ts';
import type { Api, ApiContext } from '../context.ts';
import type { LiveEvent } from '../live.ts';

const HEARTBEAT_MS = 15_000;

/**
 * GET /stream: Server-Sent Events `alarm.raised`, `alarm.updated`,
 * `device.status`. Each event has an id; a client that reconnects with
 * Last-Event-ID is sent what it missed (or `stream.reset` when the gap is
 * older than the buffer). A comment line every 15 s keeps proxies open.
 * Each caller receives only the events in its scope (a family member: its
 * resident's; an operator: its stations'), replays included.
 */
export function streamRoutes(app: Api, ctx: ApiContext): void {
  app.get('/stream', { schema: { querystring: z.object({ lastEventId: z.coerce.number().int().min(0).optional() }), summary: 'Live Server-Sent Events in the caller\'s scope (Last-Event-ID resumes)', tags: ['stream'] } }, (req, reply) => {
    const header = req.headers['last-event-id'];
    const lastId = header !== undefined ? Number(header) : req.query.lastEventId;
    const a = access(req);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const write = (e: LiveEvent) => a.placed(e) && res.write(`id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
    res.write('retry: 3000\n\n');
    if (lastId !== undefined && Number.isFinite(lastId)) {
      const missed = ctx.live.since(lastId);
      if (missed) missed.forEach(write);
      else res.write(`event: stream.reset\ndata: {"reason":"events after ${lastId} are no longer buffered; reload"}\n\n`);
    }
    const unsubscribe = ctx.live.subscribe(write);
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const close = () => {
      clearInterval(heartbeat);
      unsubscribe();
    };
    req.raw.once('close', close);
    res.once('close', close);
  });
}
