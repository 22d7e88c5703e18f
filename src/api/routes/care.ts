import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { invalid } from '../../core/errors.ts';
import { serviceKinds, serviceStates, type ServiceRequest } from '../../core/service-request.ts';
import type { DueTest } from '../../care/device-tests.ts';
import { access, Access, roles } from '../access.ts';
import type { Api, ApiContext } from '../context.ts';
import { idParam } from '../schemas.ts';
import { iso, serviceRequestView } from '../views.ts';

/** What these routes use. */
export type CareRoutesDeps = Pick<ApiContext, 'serviceRequests' | 'deviceTests' | 'residents' | 'stations' | 'devices' | 'providers'>;

const dueTestView = (d: DueTest) => ({ ...d, lastTestAt: iso(d.lastTestAt), dueAt: iso(d.dueAt) });

const note = z.string().trim().min(1).max(2000);

/** Service requests (需求实时响应) and button tests (JGJ/T 484-2019 §10.3.1). */
export function careRoutes(app: Api, ctx: CareRoutesDeps): void {
  const actor = (req: FastifyRequest) => (req.principal!.via === 'login' ? `${req.principal!.role}:${req.principal!.label}` : req.principal!.label);
  const view = (r: ServiceRequest) => serviceRequestView(r, { resident: ctx.residents.get(r.residentId)?.name, provider: r.providerId ? ctx.providers.get(r.providerId)?.name : undefined });

  /** May this caller see the request? Staff by the resident's station, a provider when it is theirs, the family for their resident. */
  const sees = (req: FastifyRequest, r: ServiceRequest): boolean => {
    const a = access(req);
    switch (a.role) {
      case 'admin':
        return true;
      case 'operator':
        return a.station(r.stationId);
      case 'provider':
        return r.providerId === a.principal.providerId;
      case 'family':
        return r.residentId === a.principal.residentId;
      case 'visitor':
        return false;
    }
  };
  const visible = async (req: FastifyRequest<{ Params: { id: string } }>) => Access.must(await ctx.serviceRequests.get(req.params.id), (r) => sees(req, r), 'service request', req.params.id);

  app.post(
    '/service-requests',
    {
      onRequest: roles('admin', 'operator', 'family'),
      schema: {
        body: z
          .object({
            residentId: z.string().min(1).optional().describe('whom it is for; a family account asks for its own resident'),
            kind: z.enum(serviceKinds).describe('meals, housekeeping, home_nursing, repair, errand, other'),
            note: note.optional().describe('what is needed, when'),
          })
          .strict(),
        summary: 'Ask for a service for a resident (staff taking a call, or the family): a request, not an alarm',
        tags: ['care programmes'],
      },
    },
    async (req, reply) => {
      const a = access(req);
      const residentId = a.role === 'family' ? a.principal.residentId! : req.body.residentId;
      if (!residentId) throw invalid('residentId', 'whom the service is for');
      if (a.role === 'family' && req.body.residentId !== undefined && req.body.residentId !== residentId) throw invalid('residentId', 'a family account asks for its own resident');
      // Out of scope reads exactly like absent.
      const resident = ctx.residents.get(residentId);
      if (!resident || !a.resident(resident)) throw invalid('residentId', `resident ${residentId} does not exist`);
      const request = await ctx.serviceRequests.create({ residentId, kind: req.body.kind, note: req.body.note, source: a.role === 'family' ? 'family' : 'staff' }, actor(req));
      return reply.status(201).send(view(request));
    },
  );

  app.get(
    '/service-requests',
    {
      schema: {
        querystring: z.object({
          state: z
            .string()
            .optional()
            .transform((s, c) => {
              if (s === undefined) return undefined;
              const states = s === 'open' ? ['new', 'assigned', 'on_the_way', 'on_site'] : s.split(',');
              const bad = states.find((x) => !(serviceStates as readonly string[]).includes(x));
              if (bad) c.addIssue({ code: 'custom', message: `unknown state "${bad}": ${serviceStates.join(', ')} or open` });
              return states as Array<(typeof serviceStates)[number]>;
            })
            .describe('one state, several separated by commas, or open (every state before done and cancelled)'),
          residentId: z.string().optional(),
          stationId: z.string().optional().describe('this station and those below it'),
          from: z.iso.datetime({ offset: true }).optional(),
          to: z.iso.datetime({ offset: true }).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(200),
        }),
        summary: "Service requests in the caller's scope, the latest first: a provider sees its queue, a family its resident's",
        tags: ['care programmes'],
      },
    },
    async (req) => {
      const a = access(req);
      const q = req.query;
      let stationIds = q.stationId ? ctx.stations.subtree(Access.must(ctx.stations.get(q.stationId), (s) => a.station(s.id), 'station', q.stationId).id) : undefined;
      const own = a.stationIds();
      if (own) stationIds = (stationIds ?? own).filter((id) => own.includes(id));
      const residentId = a.role === 'family' ? a.principal.residentId! : q.residentId;
      if (a.role === 'family' && q.residentId && q.residentId !== residentId) return [];
      const list = await ctx.serviceRequests.list({
        stationIds,
        residentId,
        providerId: a.role === 'provider' ? a.principal.providerId! : undefined,
        states: q.state,
        from: q.from ? Date.parse(q.from) : undefined,
        to: q.to ? Date.parse(q.to) : undefined,
        limit: q.limit,
      });
      return list.map(view);
    },
  );

  app.get('/service-requests/:id', { schema: { params: idParam, summary: 'A service request with each step\'s time and who took it', tags: ['care programmes'] } }, async (req) => view(await visible(req)));

  app.post(
    '/service-requests/:id/assign',
    {
      onRequest: roles('admin', 'operator', 'provider'),
      schema: {
        params: idParam,
        body: z
          .object({
            providerId: z.string().min(1).optional().describe('the provider that will do it'),
            worker: z.string().trim().min(1).max(80).optional().describe('the named worker (and phone) who will go'),
            kind: z.enum(serviceKinds).optional().describe('what it is, once known (a button press comes as other)'),
            note: note.optional(),
          })
          .strict(),
        summary: 'Dispatch to a provider or a named worker (again: hand it over before anyone set off); a provider names its own worker',
        tags: ['care programmes'],
      },
    },
    async (req) => {
      const request = await visible(req);
      const a = access(req);
      const body = req.body;
      if (a.role === 'provider' && body.providerId !== undefined && body.providerId !== a.principal.providerId) throw invalid('providerId', 'a provider names a worker of its own; the station hands a request to another provider');
      const providerId = body.providerId ?? (a.role === 'provider' ? a.principal.providerId! : request.providerId ?? undefined);
      const assigned = await ctx.serviceRequests.assign(request.id, actor(req), { providerId, worker: body.worker ?? (providerId === request.providerId ? request.worker : undefined), kind: body.kind, note: body.note });
      return view(assigned);
    },
  );

  for (const step of ['start', 'arrive', 'done'] as const) {
    app.post(
      `/service-requests/:id/${step}`,
      {
        onRequest: roles('admin', 'operator', 'provider'),
        schema: { params: idParam, summary: { start: 'The worker is on the way', arrive: 'The worker is at the home', done: 'Done' }[step], tags: ['care programmes'] },
      },
      async (req) => view(await ctx.serviceRequests.advance((await visible(req)).id, step, actor(req))),
    );
  }

  app.post(
    '/service-requests/:id/cancel',
    {
      onRequest: roles('admin', 'operator', 'family'),
      schema: { params: idParam, body: z.object({ reason: note.describe('why: no longer needed, done by the family …') }).strict(), summary: 'Cancel a request not done yet, with the reason', tags: ['care programmes'] },
    },
    async (req) => view(await ctx.serviceRequests.advance((await visible(req)).id, 'cancel', actor(req), req.body.reason)),
  );

  app.get(
    '/device-tests/due',
    {
      onRequest: roles('admin', 'operator', 'provider'),
      schema: {
        querystring: z.object({
          stationId: z.string().optional().describe('this station and those below it'),
          withinDays: z.coerce.number().int().min(0).max(31).default(0).describe('also list the tests that fall due within so many days'),
        }),
        summary: "Buttons whose last test is older than the policy (weekly by default), with lastTestAt (null: never tested) and when it fell due; the caller's devices only",
        tags: ['care programmes'],
      },
    },
    async (req) => {
      const a = access(req);
      const stations = req.query.stationId ? new Set(ctx.stations.subtree(Access.must(ctx.stations.get(req.query.stationId), (s) => a.station(s.id), 'station', req.query.stationId).id)) : undefined;
      const due = await ctx.deviceTests.due((d) => a.device(d) && (stations === undefined || (d.stationId !== null && stations.has(d.stationId))), req.query.withinDays);
      return due.map(dueTestView);
    },
  );

  app.get(
    '/devices/:id/tests',
    { schema: { params: idParam, querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }), summary: "A device's button tests, the latest first", tags: ['care programmes'] } },
    async (req) => {
      const device = Access.must(await ctx.devices.get(req.params.id), (d) => access(req).device(d), 'device', req.params.id);
      return { deviceId: device.id, policyDays: ctx.deviceTests.policyDays, tests: (await ctx.deviceTests.forDevice(device.id, req.query.limit)).map((t) => iso(t)) };
    },
  );
}
