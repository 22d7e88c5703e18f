import { z } from 'zod';
import { PHONE_PATTERN } from '../onboarding/import.ts';

/** Reusable request-schema pieces. */
export const idParam = z.object({ id: z.string().min(1).max(128) });

export const webhookUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2048)
  .nullish();

export const phone = z
  .string()
  .trim()
  .regex(PHONE_PATTERN, 'must be a phone number: digits, optional leading +, spaces or dashes');

export const limitQuery = z.coerce.number().int().min(1).max(1000).default(100);
