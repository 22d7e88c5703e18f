import { fillTopic } from '../src/profiles/topics.ts';
import { binaryTypeSize, checksumSize, computeChecksum, position, type BinaryType, type Endian } from '../src/profiles/blocks/binary.ts';
import { unitConversions } from '../src/profiles/quantities.ts';
import { getConverter } from '../src/profiles/converters/index.ts';
import type { DeviceProfile, EventSource, MessageSpec, ReadingField } from '../src/profiles/schema.ts';

/** What a simulated device says, in canonical terms; the encoder turns it into its vendor's bytes. */
export interface Outgoing {
  /** Device time, epoch ms. */
  ts: number;
  /** Canonical kind → value in the canonical unit (bpm, %, mmHg, °C …). */
  readings?: Record<string, number>;
  /** Canonical device event types (sos, fall, smoke …); most messages carry one. */
  events?: string[];
  seq?: number;
  online?: boolean;
}

export interface EncodedMessage {
  topic: string;
  payload: Buffer;
}

type Location = { path?: string | undefined; key?: string | undefined; offset?: number | undefined; type?: BinaryType | string | undefined; endian?: Endian | string | undefined; bit?: number | undefined };

/** Every conversion is linear (a·v + b), so it inverts exactly from two points. */
function fromCanonical(unit: string, value: number): number {
  const convert = unitConversions[unit]!.convert;
  const b = convert(0);
  const a = convert(1) - b;
  return (value - b) / a;
}

/** The raw value a reading field carries for a canonical value: units, then scale and offset, then the enum map. */
function rawReading(field: ReadingField, value: number): number | string {
  const raw = (fromCanonical(field.unit, value) - (field.add ?? 0)) / (field.scale ?? 1);
  if (field.map) {
    const entry = Object.entries(field.map).find(([, v]) => Math.abs(v - raw) < 1e-9);
    if (!entry) throw new Error(`${field.kind}: no raw value of the map means ${value}`);
    return entry[0];
  }
  return Math.round(raw * 1e6) / 1e6;
}

function rawEvent(source: EventSource, event: string): number | string | boolean | 'bit' | undefined {
  if (source.map) return Object.entries(source.map).find(([, v]) => v === event)?.[0];
  if (source.event !== event) return undefined;
  if (source.equals !== undefined) return source.equals;
  return source.bit !== undefined ? 'bit' : undefined;
}

/** Can this message say what the device has to say? */
export function canCarry(spec: MessageSpec, out: Outgoing): boolean {
  for (const event of out.events ?? []) if (!spec.events.some((e) => rawEvent(e, event) !== undefined)) return false;
  if (out.online !== undefined && !spec.online) return false;
  if (out.readings) {
    const kinds = new Set(spec.readings.map((r) => r.kind));
    if (!Object.keys(out.readings).every((k) => kinds.has(k as ReadingField['kind']))) return false;
  }
  return true;
}

/** The first message of the profile that can carry this (events and status first: they have their own topics). */
export function pickMessage(profile: DeviceProfile, out: Outgoing): MessageSpec {
  const candidates = profile.messages.filter((m) => canCarry(m, out));
  const pick = (out.events?.length ? candidates.find((m) => m.requireEvent) : undefined) ?? candidates.find((m) => out.online !== undefined || !m.online) ?? candidates[0];
  if (!pick) throw new Error(`${profile.id}: no message carries ${JSON.stringify(out)}`);
  return pick;
}

/** Writes values into a frame: JSON object, key=value pairs or binary. */
class Frame {
  readonly json: Record<string, unknown> = {};
  readonly kv = new Map<string, string>();
  readonly words = new Map<number, { type: BinaryType; endian: Endian; value: number }>();
  constructor(readonly spec: MessageSpec) {}

  set(loc: Location, value: number | string | boolean, bit = false): void {
    switch (this.spec.format) {
      case 'json':
      case 'custom': {
        const parts = loc.path!.split('.');
        let node = this.json;
        for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
        node[parts[parts.length - 1]!] = value;
        return;
      }
      case 'kv':
        this.kv.set(loc.key!, typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
        return;
      case 'binary': {
        const type = loc.type as BinaryType;
        const endian = (loc.endian ?? this.spec.endian) as Endian;
        const prev = this.words.get(loc.offset!)?.value ?? 0;
        const n = typeof value === 'boolean' ? Number(value) : Number(value);
        this.words.set(loc.offset!, { type, endian, value: bit || loc.bit !== undefined ? (n ? prev | (1 << loc.bit!) : prev & ~(1 << loc.bit!)) : n });
      }
    }
  }

  bytes(): Buffer {
    if (this.spec.format === 'json') return Buffer.from(JSON.stringify(this.json));
    if (this.spec.format === 'custom') {
      // The profile's converter writes its own frame (records, checksum) from the values at their paths.
      const converter = getConverter(this.spec.converter!);
      if (!converter) throw new Error(`converter ${this.spec.converter} is not registered`);
      return travel(converter.encode(this.json), this.spec.encoding);
    }
    if (this.spec.format === 'kv') return Buffer.from([...this.kv].map(([k, v]) => `${k}${this.spec.assign}${v}`).join(this.spec.separator));
    const checksum = this.spec.checksum;
    let length = this.spec.length?.min ?? 0;
    for (const [offset, w] of this.words) length = Math.max(length, offset + binaryTypeSize[w.type]);
    if (checksum && checksum.at >= 0) length = Math.max(length, checksum.at + checksumSize[checksum.algorithm]);
    const buf = Buffer.alloc(length);
    for (const [offset, w] of this.words) writeBinary(buf, offset, w.type, w.endian, w.value);
    if (checksum) {
      const sum = computeChecksum(checksum.algorithm, buf.subarray(checksum.from, position(checksum.to, length)));
      const at = position(checksum.at, length);
      if (checksum.algorithm === 'crc16_modbus') buf.writeUInt16LE(sum, at);
      else buf.writeUInt8(sum, at);
    }
    return travel(buf, this.spec.encoding);
  }
}

/** How the frame travels in the MQTT payload: raw bytes, hex text or base64 text. */
function travel(buf: Buffer, encoding: MessageSpec['encoding']): Buffer {
  if (encoding === 'hex') return Buffer.from(buf.toString('hex').toUpperCase());
  if (encoding === 'base64') return Buffer.from(buf.toString('base64'));
  return buf;
}

function writeBinary(buf: Buffer, offset: number, type: BinaryType, endian: Endian, value: number): void {
  const be = endian === 'big';
  const v = type === 'f32' ? value : Math.round(value);
  const wrap = (bits: number, signed: boolean) => {
    const m = 2 ** bits;
    let x = ((v % m) + m) % m;
    if (signed && x >= m / 2) x -= m;
    return x;
  };
  switch (type) {
    case 'u8':
      return void buf.writeUInt8(wrap(8, false), offset);
    case 'i8':
      return void buf.writeInt8(wrap(8, true), offset);
    case 'u16':
      return void (be ? buf.writeUInt16BE(wrap(16, false), offset) : buf.writeUInt16LE(wrap(16, false), offset));
    case 'i16':
      return void (be ? buf.writeInt16BE(wrap(16, true), offset) : buf.writeInt16LE(wrap(16, true), offset));
    case 'u32':
      return void (be ? buf.writeUInt32BE(wrap(32, false), offset) : buf.writeUInt32LE(wrap(32, false), offset));
    case 'i32':
      return void (be ? buf.writeInt32BE(wrap(32, true), offset) : buf.writeInt32LE(wrap(32, true), offset));
    case 'f32':
      return void (be ? buf.writeFloatBE(v, offset) : buf.writeFloatLE(v, offset));
  }
}

/**
 * Encodes what a device says in its own profile's format: the inverse of the
 * decoder, built from the same profile data (so a simulated smoke detector
 * sends a checksummed binary frame, a gas detector key=value text).
 */
export function encode(profile: DeviceProfile, deviceId: string, out: Outgoing, spec = pickMessage(profile, out)): EncodedMessage {
  const frame = new Frame(spec);
  for (const m of spec.magic ?? []) frame.set({ offset: m.offset, type: m.type }, m.equals);
  if (spec.timestamp) {
    const unit = spec.timestamp.unit;
    frame.set(spec.timestamp, unit === 'ms' ? out.ts : unit === 's' ? Math.floor(out.ts / 1000) : new Date(out.ts).toISOString());
  }
  for (const field of spec.readings) {
    const value = out.readings?.[field.kind];
    if (value !== undefined) frame.set(field, rawReading(field, value));
    else if (spec.format === 'binary' && field.bit === undefined) frame.set(field, field.ignore?.[0] ?? 0);
  }
  for (const event of out.events ?? []) {
    for (const source of spec.events) {
      const raw = rawEvent(source, event);
      if (raw === undefined) continue;
      if (raw === 'bit') frame.set(source, 1, true);
      else frame.set(source, spec.format === 'binary' ? Number(raw) : raw);
      break;
    }
  }
  if (out.seq !== undefined && spec.seq) frame.set(spec.seq, out.seq);
  if (out.online !== undefined && spec.online) frame.set(spec.online, out.online);
  return { topic: fillTopic(spec.topic, deviceId), payload: frame.bytes() };
}
