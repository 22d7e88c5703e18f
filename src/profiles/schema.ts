import { z } from 'zod';
import { deviceEventTypeSchema } from '../core/model.ts';
import { quantityKinds, sourceUnits, type QuantityKind } from './quantities.ts';
import { readingPresetNames, ruleBlockNames, thresholdAlarms } from './library.ts';

/**
 * The device-profile format: one JSON file per device model in
 * `device-profiles/`. `npm run profiles:schema` writes the JSON Schema that
 * editors use from this file.
 */

const binaryType = z.enum(['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32']);
const endian = z.enum(['big', 'little']);

/** Where a value is in a payload: `path` (JSON), `key` (key=value) or `offset` (binary). */
const location = {
  path: z.string().min(1).optional().describe('JSON: dot path into the object, e.g. "bp.sys" or "vitals.0.hr"'),
  key: z.string().min(1).optional().describe('key=value text: the key'),
  offset: z.number().int().min(0).optional().describe('binary: byte offset of the value'),
  type: binaryType.optional().describe('binary: integer or float type at the offset'),
  endian: endian.optional().describe('binary: byte order (defaults to the message\'s)'),
  bit: z.number().int().min(0).max(31).optional().describe('binary: take one bit (0 = least significant) of the value'),
};

export const readingFieldSchema = z
  .object({
    use: z.enum(readingPresetNames).optional().describe('a reading preset (src/profiles/library.ts): its kind, unit, range and map, under this field\'s own settings'),
    kind: z.enum(quantityKinds).optional().describe('the normalised quantity this field carries (required without "use")'),
    unit: z.enum(sourceUnits).optional().describe('the unit the device sends; converted to the quantity\'s canonical unit (required without "use")'),
    ...location,
    scale: z.number().optional().describe('multiply the raw value by this, e.g. 0.1 for tenths'),
    add: z.number().optional().describe('then add this'),
    map: z
      .record(z.string(), z.number())
      .optional()
      .describe('enum lookup: raw value (as text) → number, e.g. {"on": 1, "off": 0}'),
    range: z
      .tuple([z.number(), z.number()])
      .optional()
      .describe('valid range in the canonical unit; a value outside it is dead-lettered'),
    ignore: z
      .array(z.number())
      .optional()
      .describe('raw values that mean "no measurement" (e.g. 255 or 0) and are skipped, not rejected'),
  })
  .strict()
  .refine((f) => f.kind !== undefined && f.unit !== undefined, 'give "kind" and "unit", or "use" a reading preset')
  // After the presets are applied (library.ts, before validation) every field has both.
  .transform(({ use: _use, ...f }) => f as Omit<typeof f, 'kind' | 'unit'> & { kind: QuantityKind; unit: string });

export const eventSourceSchema = z
  .object({
    ...location,
    map: z
      .record(z.string(), deviceEventTypeSchema)
      .optional()
      .describe('value lookup: raw value (as text) → event type'),
    equals: z.union([z.string(), z.number(), z.boolean()]).optional().describe('raise `event` when the value equals this'),
    event: deviceEventTypeSchema.optional().describe('the event raised when the value equals `equals` or, for a bit, is set'),
  })
  .strict();

const valueLocationSchema = z.object({ ...location }).strict();

export const checksumSchema = z
  .object({
    algorithm: z.enum(['sum8', 'xor8', 'crc16_modbus']),
    from: z.number().int().min(0).describe('first byte covered'),
    to: z.number().int().describe('one past the last byte covered; negative counts from the end'),
    at: z.number().int().describe('where the checksum is; negative counts from the end'),
  })
  .strict();

export const messageSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]*$/),
    topic: z.string().includes('{deviceId}').describe('topic pattern; {deviceId} is filled with the device id'),
    format: z.enum(['json', 'kv', 'binary', 'custom']).describe('custom: bytes go through the named "converter"; values are then located with "path"'),
    converter: z.string().regex(/^[a-z][a-z0-9-]*$/).optional().describe('custom only: a converter registered in src/profiles/converters/'),
    encoding: z
      .enum(['raw', 'hex', 'base64'])
      .default('raw')
      .describe('binary and custom: how the bytes travel in the MQTT payload'),
    separator: z.string().min(1).default(';').describe('kv only: between pairs'),
    assign: z.string().min(1).default('=').describe('kv only: between key and value'),
    endian: endian.default('big').describe('binary only: default byte order'),
    length: z
      .object({ min: z.number().int().min(1), max: z.number().int().min(1).optional() })
      .optional()
      .describe('binary only: accepted frame lengths in bytes'),
    magic: z
      .array(z.object({ offset: z.number().int().min(0), type: binaryType, equals: z.number().int() }).strict())
      .optional()
      .describe('binary only: header bytes that must match'),
    checksum: checksumSchema.optional(),
    timestamp: z
      .object({ ...location, unit: z.enum(['ms', 's', 'iso']).default('ms') })
      .strict()
      .optional()
      .describe('where the device time is; absent = the time the gateway received the message'),
    readings: z.array(readingFieldSchema).default([]),
    events: z.array(eventSourceSchema).default([]),
    seq: valueLocationSchema.optional().describe('event sequence number: a repeated (device, seq) is one event'),
    requireEvent: z.boolean().default(false).describe('a message without a recognised event is rejected'),
    online: valueLocationSchema.optional().describe('status messages: the device says it is online (true) or going offline (false)'),
  })
  .strict()
  .refine((m) => (m.format === 'custom') === (m.converter !== undefined), { message: 'a "custom" message names its "converter", and only a custom message has one', path: ['converter'] });

export const alarmRuleSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('event'),
      event: deviceEventTypeSchema,
      alarm: z.string().regex(/^[a-z][a-z0-9_]*$/),
      severity: z.enum(['critical', 'major', 'minor', 'info']),
      cancelledBy: z.array(deviceEventTypeSchema).optional(),
      cancelWindowSeconds: z.number().int().min(1).optional(),
      clearedBy: z.array(deviceEventTypeSchema).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('threshold'),
      reading: z.enum(quantityKinds),
      above: z.number().optional(),
      below: z.number().optional(),
      forSeconds: z.number().int().min(0).default(0),
      clearAt: z.number().optional().describe('hysteresis: the value at which the condition clears'),
      alarm: z.string().regex(/^[a-z][a-z0-9_]*$/),
      severity: z.enum(['critical', 'major', 'minor', 'info']),
    })
    .strict()
    .refine((r) => (r.above === undefined) !== (r.below === undefined), 'set exactly one of above or below'),
  z
    .object({
      kind: z.literal('silence'),
      heartbeats: z.number().min(1).default(3),
      alarm: z.string().default('device_offline'),
      severity: z.enum(['critical', 'major', 'minor', 'info']).default('minor'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('vitals_score'),
      alarm: z.string().default('vitals_warning'),
    })
    .strict(),
]);

export const fixtureSchema = z
  .object({
    name: z.string().min(1),
    topic: z.string().includes('{deviceId}'),
    payload: z.unknown().optional().describe('a JSON value, sent as its JSON text'),
    payloadText: z.string().optional().describe('text sent as UTF-8'),
    payloadHex: z.string().regex(/^([0-9a-fA-F]{2})*$/).optional().describe('raw bytes in hex'),
    receivedAt: z.number().int().optional(),
    expect: z
      .object({
        readings: z
          .array(z.object({ kind: z.string(), value: z.number(), unit: z.string().optional(), ts: z.number().optional() }).strict())
          .default([]),
        events: z
          .array(z.object({ type: deviceEventTypeSchema, seq: z.number().optional(), ts: z.number().optional() }).strict())
          .default([]),
        online: z.boolean().optional(),
        rejected: z.string().optional().describe('the whole message is dead-lettered with a reason containing this'),
        rejectedFields: z.array(z.string()).optional().describe('these reading kinds are dead-lettered, the rest accepted'),
      })
      .strict(),
  })
  .strict()
  .refine(
    (f) => [f.payload, f.payloadText, f.payloadHex].filter((p) => p !== undefined).length === 1,
    'give exactly one of payload, payloadText, payloadHex',
  );

export const deviceKinds = [
  'sos_button',
  'fall_detector',
  'vitals_wearable',
  'smoke_detector',
  'gas_detector',
  'water_leak_sensor',
  'door_sensor',
  'bed_sensor',
  'motion_sensor',
  'siren',
  'bp_monitor',
] as const;

export const profileSchema = z
  .object({
    $schema: z.string().optional(),
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
    vendor: z.string().min(1),
    model: z.string().min(1),
    kind: z.enum(deviceKinds),
    description: z.string().default(''),
    heartbeatSeconds: z.number().int().min(10).describe('how often the device reports when nothing happens'),
    wearable: z.boolean().default(false),
    maxPayloadBytes: z.number().int().min(16).max(1_048_576).optional(),
    messages: z.array(messageSchema).min(1),
    commands: z
      .object({ topic: z.string().includes('{deviceId}'), format: z.enum(['json', 'kv', 'binary']).default('json') })
      .strict()
      .optional()
      .describe('downlink to the device'),
    use: z
      .array(z.enum(ruleBlockNames))
      .default([])
      .describe('shared rule blocks (src/profiles/library.ts), e.g. ["sos", "battery", "silence"]: their rules come before the profile\'s own alarmRules'),
    thresholds: z
      .partialRecord(
        z.enum(thresholdAlarms),
        z
          .object({ above: z.number().optional(), below: z.number().optional(), forSeconds: z.number().int().min(0).optional(), clearAt: z.number().optional(), severity: z.enum(['critical', 'major', 'minor', 'info']).optional() })
          .strict(),
      )
      .optional()
      .describe('this model\'s own values for threshold defaults used by its blocks (e.g. {"heart_rate_high": {"above": 125}}); a resident\'s settings override them again'),
    alarmRules: z.array(alarmRuleSchema).default([]).describe('rules of this model beyond its blocks (with "use", the blocks\' rules come first)'),
    fixtures: z.array(fixtureSchema).min(1, 'every profile ships at least one fixture'),
  })
  .strict();

export type DeviceProfile = z.infer<typeof profileSchema>;
export type MessageSpec = z.infer<typeof messageSchema>;
export type ReadingField = z.infer<typeof readingFieldSchema>;
export type EventSource = z.infer<typeof eventSourceSchema>;
export type Fixture = z.infer<typeof fixtureSchema>;
export type AlarmRuleSpec = z.infer<typeof alarmRuleSchema>;
