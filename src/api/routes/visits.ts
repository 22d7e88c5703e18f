import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { careCategories, defaultVisitPlans, stationVisitPlansSchema, visitKinds } from '../../core/care-profile.ts';
import { visitOutcomes, type DueVisit, type Visit } from '../../care/visits.ts';
import { access, Access, roles } from '../access.ts';
import type { Api, ApiContext } from '../context.ts';
import { idParam } from '../schemas.ts';
import { iso } from '../views.ts';

/** What these routes use. */
export type VisitRoutesDeps = Pick<ApiContext, 'clock' | 'residents' | 'stations' | 'visits'>;

const visitView = (v: Visit) => ({ id: v.id, residentId: v.residentId, stationId: v.stationId, kind: v.kind, at: iso(v.at), by: v.by, outcome: v.outcome, observations: v.observations, note: v.note, createdAt: iso(v.createdAt) });
const dueView = (d: DueVisit) => ({ ...d, dueAt: iso(d.dueAt), lastVisitAt: iso(d.lastVisitAt) });

/** Visits to those at risk (探访关爱): records, what is due, and each station's plans. */
export function visitRoutes(app: Api, ctx: VisitRoutesDeps): void {
  /** The stations a query covers: the one asked for and those below it, within the caller's scope. */
  const scopeOf = (req: FastifyRequest, stationId: string | undefined): string[] => {
    const a = access(req);
    const scope = a.stationIds() ?? ctx.stations.list().map((s) => s.id);
    return stationId ? ctx.stations.subtree(Access.must(ctx.stations.get(stationId), (s) => a.station(s.id), 'station', stationId).id).filter((id) => scope.includes(id)) : scope;
  };
  app.post(
    '/residents/:id/visits',
    {
      onRequest: roles('admin', 'operator', 'visitor'),
      schema: {
        params: idParam,
        body: z
          .object({
            kind: z.enum(visitKinds).describe('phone: a phone greeting (电话问候); home: a visit at home (上门巡访)'),
            at: z.iso.datetime({ offset: true }).optional().describe('when it was made; default now'),
            outcome: z.enum(visitOutcomes).describe('well; needs_follow_up; not_reached (does not count as a visit)'),
            observations: z.string().trim().max(2000).optional(),
            note: z.string().trim().max(2000).optional(),
          })
          .strict(),
        summary: 'Record a visit or phone greeting and how it went',
        tags: ['care programmes'],
      },
    },
    async (req, reply) => {
      Access.must(ctx.residents.get(req.params.id), (r) => access(req).resident(r), 'resident', req.params.id);
      const p = req.principal!;
      const { at, ...rest } = req.body;
      const visit = await ctx.visits.record(req.params.id, { ...rest, ...(at ? { at: Date.parse(at) } : {}) }, `${p.role}:${p.label}`);
      return reply.status(201).send(visitView(visit));
    },
  );

  app.get(
    '/residents/:id/visits',
    { onRequest: roles('admin', 'operator', 'provider', 'visitor'), schema: { params: idParam, querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }), summary: "A resident's visits, the latest first, and their plan", tags: ['care programmes'] } },
    async (req) => {
      const resident = Access.must(ctx.residents.get(req.params.id), (r) => access(req).resident(r), 'resident', req.params.id);
      return { residentId: resident.id, plan: ctx.visits.planOf(resident), visits: (await ctx.visits.forResident(resident.id, req.query.limit)).map(visitView) };
    },
  );

  app.get(
    '/visits/due',
    {
      onRequest: roles('admin', 'operator', 'visitor'),
      schema: {
        querystring: z.object({
          stationId: z.string().optional().describe('this station and those below it; default every station the caller sees'),
          withinDays: z.coerce.number().int().min(0).max(31).default(1).describe('also list what falls due within so many days'),
        }),
        summary: 'Residents with a visit due or overdue, with the date it fell due; the most overdue first',
        tags: ['care programmes'],
      },
    },
    async (req) => (await ctx.visits.due(scopeOf(req, req.query.stationId), req.query.withinDays)).map(dueView),
  );

  app.get(
    '/visits',
    {
      onRequest: roles('admin', 'operator', 'visitor'),
      schema: {
        querystring: z.object({
          stationId: z.string().optional().describe('this station and those below it; default every station the caller sees'),
          from: z.iso.datetime({ offset: true }).optional().describe('default: 30 days ago'),
          to: z.iso.datetime({ offset: true }).optional().describe('default: now'),
          by: z.string().optional().describe('one visitor: role:username (a visitor sees their own)'),
        }),
        summary: 'Visits recorded in a period, oldest first, with the resident\'s name: a visitor\'s round, a station\'s month',
        tags: ['care programmes'],
      },
    },
    async (req) => {
      const p = req.principal!;
      const now = ctx.clock.now();
      const by = p.role === 'visitor' ? `${p.role}:${p.label}` : req.query.by;
      const visits = await ctx.visits.recorded(scopeOf(req, req.query.stationId), req.query.from ? Date.parse(req.query.from) : now - 30 * 86_400_000, req.query.to ? Date.parse(req.query.to) : now + 1, by);
      return visits.map((v) => ({ ...visitView(v), residentName: ctx.residents.get(v.residentId)?.name ?? null }));
    },
  );

  app.get(
    '/stations/:id/visit-plans',
    { onRequest: roles('admin', 'operator'), schema: { params: idParam, summary: "A station's visit plans by category: its own, and what applies (inherited from above, else the defaults)", tags: ['care programmes'] } },
    async (req) => {
      const station = Access.must(ctx.stations.get(req.params.id), (s) => access(req).station(s.id), 'station', req.params.id);
      const effective = ctx.stations.visitPlans(station.id);
      return { stationId: station.id, own: ctx.stations.ownVisitPlans(station.id), effective: Object.fromEntries(careCategories.map((c) => [c, effective[c] ?? defaultVisitPlans[c]])) };
    },
  );

  app.put(
    '/stations/:id/visit-plans',
    {
      onRequest: roles('admin', 'operator'),
      schema: { params: idParam, body: stationVisitPlansSchema, summary: "Set a station's own visit plans by category ({lives_alone: [{kind: 'phone', everyDays: 7}, …]}); stations below inherit them", tags: ['care programmes'] },
    },
    async (req) => {
      const station = Access.must(ctx.stations.get(req.params.id), (s) => access(req).station(s.id), 'station', req.params.id);
      await ctx.stations.setVisitPlans(station.id, req.body);
      return { stationId: station.id, own: ctx.stations.ownVisitPlans(station.id) };
    },
  );
}
