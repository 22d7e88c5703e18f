import { z } from 'zod';
import type { DeviceEventType } from '../core/model.ts';
import { bitOf, checksumSize, computeChecksum, frameBytes, position, readBinary, storedChecksum } from './blocks/binary.ts';
import { compilePath, parseJsonObject } from './blocks/json.ts';
import { parseKeyValue } from './blocks/kv.ts';
import { converterNames, getConverter } from './converters/index.ts';
import { quantities, unitConversions, type QuantityKind } from './quantities.ts';
import type { EventSource, MessageSpec, ReadingField } from './schema.ts';

/**
 * Compiles a profile's message spec, once, into a pure decoder:
 * bytes in → readings, events and field rejections out. No I/O.
 */

/** A decoded reading: exactly the shape of the normalised `Reading`, built once per value. */
export interface DecodedReading {
  deviceId: string;
  kind: QuantityKind;
  value: number;
  unit: string;
  ts: number;
}
export interface DecodedEvent {
  type: DeviceEventType;
  seq?: number;
}
export type RejectionCode = 'invalid_field' | 'out_of_range' | 'unknown_value' | 'bad_timestamp' | 'bad_seq';
export interface FieldRejection {
  field: string;
  code: RejectionCode;
  reason: string;
}
export interface Decoded {
  ts: number;
  readings: DecodedReading[];
  events: DecodedEvent[];
  online?: boolean;
  rejected: FieldRejection[];
}
export type MessageRejectionCode =
  | 'not_json'
  | 'not_kv'
  | 'bad_encoding'
  | 'bad_length'
  | 'bad_magic'
  | 'bad_checksum'
  | 'bad_frame'
  | 'unknown_event';
export type DecodeOutcome =
  | { ok: true; decoded: Decoded }
  | { ok: false; code: MessageRejectionCode; reason: string };
export type MessageDecoder = (payload: Buffer, receivedAt: number, deviceId?: string) => DecodeOutcome;

const NONE: never[] = [];
Object.freeze(NONE);

/** How far device time may stray from the gateway's before the receive time is used instead. */
export const timestampTolerance = { aheadMs: 24 * 3600_000, behindMs: 30 * 24 * 3600_000 };

export class ProfileCompileError extends Error {}

type Root = unknown;
type Getter = (root: Root) => unknown;
type Location = { path?: string | undefined; key?: string | undefined; offset?: number | undefined; type?: string | undefined; endian?: string | undefined; bit?: number | undefined };

// Values at the edge are checked with zod, compiled once per field kind.
const jsonNumber = z.number();
const jsonNumberOrBool = z.union([z.number(), z.boolean()]).transform((v) => (typeof v === 'boolean' ? Number(v) : v));
const textNumber = z
  .string()
  .regex(/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, 'expected a number')
  .transform(Number);
const lookupKey = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const seqSchema = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const tsMs = z.coerce.number().int().positive();
const tsIso = z.string().transform((s, ctx) => {
  const t = Date.parse(s);
  if (Number.isNaN(t)) {
    ctx.addIssue({ code: 'custom', message: 'not an ISO 8601 time' });
    return z.NEVER;
  }
  return t;
});

const issueText = (error: z.ZodError): string => error.issues[0]?.message ?? 'invalid value';

function describe(loc: Location): string {
  if (loc.path !== undefined) return loc.path;
  if (loc.key !== undefined) return loc.key;
  return `byte ${loc.offset}${loc.bit !== undefined ? ` bit ${loc.bit}` : ''}`;
}

function compileGetter(spec: MessageSpec, loc: Location, where: string): Getter {
  switch (spec.format) {
    case 'json':
    case 'custom':
      if (loc.path === undefined) throw new ProfileCompileError(`${where}: ${spec.format === 'json' ? 'JSON' : 'custom'} messages locate values with "path"`);
      return compilePath(loc.path);
    case 'kv': {
      if (loc.key === undefined) throw new ProfileCompileError(`${where}: key=value messages locate values with "key"`);
      const key = loc.key;
      return (root) => (root as Record<string, string>)[key];
    }
    case 'binary': {
      if (loc.offset === undefined || loc.type === undefined) {
        throw new ProfileCompileError(`${where}: binary messages locate values with "offset" and "type"`);
      }
      const { offset, bit } = loc;
      const type = loc.type as Parameters<typeof readBinary>[2];
      const endian = (loc.endian ?? spec.endian) as 'big' | 'little';
      if (bit === undefined) return (root) => readBinary(root as Buffer, offset, type, endian);
      return (root) => {
        const v = readBinary(root as Buffer, offset, type, endian);
        return v === undefined ? undefined : bitOf(v, bit);
      };
    }
  }
}

/** The value; undefined when the field is absent or ignored; or why it was refused. */
type FieldResult = number | undefined | FieldRejection;

function compileReading(spec: MessageSpec, field: ReadingField, where: string): (root: Root) => FieldResult {
  const get = compileGetter(spec, field, where);
  const q = quantities[field.kind];
  const conversion = unitConversions[field.unit];
  if (!conversion || conversion.to !== q.unit) {
    throw new ProfileCompileError(`${where}: unit ${field.unit} cannot express ${field.kind} (canonical unit ${q.unit})`);
  }
  const [min, max] = field.range ?? q.bounds;
  const scale = field.scale ?? 1;
  const add = field.add ?? 0;
  const ignore = field.ignore ? new Set(field.ignore) : undefined;
  // A Map, not the profile's object: a payload value such as "constructor" must not find Object.prototype's.
  const map = field.map ? new Map(Object.entries(field.map)) : undefined;
  const name = `${field.kind} (${describe(field)})`;
  const numberSchema = spec.format === 'kv' ? textNumber : q.unit === 'bool' ? jsonNumberOrBool : jsonNumber;
  return (root) => {
    const rawValue = get(root);
    if (rawValue === undefined || rawValue === null) return undefined;
    let raw: number;
    if (map) {
      const key = lookupKey.safeParse(rawValue);
      if (!key.success) return { field: field.kind, code: 'invalid_field', reason: `${name}: ${issueText(key.error)}` };
      const mapped = map.get(key.data);
      if (mapped === undefined) {
        return { field: field.kind, code: 'unknown_value', reason: `${name}: unknown value ${JSON.stringify(rawValue).slice(0, 80)}; expected one of ${[...map.keys()].join(', ')}` };
      }
      raw = mapped;
    } else if (typeof rawValue === 'number' && Number.isFinite(rawValue) && spec.format !== 'kv') {
      // What z.number() accepts, without its allocations on the hot path; anything else goes through zod.
      raw = rawValue;
    } else {
      const parsed = numberSchema.safeParse(rawValue);
      if (!parsed.success) return { field: field.kind, code: 'invalid_field', reason: `${name}: ${issueText(parsed.error)}` };
      raw = parsed.data;
    }
    if (ignore?.has(raw)) return undefined;
    const value = round(conversion.convert(raw * scale + add));
    if (!(value >= min && value <= max)) {
      return { field: field.kind, code: 'out_of_range', reason: `${name}: ${value} ${q.unit} is outside ${min}..${max}` };
    }
    return value;
  };
}

/** Six significant decimals: enough for any sensor, and fixtures compare exactly. */
const round = (v: number): number => Math.round(v * 1e6) / 1e6;

type EventResult = DeviceEventType | null | FieldRejection;

function compileEvent(spec: MessageSpec, source: EventSource, where: string): (root: Root) => EventResult {
  const get = compileGetter(spec, source, where);
  const name = `event (${describe(source)})`;
  if (source.map) {
    const map = new Map(Object.entries(source.map)); // own keys only (see compileReading)
    return (root) => {
      const rawValue = get(root);
      if (rawValue === undefined || rawValue === null) return null;
      const key = lookupKey.safeParse(rawValue);
      if (!key.success) return { field: 'event', code: 'invalid_field', reason: `${name}: ${issueText(key.error)}` };
      const type = map.get(key.data);
      if (type === undefined) {
        return { field: 'event', code: 'unknown_value', reason: `${name}: unknown event ${JSON.stringify(rawValue).slice(0, 80)}; expected one of ${[...map.keys()].join(', ')}` };
      }
      return type;
    };
  }
  const event = source.event;
  if (!event) throw new ProfileCompileError(`${where}: an event source needs "map", or "event" (with "equals" or a bit)`);
  if (source.equals !== undefined) {
    const expected = String(source.equals);
    return (root) => {
      const v = get(root);
      return v !== undefined && v !== null && String(v) === expected ? event : null;
    };
  }
  if (source.bit === undefined) throw new ProfileCompileError(`${where}: "event" needs "equals", or a "bit" to test`);
  return (root) => (get(root) === 1 ? event : null);
}

/**
 * Set by a timestamp decoder when it had to fall back to the receive time.
 * Decoding is synchronous, so the message decoder reads and clears it at once;
 * this keeps an allocation off the path of every good message.
 */
let timestampRejection: FieldRejection | undefined;

function compileTimestamp(spec: MessageSpec): (root: Root, receivedAt: number) => number {
  const ts = spec.timestamp;
  if (!ts) return (_root, receivedAt) => receivedAt;
  const get = compileGetter(spec, ts, 'timestamp');
  const schema = ts.unit === 'iso' ? tsIso : tsMs;
  const factor = ts.unit === 's' ? 1000 : 1;
  return (root, receivedAt) => {
    const raw = get(root);
    if (raw === undefined || raw === null) return receivedAt;
    let t: number;
    if (ts.unit !== 'iso' && typeof raw === 'number' && Number.isSafeInteger(raw) && raw > 0) {
      t = raw * factor; // what the zod schema accepts, without its allocations
    } else {
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        timestampRejection = { field: 'timestamp', code: 'bad_timestamp', reason: `timestamp (${describe(ts)}): ${issueText(parsed.error)}; used the receive time` };
        return receivedAt;
      }
      t = parsed.data * factor;
    }
    if (t > receivedAt + timestampTolerance.aheadMs || t < receivedAt - timestampTolerance.behindMs) {
      timestampRejection = {
        field: 'timestamp',
        code: 'bad_timestamp',
        reason: `timestamp ${isoOrRaw(t)} is too far from the gateway clock ${isoOrRaw(receivedAt)}; used the receive time`,
      };
      return receivedAt;
    }
    return t;
  };
}

/** A time as ISO 8601, or the raw number when it is beyond what a Date can hold (±8.64e15 ms). */
const isoOrRaw = (t: number): string => (Math.abs(t) <= 8.64e15 ? new Date(t).toISOString() : `${t} ms`);

type Parse = (payload: Buffer) => { ok: true; root: Root } | { ok: false; code: MessageRejectionCode; reason: string };

function compileParse(spec: MessageSpec): Parse {
  switch (spec.format) {
    case 'json':
      return (payload) => {
        const r = parseJsonObject(payload);
        return r.ok ? { ok: true, root: r.value } : { ok: false, code: 'not_json', reason: r.reason };
      };
    case 'kv':
      return (payload) => {
        const r = parseKeyValue(payload, spec.separator, spec.assign);
        return r.ok ? { ok: true, root: r.value } : { ok: false, code: 'not_kv', reason: r.reason };
      };
    case 'binary':
      return (payload) => {
        const frame = frameBytes(payload, spec.encoding);
        if (typeof frame === 'string') return { ok: false, code: 'bad_encoding', reason: frame };
        const check = checkFrame(spec, frame);
        return check ?? { ok: true, root: frame };
      };
    case 'custom': {
      const converter = spec.converter === undefined ? undefined : getConverter(spec.converter);
      if (!converter) throw new ProfileCompileError(`converter ${JSON.stringify(spec.converter)} is not registered; registered: ${converterNames().join(', ') || 'none'}`);
      return (payload) => {
        const frame = frameBytes(payload, spec.encoding);
        if (typeof frame === 'string') return { ok: false, code: 'bad_encoding', reason: frame };
        const r = converter.decode(frame);
        return r.ok ? { ok: true, root: r.value } : { ok: false, code: r.code, reason: `${converter.name}: ${r.reason}` };
      };
    }
  }
}

function checkFrame(spec: MessageSpec, frame: Buffer): { ok: false; code: MessageRejectionCode; reason: string } | null {
  if (spec.length) {
    const { min, max } = spec.length;
    if (frame.length < min || (max !== undefined && frame.length > max)) {
      const want = max === undefined ? `at least ${min}` : min === max ? `${min}` : `${min}..${max}`;
      return { ok: false, code: 'bad_length', reason: `frame is ${frame.length} bytes, expected ${want}` };
    }
  }
  for (const m of spec.magic ?? []) {
    const v = readBinary(frame, m.offset, m.type, spec.endian);
    if (v !== m.equals) {
      return { ok: false, code: 'bad_magic', reason: `byte ${m.offset} is ${v === undefined ? 'missing' : '0x' + v.toString(16)}, expected 0x${m.equals.toString(16)}` };
    }
  }
  const cs = spec.checksum;
  if (cs) {
    const from = position(cs.from, frame.length);
    const to = position(cs.to, frame.length);
    const at = position(cs.at, frame.length);
    if (from < 0 || to > frame.length || from > to || at < 0 || at + checksumSize[cs.algorithm] > frame.length) {
      return { ok: false, code: 'bad_length', reason: `frame of ${frame.length} bytes is too short for its checksum` };
    }
    const expected = computeChecksum(cs.algorithm, frame.subarray(from, to));
    const stored = storedChecksum(cs.algorithm, frame, at);
    if (stored !== expected) {
      return { ok: false, code: 'bad_checksum', reason: `${cs.algorithm} checksum is 0x${stored?.toString(16)}, computed 0x${expected.toString(16)}` };
    }
  }
  return null;
}

const isRejection = (r: unknown): r is FieldRejection => typeof r === 'object' && r !== null && 'code' in r;

export function compileMessage(spec: MessageSpec, where = spec.name): MessageDecoder {
  const parse = compileParse(spec);
  const timestamp = compileTimestamp(spec);
  const readings = spec.readings.map((f, i) => ({ kind: f.kind, unit: quantities[f.kind].unit, decode: compileReading(spec, f, `${where}.readings[${i}]`) }));
  const events = spec.events.map((s, i) => compileEvent(spec, s, `${where}.events[${i}]`));
  const seqGet = spec.seq ? compileGetter(spec, spec.seq, `${where}.seq`) : undefined;
  const onlineGet = spec.online ? compileGetter(spec, spec.online, `${where}.online`) : undefined;
  const requireEvent = spec.requireEvent;

  return (payload, receivedAt, deviceId = '') => {
    const parsed = parse(payload);
    if (!parsed.ok) return parsed;
    const root = parsed.root;
    let rejected: FieldRejection[] | undefined;
    const ts = timestamp(root, receivedAt);
    if (timestampRejection) {
      rejected = [timestampRejection];
      timestampRejection = undefined;
    }

    const outReadings: DecodedReading[] = [];
    for (const r of readings) {
      const result = r.decode(root);
      if (typeof result === 'number') outReadings.push({ deviceId, kind: r.kind, value: result, unit: r.unit, ts });
      else if (result !== undefined) (rejected ??= []).push(result);
    }

    let outEvents: DecodedEvent[] = NONE;
    let unknownEvent: FieldRejection | undefined;
    for (const e of events) {
      const result = e(root);
      if (result === null) continue;
      if (isRejection(result)) {
        unknownEvent ??= result;
        (rejected ??= []).push(result);
      } else if (outEvents === NONE) outEvents = [{ type: result }];
      else outEvents.push({ type: result });
    }
    if (requireEvent && outEvents.length === 0) {
      return { ok: false, code: 'unknown_event', reason: unknownEvent?.reason ?? 'no recognised event in the message' };
    }
    if (seqGet && outEvents.length > 0) {
      const rawSeq = seqGet(root);
      if (rawSeq !== undefined && rawSeq !== null) {
        const seq = seqSchema.safeParse(rawSeq);
        if (seq.success) for (const e of outEvents) e.seq = seq.data;
        else (rejected ??= []).push({ field: 'seq', code: 'bad_seq', reason: `seq: ${issueText(seq.error)}` });
      }
    }

    const decoded: Decoded = { ts, readings: outReadings, events: outEvents, rejected: rejected ?? NONE };
    if (onlineGet) {
      const v = onlineGet(root);
      if (v === true || v === 1 || v === 'true' || v === '1' || v === 'online') decoded.online = true;
      else if (v === false || v === 0 || v === 'false' || v === '0' || v === 'offline') decoded.online = false;
    }
    return { ok: true, decoded };
  };
}
