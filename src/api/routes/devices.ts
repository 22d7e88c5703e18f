import { z } from 'zod';
import { notFound } from '../../core/errors.ts';
import type { Api, ApiContext } from '../context.ts';
import { idParam, limitQuery } from '../schemas.ts';
import { deadLetterView, deviceView } from '../views.ts';

const createDevice = z
  .object({
    profile: z.string().min(1),
    residentId: z.string().nullish(),
    stationId: z.string().nullish(),
    providerId: z.string().nullish(),
    id: z.string().optional(),
  })
  .strict();

export function deviceRoutes(app: Api, ctx: ApiContext): void {
  app.post('/devices', { schema: { body: createDevice, tags: ['devices'] } }, async (req, reply) =>
    reply.status(201).send(await ctx.onboarding.createDevice(req.body)),
  );

  app.get(
    '/devices',
    {
      schema: {
        querystring: z.object({ residentId: z.string().optional(), profile: z.string().optional(), online: z.enum(['true', 'false']).optional() }),
        tags: ['devices'],
      },
    },
    async (req) => {
      const q = req.query;
      return ctx.devices
        .list()
        .filter((d) => (q.residentId === undefined || d.residentId === q.residentId) && (q.profile === undefined || d.profileId === q.profile))
        .map((d) => deviceView(d, ctx.directory.get(d.id)))
        .filter((d) => q.online === undefined || String(d.online) === q.online);
    },
  );

  app.get('/devices/:id', { schema: { params: idParam, tags: ['devices'] } }, async (req) => {
    const record = ctx.devices.get(req.params.id);
    if (!record) throw notFound('device', req.params.id);
    const live = ctx.directory.get(record.id);
    return {
      ...deviceView(record, live),
      topics: live ? { publish: live.profile.uplinkTopics(record.id), subscribe: live.profile.downlinkTopic(record.id) ?? null } : null,
      deadLetters: ctx.deadLetters.count(record.id),
    };
  });

  app.get('/devices/:id/dead-letters', { schema: { params: idParam, querystring: z.object({ limit: limitQuery }), tags: ['devices'] } }, async (req) => {
    if (!ctx.devices.get(req.params.id)) throw notFound('device', req.params.id);
    return ctx.deadLetters.list({ deviceId: req.params.id, limit: req.query.limit }).map(deadLetterView);
  });
}
