import { z } from 'zod';
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

export function deadLetterRoutes(app: Api, ctx: ApiContext): void {
  app.get('/dead-letters', { schema: { querystring: query, tags: ['dead-letters'] } }, async (req) => {
    const q = req.query;
    return ctx.deadLetters
      .list({
        limit: q.limit,
        ...(q.deviceId ? { deviceId: q.deviceId } : {}),
        ...(q.code ? { code: q.code } : {}),
        ...(q.since ? { since: Date.parse(q.since) } : {}),
        ...(q.before ? { before: q.before } : {}),
      })
      .map(deadLetterView);
  });
}
