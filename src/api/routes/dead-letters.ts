import { z } from 'zod';
import { access, roles } from '../access.ts';
import type { Api, ApiContext } from '../context.ts';
import { limitQuery } from '../schemas.ts';
import { deadLetterView } from '../views.ts';

const query = z.object({
  deviceId: z.string().optional(),
  code: z.string().optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: limitQuery,
});

/** What these routes use. */
export type DeadLetterRoutesDeps = Pick<ApiContext, 'deadLetters' | 'devices'>;

export function deadLetterRoutes(app: Api, ctx: DeadLetterRoutesDeps): void {
  app.get('/dead-letters', { onRequest: roles('admin', 'operator', 'provider'), schema: { querystring: query, summary: 'Rejected device messages with their reasons', tags: ['dead-letters'] } }, async (req) => {
    const q = req.query;
    const a = access(req);
    // Beyond admin: only the caller's devices (a message from an unknown client belongs to no one).
    const deviceIds = a.role === 'admin' ? undefined : (await ctx.devices.list()).filter((d) => a.device(d)).map((d) => d.id);
    return (
      await ctx.deadLetters
      .list({
        limit: q.limit,
        ...(q.deviceId ? { deviceId: q.deviceId } : {}),
        ...(q.code ? { code: q.code } : {}),
        ...(q.since ? { since: Date.parse(q.since) } : {}),
        ...(q.before ? { before: q.before } : {}),
        ...(deviceIds ? { deviceIds } : {}),
      })
    ).map(deadLetterView);
  });
}
