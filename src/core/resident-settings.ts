import { z } from 'zod';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time as HH:MM, e.g. 22:00');

/**
 * Per-resident care settings: every field is optional and falls back to the
 * default (the profile's rule, or the values below).
 */
export const residentSettingsSchema = z
  .object({
    /** Seconds a resident has to cancel a fall or SOS press on the device (default: the profile's, 30). */
    cancelWindowSeconds: z.number().int().min(5).max(600).optional(),
    inactivity: z
      .object({
        enabled: z.boolean().default(true),
        hours: z.number().min(1).max(72).default(12),
        daytime: z.object({ from: hhmm, to: hhmm }).strict().optional(),
      })
      .strict()
      .optional(),
    nightBedExit: z
      .object({
        enabled: z.boolean().default(true),
        from: hhmm.default('22:00'),
        to: hhmm.default('06:00'),
        returnMinutes: z.number().int().min(1).max(240).default(20),
      })
      .strict()
      .optional(),
    /** Overrides of a profile's threshold rules, by alarm type (e.g. heart_rate_high). */
    thresholds: z
      .record(
        z.string().regex(/^[a-z][a-z0-9_]*$/),
        z.object({ above: z.number().optional(), below: z.number().optional(), forSeconds: z.number().int().min(0).optional(), clearAt: z.number().optional() }).strict(),
      )
      .optional(),
  })
  .strict();

export type ResidentSettings = z.infer<typeof residentSettingsSchema>;
export const defaultInactivity = { enabled: true, hours: 12 };
export const defaultNightBedExit = { enabled: true, from: '22:00', to: '06:00', returnMinutes: 20 };
