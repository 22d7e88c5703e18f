import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { invalid } from '../../core/errors.ts';
import { principalOf } from '../auth.ts';
import { access, Access, roles } from '../access.ts';
import { alarmStates, callOutcomes, outcomeSchema, severities } from '../../core/alarm.ts';
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

/** What these routes use. */
export type AlarmRoutesDeps = Pick<ApiContext, 'alarmService' | 'alarms' | 'devices' | 'directory' | 'residents' | 'stations' | 'steps' | 'users'>;

export function alarmRoutes(app: Api, ctx: AlarmRoutesDeps): void {
  const visibleAlarm = async (req: FastifyRequest<{ Params: { id: string } }>) => Access.must(await ctx.alarms.get(req.params.id), (a) => access(req).placed(a), 'alarm', req.params.id);
  /** Timeline actor: role and name, e.g. `family:li.ming`, so a reader sees who acted in which capacity. */
  const actor = (req: FastifyRequest) => (req.principal!.via === 'login' ? `${req.principal!.role}:${req.principal!.label}` : req.principal!.label);
  app.get('/alarms', { schema: { querystring: listQuery, summary: 'Alarms: filter by state, severity, station, resident, time; paged', tags: ['alarms'] } }, async (req) => {
    const q = req.query;
    const a = access(req);
    // The caller's scope narrows whatever filters were asked for.
    let stationIds = q.stationId ? ctx.stations.subtree(q.stationId) : undefined;
    const own = a.stationIds();
    if (own) stationIds = stationIds ? stationIds.filter((id) => own.includes(id)) : own;
    const residentId = a.role === 'family' ? a.principal.residentId! : q.residentId;
    if (a.role === 'family' && q.residentId && q.residentId !== residentId) return [];
    const within =
      a.role === 'provider'
        ? { residentIds: ctx.residents.list({}).filter((r) => a.resident(r)).map((r) => r.id), deviceIds: (await ctx.devices.list()).filter((d) => a.device(d)).map((d) => d.id) }
        : undefined;
    return (
      await ctx.alarms.list({
        limit: q.limit,
        offset: q.offset,
        ...(q.state ? { state: q.state } : {}),
        ...(q.severity ? { severity: q.severity } : {}),
        ...(residentId ? { residentId } : {}),
        ...(stationIds ? { stationIds } : {}),
        ...(within ? { within } : {}),
        ...(q.from ? { from: Date.parse(q.from) } : {}),
        ...(q.to ? { to: Date.parse(q.to) } : {}),
      })
    ).map(alarmView);
  });

  app.get('/alarms/:id', { schema: { params: idParam, summary: 'One alarm with its timeline and next escalation', tags: ['alarms'] } }, async (req) => {
    const alarm = await visibleAlarm(req);
    const next = (await ctx.steps.pendingFor(alarm.id))[0];
    const timeline = await ctx.alarms.timeline(alarm.id);
    // The people named on it, by username: their display names ("张护士") for the reader.
    const usernames = new Set([...timeline.map((e) => e.actor), alarm.acknowledgedBy, alarm.resolvedBy].filter((a): a is string => !!a && a.includes(':')).map((a) => a.slice(a.indexOf(':') + 1)));
    if (alarm.assignedTo) usernames.add(alarm.assignedTo);
    const people: Record<string, string> = {};
    for (const name of usernames) {
      const user = await ctx.users.byUsername(name);
      if (user?.displayName) people[name] = user.displayName;
    }
    return {
      ...alarmView(alarm),
      people,
      timeline: timeline.map(timelineView),
      nextEscalation: next ? { step: next.step, kind: next.kind, dueAt: iso(next.dueAt) } : null,
      responsePlan: alarm.stationId ? ctx.stations.responsePlan(alarm.stationId, alarm.type)?.plan ?? null : null,
    };
  });

  app.post(
    '/alarms/:id/ack',
    {
      onRequest: roles('admin', 'operator'),
      schema: { params: idParam, body: z.object({ note: note.optional() }).strict().default({}), summary: 'Acknowledge (staff): stops the escalation ladder and tells who was notified. A contact answers with /respond instead.', tags: ['alarms'] },
    },
    async (req) => {
      await visibleAlarm(req);
      return alarmView(await ctx.alarmService.acknowledge(req.params.id, actor(req), req.body.note));
    },
  );

  app.post(
    '/alarms/:id/resolve',
    { onRequest: roles('admin', 'operator'), schema: { params: idParam, body: z.object({ outcome: outcomeSchema, note: note.optional() }).strict(), summary: 'Resolve with an outcome', tags: ['alarms'] } },
    async (req) => {
      await visibleAlarm(req);
      return alarmView(await ctx.alarmService.resolve(req.params.id, actor(req), req.body.outcome, req.body.note));
    },
  );

  app.post(
    '/alarms/:id/assign',
    {
      onRequest: roles('admin', 'operator'),
      schema: {
        params: idParam,
        body: z.object({ username: z.string().min(1).max(64).nullable().optional() }).strict().default({}),
        summary: 'Take an alarm in hand (no body), hand it to a colleague ({username}), or let it go ({username: null})',
        tags: ['alarms'],
      },
    },
    async (req) => {
      const alarm = await visibleAlarm(req);
      const p = req.principal!;
      let to: string | null;
      if (req.body.username === null) to = null;
      else if (req.body.username === undefined) {
        if (p.via !== 'login') throw invalid('username', 'a token for automation names the user to assign');
        to = p.label;
      } else {
        const user = await ctx.users.byUsername(req.body.username);
        const canHandle = user && user.disabledAt === null && (user.role === 'admin' || user.role === 'operator') && new Access(principalOf(user), ctx).placed(alarm);
        if (!canHandle) throw invalid('username', `${req.body.username} is not an active admin or operator who can see this alarm`);
        to = user.username;
      }
      return alarmView(await ctx.alarmService.assign(alarm.id, actor(req), to));
    },
  );

  app.get(
    '/alarms/:id/handlers',
    { onRequest: roles('admin', 'operator'), schema: { params: idParam, summary: 'Who this alarm can be handed to: active admins and operators who can see it', tags: ['alarms'] } },
    async (req) => {
      const alarm = await visibleAlarm(req);
      return (await ctx.users.list())
        .filter((u) => u.disabledAt === null && (u.role === 'admin' || u.role === 'operator') && new Access(principalOf(u), ctx).placed(alarm))
        .map((u) => ({ username: u.username, displayName: u.displayName, role: u.role }));
    },
  );

  app.post(
    '/alarms/:id/respond',
    {
      onRequest: roles('admin', 'operator', 'family'),
      schema: {
        params: idParam,
        body: z
          .object({
            going: z.boolean(),
            etaMinutes: z.number().int().min(0).max(24 * 60).optional(),
            contact: z.string().trim().min(1).max(100).optional().describe('staff recording a contact\'s answer they took by phone: the contact\'s name'),
          })
          .strict(),
        summary: 'A contact\'s answer: going (with an ETA) or not able to. Never the station\'s acknowledgement: the ladder runs on until staff acknowledge.',
        tags: ['alarms'],
      },
    },
    async (req) => {
      const alarm = await visibleAlarm(req);
      const p = req.principal!;
      const body = req.body;
      if (body.going === false && body.etaMinutes !== undefined) throw invalid('etaMinutes', 'an ETA goes with going: true');
      let who: { name: string; relation: string | null };
      if (p.role === 'family') {
        if (body.contact !== undefined) throw invalid('contact', 'a family member answers for themselves');
        const user = p.userId ? await ctx.users.get(p.userId) : undefined;
        who = { name: user?.displayName ?? p.label, relation: user?.relation ?? null };
      } else {
        if (body.contact === undefined) throw invalid('contact', 'name the contact whose answer you are recording');
        const resident = alarm.residentId ? ctx.residents.get(alarm.residentId) : undefined;
        const contact = resident?.contacts.find((c) => c.name === body.contact);
        if (!contact) throw invalid('contact', `${body.contact} is not a contact of this alarm's resident`);
        who = { name: contact.name, relation: contact.relation };
      }
      return alarmView(await ctx.alarmService.respond(alarm.id, actor(req), { ...who, going: body.going, etaMinutes: body.etaMinutes ?? null }));
    },
  );

  app.post(
    '/alarms/:id/on-site',
    {
      onRequest: roles('admin', 'operator'),
      schema: {
        params: idParam,
        body: z.object({ who: z.string().trim().min(1).max(100).describe('who reached the home: a contact\'s name, "doctor", a staff member …') }).strict(),
        summary: 'A responder reached the home: the first one is the alarm\'s on-site time (a statistic)',
        tags: ['alarms'],
      },
    },
    async (req) => alarmView(await ctx.alarmService.onSite((await visibleAlarm(req)).id, actor(req), req.body.who)),
  );

  app.post(
    '/alarms/:id/calls',
    {
      onRequest: roles('admin', 'operator'),
      schema: {
        params: idParam,
        body: z.object({ contact: z.string().trim().min(1).max(100), outcome: z.enum(callOutcomes), note: note.optional() }).strict(),
        summary: 'Record a phone call to one of the resident\'s contacts and how it went',
        tags: ['alarms'],
      },
    },
    async (req) => {
      const alarm = await visibleAlarm(req);
      const resident = alarm.residentId ? ctx.residents.get(alarm.residentId) : undefined;
      const contact = resident?.contacts.find((c) => c.name === req.body.contact);
      if (!contact) throw invalid('contact', `${req.body.contact} is not a contact of this alarm's resident`);
      return alarmView(await ctx.alarmService.logCall(alarm.id, actor(req), { contact: contact.name, phone: contact.phone, outcome: req.body.outcome, note: req.body.note }));
    },
  );

  app.post('/alarms/:id/notes', { onRequest: roles('admin', 'operator'), schema: { params: idParam, body: z.object({ note }).strict(), summary: 'Add a note to the timeline', tags: ['alarms'] } }, async (req) => {
    await visibleAlarm(req);
    return alarmView(await ctx.alarmService.addNote(req.params.id, actor(req), req.body.note));
  });
}
