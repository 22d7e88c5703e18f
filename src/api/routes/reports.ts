import { z } from 'zod';
import { notFound } from '../../core/errors.ts';
import { stationStatistics } from '../../jobs/statistics.ts';
import type { Api, ApiContext } from '../context.ts';
import { idParam } from '../schemas.ts';
import { iso } from '../views.ts';

const kind = z.enum(['device_health', 'station_monthly']);

export function reportRoutes(app: Api, ctx: ApiContext): void {
  app.get('/reports', { schema: { querystring: z.object({ kind: kind.optional(), subject: z.string().optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }), tags: ['reports'] } }, async (req) =>
    ctx.reports
      .list({ limit: req.query.limit, ...(req.query.kind ? { kind: req.query.kind } : {}), ...(req.query.subject ? { subject: req.query.subject } : {}) })
      .map((r) => ({ id: r.id, kind: r.kind, subject: r.subject, periodStart: iso(r.periodStart), periodEnd: iso(r.periodEnd), createdAt: iso(r.createdAt) })),
  );

  app.get('/reports/:id', { schema: { params: idParam, tags: ['reports'] } }, async (req) => {
    const r = ctx.reports.get(req.params.id);
    if (!r) throw notFound('report', req.params.id);
    return { id: r.id, kind: r.kind, subject: r.subject, periodStart: iso(r.periodStart), periodEnd: iso(r.periodEnd), createdAt: iso(r.createdAt), body: r.body };
  });

  /** Runs a scheduled report now (e.g. after a provider's install day) and returns what it stored. */
  app.post('/reports/run', { schema: { body: z.object({ kind }).strict(), tags: ['reports'] } }, async (req, reply) => {
    const stored = req.body.kind === 'device_health' ? ctx.jobs.runDeviceHealth() : ctx.jobs.runMonthlyStatistics();
    return reply.status(201).send(stored.map((r) => ({ id: r.id, kind: r.kind, subject: r.subject })));
  });

  /** On-demand statistics for a station (and every station below it) over a period; default: the last 30 days. */
  app.get(
    '/stations/:id/statistics',
    { schema: { params: idParam, querystring: z.object({ from: z.iso.datetime({ offset: true }).optional(), to: z.iso.datetime({ offset: true }).optional() }), tags: ['reports'] } },
    async (req) => {
      if (!ctx.stations.get(req.params.id)) throw notFound('station', req.params.id);
      const to = req.query.to ? Date.parse(req.query.to) : ctx.clock.now();
      const from = req.query.from ? Date.parse(req.query.from) : to - 30 * 86_400_000;
      return stationStatistics(ctx.db, ctx.stations.subtree(req.params.id), from, to);
    },
  );
}
