import { z } from 'zod';
import { invalid } from '../../core/errors.ts';
import { access, Access, roles } from '../access.ts';
import type { Api, ApiContext } from '../context.ts';
import { idParam, phone, telemetryQuery, telemetryRange, webhookUrl } from '../schemas.ts';
import { iso, residentView } from '../views.ts';
import { IMPORT_COLUMNS, importResidents } from '../../onboarding/import.ts';
import { CsvEncodingError, decodeCsv } from '../../onboarding/csv.ts';
import { timeZoneSchema } from '../../core/time-zone.ts';
import { residentSettingsSchema } from '../../core/resident-settings.ts';
import { careCategories, isoDate, visitPlanSchema } from '../../core/care-profile.ts';
import { careRecordSchema } from '../../store/care-record.ts';
import { deactivationReasons } from '../../store/residents.ts';

const contact = z
  .object({
    name: z.string().trim().min(1).max(100),
    relation: z.string().trim().min(1).max(50),
    phone,
    priority: z.number().int().min(1).max(99),
    webhookUrl,
  })
  .strict();

const createResident = z
  .object({
    name: z.string().trim().min(1).max(100),
    address: z.string().trim().min(1).max(500),
    phone: phone.nullish().describe("the resident's own phone, for phone greetings (电话问候)"),
    stationId: z.string().min(1),
    providerId: z.string().nullish(),
    livesAlone: z.boolean(),
    capabilityLevel: z.number().int().min(0).max(4),
    timezone: timeZoneSchema.optional(),
    notes: z.string().max(2000).nullish(),
    contacts: z.array(contact).max(10).default([]),
    settings: residentSettingsSchema.optional(),
    careRecord: careRecordSchema.optional(),
    birthDate: isoDate.nullish().describe('YYYY-MM-DD; the 80+ (老老人) are derived from it'),
    categories: z.array(z.enum(careCategories)).max(careCategories.length).optional().describe('who the visit programme is for: lives_alone (the same as livesAlone), empty_nest, left_behind, disabled, severely_disabled, special_family, low_income'),
    capabilityAssessedAt: isoDate.nullish().describe('when the capability level was last assessed (能力综合评估); the next is due a year later for the 80+, two otherwise'),
    visitPlan: visitPlanSchema.nullish().describe("the resident's own visit plan, [{kind: phone|home, everyDays}]; null: from their categories and station"),
  })
  .strict();

/** What these routes use. */
export type ResidentRoutesDeps = Pick<ApiContext, 'clock' | 'devices' | 'importDeps' | 'onboarding' | 'providers' | 'provisioning' | 'residents' | 'sink'>;

export function residentRoutes(app: Api, ctx: ResidentRoutesDeps): void {
  // Read as bytes: a file saved by Excel on Chinese Windows is GBK, not UTF-8 (decodeCsv).
  app.addContentTypeParser('text/csv', { parseAs: 'buffer', bodyLimit: 10 * 1_048_576 }, (req, body, done) => {
    try {
      done(null, decodeCsv(body as Buffer, /charset=([^;]+)/i.exec(req.headers['content-type'] ?? '')?.[1]));
    } catch (err) {
      done(err instanceof CsvEncodingError ? invalid('file', err.message, 'encoding') : (err as Error), undefined);
    }
  });

  app.post(
    '/residents/import',
    {
      onRequest: roles('admin', 'operator', 'provider'),
      schema: {
        querystring: z.object({ dryRun: z.enum(['true', 'false']).default('true'), providerId: z.string().optional() }),
        body: z.string().min(1),
        consumes: ['text/csv'],
        summary: `Bulk onboarding from CSV (columns: ${IMPORT_COLUMNS.join(', ')}). dryRun=true (default) reports every bad row; dryRun=false writes all rows or none`,
        tags: ['residents'],
      },
    },
    async (req, reply) => {
      const a = access(req);
      const providerId = a.providerFor(req.query.providerId, 'residents') ?? null;
      if (providerId && !ctx.providers.get(providerId)) throw invalid('providerId', `provider ${providerId} does not exist`);
      const report = await importResidents(ctx.importDeps, req.body, { dryRun: req.query.dryRun === 'true', providerId, stationVisible: (id) => a.station(id) });
      if (!report.ok && !report.dryRun) {
        return reply.status(400).send({ error: { code: 'validation_failed', message: `${report.errors.length} problems in the file; nothing was imported`, field: 'file' }, ...report });
      }
      return reply.status(report.ok && !report.dryRun ? 201 : 200).send(report);
    },
  );

  app.post('/residents', { onRequest: roles('admin', 'operator', 'provider'), schema: { body: createResident, summary: 'Register a resident with contacts (a provider registers for itself)', tags: ['residents'] } }, async (req, reply) => {
    const a = access(req);
    const body = { ...req.body, providerId: a.providerFor(req.body.providerId, 'residents') };
    if (!a.station(body.stationId)) throw invalid('stationId', `station ${body.stationId} does not exist`); // out of scope reads like absent
    return reply.status(201).send(residentView(await ctx.onboarding.createResident(body), ctx.clock.now()));
  });

  app.get(
    '/residents',
    {
      schema: {
        querystring: z.object({ stationId: z.string().optional(), include: z.enum(['active', 'inactive', 'all']).default('active').describe('inactive: those who left the programme') }),
        summary: 'Residents within the caller\'s scope (by default those in the programme)',
        tags: ['residents'],
      },
    },
    async (req) =>
      ctx.residents
        .list(req.query.stationId ? { stationId: req.query.stationId } : {})
        .filter((r) => req.query.include === 'all' || (req.query.include === 'active') === (r.deactivatedAt === null))
        .filter((r) => access(req).resident(r))
        .map((r) => residentView(r, ctx.clock.now())),
  );

  app.post(
    '/residents/:id/deactivate',
    {
      onRequest: roles('admin', 'operator', 'provider'),
      schema: {
        params: idParam,
        body: z.object({ reason: z.enum(deactivationReasons), note: z.string().trim().max(2000).optional() }).strict(),
        summary: 'The resident left the programme (nursing home, died, moved away): out of the lists, their devices decommissioned, their history kept',
        tags: ['residents'],
      },
    },
    async (req) => {
      Access.must(ctx.residents.get(req.params.id), (r) => access(req).resident(r), 'resident', req.params.id);
      const p = req.principal!;
      const { resident, devicesDecommissioned } = await ctx.onboarding.deactivateResident(req.params.id, { reason: req.body.reason, note: req.body.note ?? null, by: `${p.role}:${p.label}` });
      return { ...residentView(resident, ctx.clock.now()), devicesDecommissioned };
    },
  );

  app.patch(
    '/residents/:id',
    {
      onRequest: roles('admin', 'operator', 'provider'),
      schema: {
        params: idParam,
        body: createResident
          .pick({ name: true, address: true, phone: true, livesAlone: true, capabilityLevel: true, notes: true, careRecord: true, birthDate: true, categories: true, capabilityAssessedAt: true, visitPlan: true })
          .partial()
          .extend({ contacts: z.array(contact).max(10).optional() })
          .strict(),
        summary: 'Change a resident\'s details; contacts, when given, replace the old ones (priority order = escalation order); a care record, when given, replaces the old one',
        tags: ['residents'],
      },
    },
    async (req) => {
      Access.must(ctx.residents.get(req.params.id), (r) => access(req).resident(r), 'resident', req.params.id);
      return residentView(await ctx.onboarding.updateResident(req.params.id, req.body), ctx.clock.now());
    },
  );

  app.put('/residents/:id/settings', { onRequest: roles('admin', 'operator'), schema: { params: idParam, body: residentSettingsSchema, summary: 'Replace a resident\'s care settings (thresholds, cancel window, night hours)', tags: ['residents'] } }, async (req) => {
    Access.must(ctx.residents.get(req.params.id), (r) => access(req).resident(r), 'resident', req.params.id);
    return residentView(await ctx.onboarding.updateResidentSettings(req.params.id, req.body), ctx.clock.now());
  });

  app.get(
    '/residents/:id/telemetry',
    { schema: { params: idParam, querystring: telemetryQuery, summary: 'Every device\'s readings of a resident over a time range, downsampled for charts', tags: ['residents'] } },
    async (req) => {
      const resident = Access.must(ctx.residents.get(req.params.id), (r) => access(req).resident(r), 'resident', req.params.id);
      const range = telemetryRange(req.query, ctx.clock.now());
      const devices = (await ctx.devices.list()).filter((d) => d.residentId === resident.id);
      const perDevice = await Promise.all(
        devices.map(async (d) => (await ctx.sink.series({ deviceId: d.id, from: range.from, to: range.to, bucketMs: range.bucketMs, ...(range.kinds ? { kinds: range.kinds } : {}) })).map((s) => ({ deviceId: d.id, profile: d.profileId, ...s }))),
      );
      return { residentId: resident.id, from: iso(range.from), to: iso(range.to), bucketSeconds: range.bucketMs / 1000, series: perDevice.flat() };
    },
  );

  app.get(
    '/residents/:id/provisioning',
    { onRequest: roles('admin', 'operator', 'provider'), schema: { params: idParam, summary: 'Provisioning check of every device of a resident: is the home bed ready?', tags: ['residents'] } },
    async (req) => {
      const resident = Access.must(ctx.residents.get(req.params.id), (r) => access(req).resident(r), 'resident', req.params.id);
      const devices = (await ctx.devices.list()).filter((d) => d.residentId === resident.id && d.decommissionedAt === null);
      const reports = await Promise.all(devices.map((d) => ctx.provisioning.check(d)));
      return { residentId: resident.id, ready: reports.length > 0 && reports.every((r) => r.provisioned), devices: reports };
    },
  );

  app.get('/residents/:id', { schema: { params: idParam, summary: 'One resident with contacts and device ids', tags: ['residents'] } }, async (req) => {
    const resident = Access.must(ctx.residents.get(req.params.id), (r) => access(req).resident(r), 'resident', req.params.id);
    const devices = (await ctx.devices.list()).filter((d) => d.residentId === resident.id).map((d) => d.id);
    return { ...residentView(resident, ctx.clock.now()), devices };
  });
}
