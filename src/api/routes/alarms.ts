import { z } from 'zod';
import { notFound } from '../../core/errors.ts';
import { alarmStates, outcomeSchema, severities } from '../../alarms/model.ts';
import type { Api, ApiContext } from '../context.ts';
import { idParam } from '../schemas.ts';
import { alarmView, iso, timelineView } from '../views.ts';

const listQuery = z.object({
  state: z.enum(alarmStates).optional(),
  severity: z.enum(severities).optional(),
  residentId: z.string().optional(),
  stationId: z.string().optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

const note = z.string().trim().min(1).max(2000);

export function alarmRoutes(app: Api, ctx: ApiContext): void {
  app.get('/alarms', { schema: { querystring: listQuery, tags: ['alarms'] } }, async (req) => {
    const q = req.query;
    return ctx.alarms
      .list({
        limit: q.limit,
        offset: q.offset,
        ...(q.state ? { state: q.state } : {}),
        ...(q.severity ? { severity: q.severity } : {}),
        ...(q.residentId ? { residentId: q.residentId } : {}),
        ...(q.stationId ? { stationIds: ctx.stations.subtree(q.stationId) } : {}),
        ...(q.from ? { from: Date.parse(q.from) } : {}),
        ...(q.to ? { to: Date.parse(q.to) } : {}),
      })
      .map(alarmView);
  });

  app.get('/alarms/:id', { schema: { params: idParam, tags: ['alarms'] } }, async (req) => {
    const alarm = ctx.alarms.get(req.params.id);
    if (!alarm) throw notFound('alarm', req.params.id);
    const next = ctx.steps.pendingFor(alarm.id)[0];
    return {
      ...alarmView(alarm),
      timeline: ctx.alarms.timeline(alarm.id).map(timelineView),
      nextEscalation: next ? { step: next.step, kind: next.kind, dueAt: iso(next.dueAt) } : null,
    };
  });

  app.post('/alarms/:id/ack', { schema: { params: idParam, body: z.object({ note: note.optional() }).strict().default({}), tags: ['alarms'] } }, async (req) =>
    alarmView(ctx.alarmService.acknowledge(req.params.id, req.principal!.label, req.body.note)),
  );

  app.post(
    '/alarms/:id/resolve',
    { schema: { params: idParam, body: z.object({ outcome: outcomeSchema, note: note.optional() }).strict(), tags: ['alarms'] } },
    async (req) => alarmView(ctx.alarmService.resolve(req.params.id, req.principal!.label, req.body.outcome, req.body.note)),
  );

  app.post('/alarms/:id/notes', { schema: { params: idParam, body: z.object({ note }).strict(), tags: ['alarms'] } }, async (req) =>
    alarmView(ctx.alarmService.addNote(req.params.id, req.principal!.label, req.body.note)),
  );
}
