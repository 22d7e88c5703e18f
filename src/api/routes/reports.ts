import { z } from 'zod';
import { notFound } from '../../core/errors.ts';
import { access, Access, roles } from '../access.ts';
import type { Api, ApiContext } from '../context.ts';
import type { StoredReport } from '../../jobs/reports-repository.ts';
import { idParam } from '../schemas.ts';
import { iso } from '../views.ts';

const kind = z.enum(['device_health', 'station_monthly']);

/** station_monthly reports are about a station, device_health reports about a provider (subject "unassigned": devices without one). */
function reportVisible(a: Access, r: Pick<StoredReport, 'kind' | 'subject'>): boolean {
  if (a.role === 'admin') return true;
  if (r.kind === 'station_monthly') return a.role === 'operator' && a.station(r.subject);
  return a.role === 'provider' && r.subject === a.principal.providerId;
}

/** What these routes use. */
export type ReportRoutesDeps = Pick<ApiContext, 'clock' | 'jobs' | 'providers' | 'reports' | 'stations'>;

const monthQuery = z
  .string()
  .regex(/^20[0-9]{2}-(0[1-9]|1[0-2])$/, 'a month as YYYY-MM')
  .optional()
  .describe('the month; default the one in progress (reported up to now)');

export function reportRoutes(app: Api, ctx: ReportRoutesDeps): void {
  app.get('/reports', { onRequest: roles('admin', 'operator', 'provider'), schema: { querystring: z.object({ kind: kind.optional(), subject: z.string().optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }), summary: 'Stored reports: daily device health, monthly station statistics', tags: ['reports'] } }, async (req) =>
    (await ctx.reports.list({ limit: req.query.limit, ...(req.query.kind ? { kind: req.query.kind } : {}), ...(req.query.subject ? { subject: req.query.subject } : {}) }))
      .filter((r) => reportVisible(access(req), r))
      .map((r) => ({ id: r.id, kind: r.kind, subject: r.subject, periodStart: iso(r.periodStart), periodEnd: iso(r.periodEnd), createdAt: iso(r.createdAt) })),
  );

  app.get('/reports/:id', { onRequest: roles('admin', 'operator', 'provider'), schema: { params: idParam, summary: 'One report with its body', tags: ['reports'] } }, async (req) => {
    const r = Access.must(await ctx.reports.get(req.params.id), (r) => reportVisible(access(req), r), 'report', req.params.id);
    return { id: r.id, kind: r.kind, subject: r.subject, periodStart: iso(r.periodStart), periodEnd: iso(r.periodEnd), createdAt: iso(r.createdAt), body: r.body };
  });

  /** Runs a scheduled report now (e.g. after a provider's install day) and returns what it stored. */
  app.post(
    '/reports/run',
    {
      onRequest: roles('admin'),
      schema: {
        body: z
          .object({
            kind: kind.describe('device_health: every provider\'s devices that need a visit, now; station_monthly: every station\'s alarm statistics for a month'),
            month: z
              .string()
              .regex(/^20[0-9]{2}-(0[1-9]|1[0-2])$/, 'a month as YYYY-MM')
              .optional()
              .describe('station_monthly only: the month (the current one is reported up to now); default the month before this one, as the job on the 1st does'),
          })
          .strict()
          .refine((b) => b.month === undefined || b.kind === 'station_monthly', { message: 'only a station_monthly report has a month', path: ['month'] }),
        summary: 'Run a scheduled report now',
        tags: ['reports'],
      },
    },
    async (req, reply) => {
    const stored = req.body.kind === 'device_health' ? await ctx.jobs.runDeviceHealth() : await ctx.jobs.runMonthlyStatistics(req.body.month);
    return reply.status(201).send(stored.map((r) => ({ id: r.id, kind: r.kind, subject: r.subject })));
    },
  );

  /** The console's report pages: computed when asked, for any month including the one in progress. */
  app.get(
    '/reports/station-month',
    {
      onRequest: roles('admin', 'operator'),
      schema: {
        querystring: z.object({ station: z.string().optional().describe("default: the operator's station, or an administrator's first top-level station"), month: monthQuery }),
        summary: "A station's month: answer times against the 60 s / 180 s targets, alarms by type and outcome, on-site times, devices, the visit rate, and each station directly below it",
        tags: ['reports'],
      },
    },
    async (req) => {
      const a = access(req);
      const stationId = req.query.station ?? (a.role === 'operator' ? a.principal.stationId! : ctx.stations.list().find((s) => s.parentId === null)?.id);
      if (stationId === undefined) throw notFound('station', '(none yet)');
      Access.must(ctx.stations.get(stationId), (s) => a.station(s.id), 'station', stationId);
      return ctx.jobs.stationMonth(stationId, req.query.month);
    },
  );

  app.get(
    '/reports/device-health',
    {
      onRequest: roles('admin', 'operator', 'provider'),
      schema: {
        querystring: z.object({ station: z.string().optional().describe('only devices of this station and those below it') }),
        summary: 'Device health now, per provider, with the homes to visit (names and addresses): what the caller may see',
        tags: ['reports'],
      },
    },
    async (req) => {
      const a = access(req);
      const within = req.query.station === undefined ? null : new Set(ctx.stations.subtree(Access.must(ctx.stations.get(req.query.station), (s) => a.station(s.id), 'station', req.query.station).id));
      return (await ctx.jobs.deviceHealthNow((d) => a.device(d) && (within === null || (d.stationId !== null && within.has(d.stationId))))).map((r) => ({ ...r, providerName: r.providerId === null ? null : (ctx.providers.get(r.providerId)?.name ?? null) }));
    },
  );

  /** On-demand statistics for a station (and every station below it) over a period; default: the last 30 days. */
  app.get(
    '/stations/:id/statistics',
    {
      onRequest: roles('admin', 'operator'),
      schema: { params: idParam, querystring: z.object({ from: z.iso.datetime({ offset: true }).optional(), to: z.iso.datetime({ offset: true }).optional() }), summary: 'Alarm statistics of a station and the stations below it, for a period', tags: ['reports'] },
    },
    async (req) => {
      Access.must(ctx.stations.get(req.params.id), (s) => access(req).station(s.id), 'station', req.params.id);
      const to = req.query.to ? Date.parse(req.query.to) : ctx.clock.now();
      const from = req.query.from ? Date.parse(req.query.from) : to - 30 * 86_400_000;
      return ctx.jobs.statistics(req.params.id, from, to);
    },
  );
}
