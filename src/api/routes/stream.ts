import { z } from 'zod';
import { access } from '../access.ts';
import type { Api, ApiContext } from '../context.ts';
import type { LiveEvent } from '../live.ts';
import { openSse } from '../sse.ts';

/** What these routes use. */
export type StreamRoutesDeps = Pick<ApiContext, 'live' | 'metrics' | 'sessions'>;

/**
 * GET /stream: Server-Sent Events `alarm.raised`, `alarm.updated`,
 * `device.status`. Each event has an id; a client that reconnects with
 * Last-Event-ID is sent what it missed (or `stream.reset` when the gap is
 * older than the buffer). A comment line every 15 s keeps proxies open.
 * Each caller receives only the events in its scope (a family member: its
 * resident's; an operator: its stations'), replays included. The stream ends
 * (`session.ended`) when its login does: logout, account disabled, password
 * changed, token expired; and a client that stops reading is dropped.
 */
export function streamRoutes(app: Api, ctx: StreamRoutesDeps): void {
  app.get('/stream', { schema: { querystring: z.object({ lastEventId: z.coerce.number().int().min(0).optional() }), summary: 'Live Server-Sent Events in the caller\'s scope (Last-Event-ID resumes)', tags: ['stream'] } }, (req, reply) => {
    const header = req.headers['last-event-id'];
    const lastId = header !== undefined ? Number(header) : req.query.lastEventId;
    const a = access(req);
    let unsubscribe = () => {};
    let unwatch = () => {};
    const sse = openSse(req, reply, {
      close: () => (unsubscribe(), unwatch()),
      heartbeat: () => ended(),
      slowReader: () => ctx.metrics.sseDropped.inc({ stream: 'live' }),
    });
    // A login that stops being valid ends the stream with a last event that says why; no event is sent after.
    const end = (reason: string) => sse.end(`event: session.ended\ndata: ${JSON.stringify({ reason })}\n\n`);
    const ended = () => ctx.sessions.expired(req) && (end('login expired'), true);
    unwatch = ctx.sessions.watch(req, end);
    const inScope = (e: LiveEvent) => (e.staff ? a.role !== 'family' : a.placed(e));
    // An alarm's event goes out at once; device and request events with the rest of the turn.
    const write = (e: LiveEvent) => inScope(e) && !ended() && sse.write(`id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`, e.event === 'alarm.raised' || e.event === 'alarm.updated');
    sse.write('retry: 3000\n\n');
    if (lastId !== undefined && Number.isFinite(lastId)) {
      const missed = ctx.live.since(lastId);
      if (missed) missed.forEach(write);
      else sse.write(`event: stream.reset\ndata: {"reason":"events after ${lastId} are no longer buffered; reload"}\n\n`);
    }
    // An operator logged in (not an API token) is a duty console of their station: console alerts count it.
    unsubscribe = ctx.live.subscribe(write, { consoleOf: a.role === 'operator' && a.principal.via === 'login' ? a.principal.stationId : null });
  });
}
