import { z } from 'zod';
import { conflict, invalid } from '../../core/errors.ts';
import { access, Access, roles } from '../access.ts';
import type { Api, ApiContext } from '../context.ts';
import { idParam, limitQuery, telemetryQuery, telemetryRange } from '../schemas.ts';
import { deadLetterView, deviceView, iso } from '../views.ts';

const createDevice = z
  .object({
    profile: z.string().min(1),
    residentId: z.string().nullish(),
    stationId: z.string().nullish(),
    providerId: z.string().nullish(),
    id: z.string().optional(),
  })
  .strict();

/** What these routes use. */
export type DeviceRoutesDeps = Pick<ApiContext, 'brokerPorts' | 'clock' | 'cluster' | 'deadLetters' | 'devices' | 'directory' | 'onboarding' | 'provisioning' | 'sink'>;

export function deviceRoutes(app: Api, ctx: DeviceRoutesDeps): void {
  app.post('/devices', { onRequest: roles('admin', 'operator', 'provider'), schema: { body: createDevice, summary: 'Register a device: its MQTT credentials are in this answer only', tags: ['devices'] } }, async (req, reply) => {
    const a = access(req);
    const body = { ...req.body, providerId: a.providerFor(req.body.providerId, 'devices') };
    // Out of scope reads exactly like absent.
    if (body.residentId && a.role !== 'admin' && !a.residentId(body.residentId)) throw invalid('residentId', `resident ${body.residentId} does not exist`);
    if (body.stationId && !a.station(body.stationId)) throw invalid('stationId', `station ${body.stationId} does not exist`);
    // An id taken by a device the caller may not see: refused without saying whose, or that it is registered.
    const taken = body.id ? await ctx.devices.get(body.id) : undefined;
    if (taken && !a.device(taken)) throw conflict(`device id ${body.id} cannot be used; choose another, or leave id out and one is made`);
    return reply.status(201).send({ ...(await ctx.onboarding.createDevice(body)), broker: ctx.brokerPorts() });
  });

  app.get(
    '/devices',
    {
      schema: {
        querystring: z.object({ residentId: z.string().optional(), profile: z.string().optional(), online: z.enum(['true', 'false']).optional() }),
        summary: 'Devices with live status, within the caller\'s scope', tags: ['devices'],
      },
    },
    async (req) => {
      const q = req.query;
      return (await ctx.devices.list())
        .filter((d) => (q.residentId === undefined || d.residentId === q.residentId) && (q.profile === undefined || d.profileId === q.profile) && access(req).device(d))
        .map((d) => deviceView(d, ctx.directory.get(d.id), ctx.cluster !== undefined))
        .filter((d) => q.online === undefined || String(d.online) === q.online);
    },
  );

  app.get('/devices/:id', { schema: { params: idParam, summary: 'One device: status, topics, dead-letter count', tags: ['devices'] } }, async (req) => {
    const record = Access.must(await ctx.devices.get(req.params.id), (d) => access(req).device(d), 'device', req.params.id);
    const live = ctx.directory.get(record.id);
    return {
      ...deviceView(record, live, ctx.cluster !== undefined),
      topics: live ? { publish: live.profile.uplinkTopics(record.id), subscribe: live.profile.downlinkTopic(record.id) ?? null } : null,
      deadLetters: ctx.deadLetters.count(record.id),
    };
  });

  app.get(
    '/devices/:id/telemetry',
    { schema: { params: idParam, querystring: telemetryQuery, summary: 'A device\'s readings over a time range, downsampled for charts (mean, min, max per bucket)', tags: ['devices'] } },
    async (req) => {
      Access.must(await ctx.devices.get(req.params.id), (d) => access(req).device(d), 'device', req.params.id);
      const range = telemetryRange(req.query, ctx.clock.now());
      const series = await ctx.sink.series({ deviceId: req.params.id, from: range.from, to: range.to, bucketMs: range.bucketMs, ...(range.kinds ? { kinds: range.kinds } : {}) });
      return { deviceId: req.params.id, from: iso(range.from), to: iso(range.to), bucketSeconds: range.bucketMs / 1000, series };
    },
  );

  app.get(
    '/devices/:id/provisioning',
    { onRequest: roles('admin', 'operator', 'provider'), schema: { params: idParam, summary: 'Provisioning check: connected and sent a valid message since onboarding', tags: ['devices'] } },
    async (req) => await ctx.provisioning.check(Access.must(await ctx.devices.get(req.params.id), (d) => access(req).device(d), 'device', req.params.id)),
  );

  app.post(
    '/devices/:id/rotate-secret',
    { onRequest: roles('admin', 'operator', 'provider'), schema: { params: idParam, summary: 'Issue a new MQTT secret (in this answer only); the old one stops working and a live connection closes', tags: ['devices'] } },
    async (req) => {
      Access.must(await ctx.devices.get(req.params.id), (d) => access(req).device(d), 'device', req.params.id);
      return { ...(await ctx.onboarding.rotateSecret(req.params.id)), broker: ctx.brokerPorts() };
    },
  );

  app.post(
    '/devices/:id/decommission',
    { onRequest: roles('admin', 'operator', 'provider'), schema: { params: idParam, summary: 'Take a device out of service: it can no longer connect; its history stays', tags: ['devices'] } },
    async (req) => {
      Access.must(await ctx.devices.get(req.params.id), (d) => access(req).device(d), 'device', req.params.id);
      await ctx.onboarding.decommission(req.params.id);
      return deviceView((await ctx.devices.get(req.params.id))!, ctx.directory.get(req.params.id));
    },
  );

  app.get('/devices/:id/dead-letters', { onRequest: roles('admin', 'operator', 'provider'), schema: { params: idParam, querystring: z.object({ limit: limitQuery }), summary: 'A device\'s rejected messages', tags: ['devices'] } }, async (req) => {
    Access.must(await ctx.devices.get(req.params.id), (d) => access(req).device(d), 'device', req.params.id);
    return (await ctx.deadLetters.list({ deviceId: req.params.id, limit: req.query.limit })).map(deadLetterView);
  });
}
