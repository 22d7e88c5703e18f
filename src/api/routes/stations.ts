import { z } from 'zod';
import { notFound } from '../../core/errors.ts';
import type { Api, ApiContext } from '../context.ts';
import { idParam, webhookUrl } from '../schemas.ts';
import { stationView } from '../views.ts';

const createStation = z
  .object({
    name: z.string().trim().min(1).max(200),
    level: z.enum(['district', 'street', 'community']),
    parentId: z.string().nullish(),
    webhookUrl,
  })
  .strict();

export function stationRoutes(app: Api, ctx: ApiContext): void {
  app.post('/stations', { schema: { body: createStation, tags: ['stations'] } }, async (req, reply) =>
    reply.status(201).send(stationView(ctx.onboarding.createStation(req.body))),
  );

  app.get('/stations', { schema: { tags: ['stations'] } }, async () => ctx.stations.list().map(stationView));

  app.get('/stations/:id', { schema: { params: idParam, tags: ['stations'] } }, async (req) => {
    const station = ctx.stations.get(req.params.id);
    if (!station) throw notFound('station', req.params.id);
    return stationView(station);
  });
}
