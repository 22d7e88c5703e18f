import { z } from 'zod';
import { notFound } from '../../core/errors.ts';
import type { Api, ApiContext } from '../context.ts';
import { idParam, phone, webhookUrl } from '../schemas.ts';
import { residentView } from '../views.ts';
import { timeZoneSchema } from '../../core/time-zone.ts';
import { residentSettingsSchema } from '../../rules/resident-settings.ts';

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
    stationId: z.string().min(1),
    providerId: z.string().nullish(),
    livesAlone: z.boolean(),
    capabilityLevel: z.number().int().min(0).max(4),
    timezone: timeZoneSchema.optional(),
    notes: z.string().max(2000).nullish(),
    contacts: z.array(contact).max(10).default([]),
    settings: residentSettingsSchema.optional(),
  })
  .strict();

export function residentRoutes(app: Api, ctx: ApiContext): void {
  app.post('/residents', { schema: { body: createResident, tags: ['residents'] } }, async (req, reply) =>
    reply.status(201).send(residentView(ctx.onboarding.createResident(req.body))),
  );

  app.get('/residents', { schema: { querystring: z.object({ stationId: z.string().optional() }), tags: ['residents'] } }, async (req) =>
    ctx.residents.list(req.query.stationId ? { stationId: req.query.stationId } : {}).map(residentView),
  );

  app.put('/residents/:id/settings', { schema: { params: idParam, body: residentSettingsSchema, tags: ['residents'] } }, async (req) =>
    residentView(ctx.onboarding.updateResidentSettings(req.params.id, req.body)),
  );

  app.get('/residents/:id', { schema: { params: idParam, tags: ['residents'] } }, async (req) => {
    const resident = ctx.residents.get(req.params.id);
    if (!resident) throw notFound('resident', req.params.id);
    const devices = ctx.devices.list().filter((d) => d.residentId === resident.id).map((d) => d.id);
    return { ...residentView(resident), devices };
  });
}
