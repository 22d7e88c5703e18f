import fc from 'fast-check';
import { checksumSize, computeChecksum, frameBytes, position } from '../../src/profiles/blocks/binary.ts';
import { FIXTURE_DEVICE_ID, FIXTURE_RECEIVED_AT, fixturePayload } from '../../src/profiles/fixtures.ts';
import type { CompiledProfile } from '../../src/profiles/registry.ts';
import type { MessageSpec } from '../../src/profiles/schema.ts';
import { getConverter } from '../../src/profiles/converters/index.ts';
import { fillTopic } from '../../src/profiles/topics.ts';

/**
 * Mutated device payloads for property tests and bench:fuzz: each profile's
 * fixtures, changed the way broken firmware, bad radio links and attackers
 * change them. JSON and key=value payloads also get values a lookup table
 * might trip on (`constructor`, `__proto__` …), repeated keys and odd types;
 * binary frames get their checksum fixed half of the time, so mutations reach
 * the field decoders instead of stopping at the checksum.
 */

export interface Seed {
  /** Topic with `{deviceId}` still in it. */
  topic: string;
  payload: Buffer;
  spec: MessageSpec;
}

export interface Mutant {
  topic: string;
  payload: Buffer;
  how: string;
}

/** Values a lookup in a plain object, a type check or a number parser may trip on. */
export const trickyValues: unknown[] = [
  'constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'prototype', '', ' ', 'sos', 'SOS', 'fall', 'test',
  null, true, false, 0, -1, 1e308, -1e308, 2 ** 53 + 1, 1.5, 'NaN', 'Infinity', '1e999', '0x10', [], [1, 2], {}, { __proto__: 1 }, 'x'.repeat(5_000),
];

export function seedsOf(profile: CompiledProfile): Seed[] {
  return profile.profile.fixtures.flatMap((f) => {
    const message = profile.messageFor(FIXTURE_DEVICE_ID, fillTopic(f.topic, FIXTURE_DEVICE_ID));
    return message ? [{ topic: f.topic, payload: fixturePayload(f), spec: message.spec }] : [];
  });
}

const byteMutation = (payload: Buffer): fc.Arbitrary<{ bytes: Buffer; how: string }> => {
  const n = Math.max(1, payload.length);
  return fc.oneof(
    fc.record({ at: fc.nat({ max: n - 1 }), bit: fc.nat({ max: 7 }) }).map(({ at, bit }) => {
      const b = Buffer.from(payload);
      if (b.length > 0) b[at] = b[at]! ^ (1 << bit);
      return { bytes: b, how: `flip bit ${bit} of byte ${at}` };
    }),
    fc.nat({ max: n }).map((at) => ({ bytes: payload.subarray(0, at), how: `truncate at ${at}` })),
    fc.record({ at: fc.nat({ max: n }), extra: fc.uint8Array({ minLength: 1, maxLength: 16 }) }).map(({ at, extra }) => ({
      bytes: Buffer.concat([payload.subarray(0, at), Buffer.from(extra), payload.subarray(at)]),
      how: `insert ${extra.length} bytes at ${at}`,
    })),
    fc.record({ at: fc.nat({ max: n - 1 }), len: fc.integer({ min: 1, max: 8 }) }).map(({ at, len }) => ({
      bytes: Buffer.concat([payload.subarray(0, at), payload.subarray(at + len)]),
      how: `delete ${len} bytes at ${at}`,
    })),
    fc.record({ at: fc.nat({ max: n - 1 }), len: fc.integer({ min: 1, max: 16 }) }).map(({ at, len }) => ({
      bytes: Buffer.concat([payload.subarray(0, at + len), payload.subarray(at)]),
      how: `repeat ${len} bytes at ${at}`,
    })),
    fc.uint8Array({ minLength: 0, maxLength: 64 }).map((b) => ({ bytes: Buffer.from(b), how: 'random bytes' })),
  );
};

/** Every path to a value in a JSON object, as key lists. */
function paths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => paths(v, [...prefix, k]))];
}

function setPath(root: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  Object.defineProperty(node, path[path.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

const jsonMutation = (payload: Buffer): fc.Arbitrary<{ bytes: Buffer; how: string }> => {
  const root = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
  const all = paths(root).filter((p) => p.length > 0);
  const keys = Object.keys(root);
  const value = fc.oneof(fc.constantFrom(...trickyValues), fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 12 }), fc.double(), fc.integer());
  return fc.oneof(
    fc.record({ path: fc.constantFrom(...all), value }).map(({ path, value }) => ({
      bytes: Buffer.from(JSON.stringify(setPath(root, path, value))),
      how: `${path.join('.')} = ${JSON.stringify(value)?.slice(0, 40)}`,
    })),
    fc.record({ key: fc.constantFrom(...keys), value }).map(({ key, value }) => {
      // A repeated key, written after the real one: JSON.parse would keep this one.
      const text = payload.toString('utf8').trimEnd();
      return { bytes: Buffer.from(`${text.slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}}`), how: `repeated key ${key}` };
    }),
    fc.constantFrom(...keys).map((key) => {
      const copy = { ...root };
      delete copy[key];
      return { bytes: Buffer.from(JSON.stringify(copy)), how: `without ${key}` };
    }),
    fc.record({ key: fc.constantFrom('__proto__', 'constructor', 'extra', 'type', 'ts', 'seq'), value }).map(({ key, value }) => ({
      bytes: Buffer.from(JSON.stringify(setPath(root, [key], value))),
      how: `own ${key} = ${JSON.stringify(value)?.slice(0, 40)}`,
    })),
  );
};

const kvMutation = (payload: Buffer, spec: MessageSpec): fc.Arbitrary<{ bytes: Buffer; how: string }> => {
  const sep = spec.format === 'kv' ? spec.separator : ';';
  const assign = spec.format === 'kv' ? spec.assign : '=';
  const pairs = payload.toString('utf8').split(sep).filter((p) => p.includes(assign));
  const keys = pairs.map((p) => p.slice(0, p.indexOf(assign)));
  const value = fc.oneof(fc.constantFrom(...trickyValues.filter((v) => typeof v === 'string' || typeof v === 'number').map(String)), fc.string({ maxLength: 12 }));
  return fc.oneof(
    fc.record({ key: fc.constantFrom(...keys), value }).map(({ key, value }) => ({
      bytes: Buffer.from(pairs.map((p) => (p.startsWith(key + assign) ? `${key}${assign}${value}` : p)).join(sep)),
      how: `${key}=${value.slice(0, 40)}`,
    })),
    fc.record({ key: fc.constantFrom(...keys), value }).map(({ key, value }) => ({ bytes: Buffer.from(`${pairs.join(sep)}${sep}${key}${assign}${value}`), how: `repeated key ${key}` })),
  );
};

/** Re-encodes a frame in the spec's encoding, with its checksum made right again. */
function fixFrame(frame: Buffer, spec: MessageSpec): Buffer {
  if (spec.format !== 'binary') return frame;
  const cs = spec.checksum;
  const out = Buffer.from(frame);
  if (cs) {
    const from = position(cs.from, out.length);
    const to = position(cs.to, out.length);
    const at = position(cs.at, out.length);
    if (from >= 0 && to <= out.length && from <= to && at >= 0 && at + checksumSize[cs.algorithm] <= out.length) {
      const sum = computeChecksum(cs.algorithm, out.subarray(from, to));
      if (cs.algorithm === 'crc16_modbus') out.writeUInt16LE(sum, at);
      else out.writeUInt8(sum, at);
    }
  }
  return spec.encoding === 'hex' ? Buffer.from(out.toString('hex')) : spec.encoding === 'base64' ? Buffer.from(out.toString('base64')) : out;
}

/** One mutant of one of the profile's fixtures. */
export function mutants(profile: CompiledProfile): fc.Arbitrary<Mutant> {
  const seeds = seedsOf(profile);
  if (seeds.length === 0) throw new Error(`${profile.id} has no fixtures to mutate`);
  return fc.constantFrom(...seeds).chain((seed) => {
    const { spec, payload, topic } = seed;
    const options: Array<fc.Arbitrary<{ bytes: Buffer; how: string }>> = [byteMutation(payload)];
    if (spec.format === 'json') {
      try {
        const root: unknown = JSON.parse(payload.toString('utf8'));
        if (root !== null && typeof root === 'object' && Object.keys(root).length > 0) options.push(jsonMutation(payload), jsonMutation(payload));
      } catch {
        /* a fixture that is itself broken JSON: bytes only */
      }
    }
    if (spec.format === 'kv' && payload.toString('utf8').includes(spec.assign)) options.push(kvMutation(payload, spec));
    if (spec.format === 'binary') {
      const frame = frameBytes(payload, spec.encoding);
      if (typeof frame !== 'string') {
        options.push(
          byteMutation(frame).map(({ bytes, how }) => ({ bytes: fixFrame(bytes, spec), how: `${how}, checksum fixed` })),
        );
      }
    }
    if (spec.format === 'custom') {
      // Through the converter both ways: well-formed frames (records, checksum right) carrying odd values.
      const converter = getConverter(spec.converter!)!;
      const frame = frameBytes(payload, spec.encoding);
      const decoded = typeof frame === 'string' ? undefined : converter.decode(frame);
      if (decoded?.ok && Object.keys(decoded.value).length > 0) {
        const keys = Object.keys(decoded.value);
        options.push(
          fc
            .record({ key: fc.constantFrom(...keys), value: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constant(0), fc.constant(-1), fc.double()) })
            .map(({ key, value }) => ({ bytes: converter.encode({ ...decoded.value, [key]: value }), how: `${key}=${value} re-encoded by ${converter.name}` })),
        );
      }
    }
    return fc.oneof(...options).map(({ bytes, how }) => ({ topic, payload: bytes, how }));
  });
}

/**
 * The alarm types a mutant may cause through its profile's rules, judged by
 * decoding it alone: event rules by the events it carries, threshold and score
 * rules by its readings. A message the decoder refuses may cause none.
 */
export function alarmsAllowed(profile: CompiledProfile, mutant: Mutant, deviceId: string, receivedAt = FIXTURE_RECEIVED_AT): Set<string> {
  const message = profile.messageFor(deviceId, fillTopic(mutant.topic, deviceId));
  const outcome = message?.decode(mutant.payload, receivedAt, deviceId);
  const allowed = new Set<string>();
  if (!outcome?.ok) return allowed;
  const events = new Set<string>(outcome.decoded.events.map((e) => e.type));
  const readings = new Set<string>(outcome.decoded.readings.map((r) => r.kind));
  for (const rule of profile.profile.alarmRules) {
    if (rule.kind === 'event' && events.has(rule.event)) allowed.add(rule.alarm);
    if (rule.kind === 'threshold' && readings.has(rule.reading)) allowed.add(rule.alarm);
    if (rule.kind === 'vitals_score' && readings.size > 0) allowed.add(rule.alarm);
  }
  return allowed;
}
