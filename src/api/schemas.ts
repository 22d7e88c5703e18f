import { z } from 'zod';
import { invalid } from '../core/errors.ts';
import { isPhoneNumber, PHONE_RULE } from '../onboarding/import.ts';

/** Reusable request-schema pieces. */
export const idParam = z.object({ id: z.string().min(1).max(128) });

export const webhookUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2048)
  .nullish();

export const phone = z
  .string()
  .trim()
  .refine(isPhoneNumber, { message: `must be ${PHONE_RULE}`, params: { rule: 'phone' } });

/** Chart queries: a time range (default the last 24 h), reading kinds, and how many points at most per series. */
export const telemetryQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  kinds: z
    .string()
    .regex(/^[a-z0-9_]+(,[a-z0-9_]+)*$/, 'comma-separated reading kinds, e.g. heart_rate,spo2')
    .optional(),
  points: z.coerce.number().int().min(10).max(2000).default(300),
});

export function telemetryRange(q: z.infer<typeof telemetryQuery>, now: number): { from: number; to: number; bucketMs: number; kinds: string[] | undefined } {
  const to = q.to ? Date.parse(q.to) : now;
  const from = q.from ? Date.parse(q.from) : to - 86_400_000;
  if (!(from < to)) throw invalid('from', 'from must be before to');
  if (to - from > 366 * 86_400_000) throw invalid('from', 'at most a year at a time');
  return { from, to, bucketMs: Math.max(1000, Math.ceil((to - from) / q.points)), kinds: q.kinds?.split(',') };
}

export const limitQuery = z.coerce.number().int().min(1).max(1000).default(100);
