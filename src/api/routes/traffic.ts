import { roles } from '../access.ts';
import type { Api, ApiContext } from '../context.ts';
import { openSse } from '../sse.ts';

/** What these routes use. */
export type TrafficRoutesDeps = Pick<ApiContext, 'clock' | 'metrics' | 'sessions' | 'traffic'>;

/**
 * GET /traffic (admin): Server-Sent Events, one `message` per device message
 * as it arrives (device, profile, topic, payload in base64, gateway time).
 * What `carebell record` writes to a file, to replay a field incident.
 */
export function trafficRoutes(app: Api, ctx: TrafficRoutesDeps): void {
  app.get('/traffic', { onRequest: roles('admin'), schema: { summary: 'Every device message as it arrives (SSE), for carebell record', tags: ['devices'] } }, (req, reply) => {
    let unsubscribe = () => {};
    let unwatch = () => {};
    const sse = openSse(req, reply, { close: () => (unsubscribe(), unwatch()), slowReader: () => ctx.metrics.sseDropped.inc({ stream: 'traffic' }) });
    const end = (reason: string) => sse.end(`event: session.ended\ndata: ${JSON.stringify({ reason })}\n\n`);
    unwatch = ctx.sessions.watch(req, end);
    sse.write(`event: ready\ndata: ${JSON.stringify({ at: ctx.clock.now() })}\n\n`);
    unsubscribe = ctx.traffic.subscribe((m) => {
      if (ctx.sessions.expired(req)) return end('login expired');
      sse.write(`event: message\ndata: ${JSON.stringify({ at: m.receivedAt, deviceId: m.deviceId, profile: m.profileId, topic: m.topic, payload: m.payload.toString('base64') })}\n\n`);
    });
  });
}
