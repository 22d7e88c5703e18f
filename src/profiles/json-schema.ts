import { z } from 'zod';
import { profileSchema } from './schema.ts';

/** The JSON Schema of profile files, generated from the zod schema (the source of truth). */
export function profileJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(profileSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://carebell.dev/schemas/device-profile.json',
    title: 'carebell device profile',
    description: 'One device model: its topics, payload decoding, alarm rule defaults and fixtures.',
  };
}

export const profileJsonSchemaText = (): string => JSON.stringify(profileJsonSchema(), null, 2) + '\n';
