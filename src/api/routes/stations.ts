import { z } from 'zod';
import { access, Access, roles } from '../access.ts';
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

/** What these routes use. */
export type StationRoutesDeps = Pick<ApiContext, 'onboarding' | 'stations'>;

export function stationRoutes(app: Api, ctx: StationRoutesDeps): void {
  app.post('/stations', { onRequest: roles('admin'), schema: { body: createStation, summary: 'Create a station: district, street (under a district) or community (under a street)', tags: ['stations'] } }, async (req, reply) =>
    reply.status(201).send(stationView(await ctx.onboarding.createStation(req.body))),
  );

  app.get('/stations', { onRequest: roles('admin', 'operator', 'provider'), schema: { summary: 'The station tree within the caller\'s scope', tags: ['stations'] } }, async (req) =>
    ctx.stations
      .list()
      .filter((s) => access(req).station(s.id))
      .map(stationView),
  );

  app.patch(
    '/stations/:id',
    {
      onRequest: roles('admin'),
      schema: {
        params: idParam,
        body: z
          .object({ name: z.string().trim().min(1).max(200).optional(), webhookUrl })
          .strict()
          .refine((b) => b.name !== undefined || b.webhookUrl !== undefined, { message: 'give a name or a webhookUrl (null removes it)', path: ['name'] }),
        summary: 'Rename a station or set its webhook (null: none)',
        tags: ['stations'],
      },
    },
    async (req) => {
      Access.must(ctx.stations.get(req.params.id), (s) => access(req).station(s.id), 'station', req.params.id);
      return stationView(await ctx.onboarding.updateStation(req.params.id, req.body));
    },
  );

  app.put(
    '/stations/:id/response-plans',
    {
      onRequest: roles('admin'),
      schema: {
        params: idParam,
        body: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'an alarm type, e.g. fall'), z.string().trim().min(1).max(2000)),
        summary: 'What the station does for each alarm type ({"fall": "…"}); replaces its plans; stations below inherit what they do not say',
        tags: ['stations'],
      },
    },
    async (req) => {
      const station = Access.must(ctx.stations.get(req.params.id), (s) => access(req).station(s.id), 'station', req.params.id);
      await ctx.stations.setResponsePlans(station.id, req.body);
      return stationView(ctx.stations.get(station.id)!);
    },
  );

  app.get('/stations/:id', { onRequest: roles('admin', 'operator', 'provider'), schema: { params: idParam, summary: 'One station', tags: ['stations'] } }, async (req) =>
    stationView(Access.must(ctx.stations.get(req.params.id), (s) => access(req).station(s.id), 'station', req.params.id)),
  );
}
