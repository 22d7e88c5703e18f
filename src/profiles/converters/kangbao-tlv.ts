import type { Converter, ConverterResult } from './registry.ts';

/**
 * Kangbao home blood-pressure monitors (KB-BP2) send one binary frame per
 * measurement: 0xBB, a count of records, then TLV records (tag u8, length u8,
 * value big-endian unsigned), then a CRC-8/MAXIM (Dallas 1-Wire: polynomial
 * 0x31 reflected, initial 0) over every byte before it. Records may come in
 * any order and unknown tags are skipped, which a fixed-offset profile cannot
 * express. The mean arterial pressure (MAP ≈ DIA + (SYS − DIA) / 3) is
 * computed here for the profile to read like any other field.
 */

const HEADER = 0xbb;

/** Tag → field name in the decoded object. */
const tags = new Map<number, string>([
  [0x01, 'time'],
  [0x02, 'sys'],
  [0x03, 'dia'],
  [0x04, 'pulse'],
  [0x05, 'battery'],
  [0x06, 'flags'],
]);
const tagOf = new Map([...tags].map(([tag, name]) => [name, tag]));
/** Bytes of each field when encoding. */
const widths: Record<string, number> = { time: 4, sys: 2, dia: 2, pulse: 1, battery: 1, flags: 1 };

export function crc8maxim(bytes: Buffer): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0x8c : crc >>> 1;
  }
  return crc;
}

function decode(payload: Buffer): ConverterResult {
  if (payload.length < 3) return { ok: false, code: 'bad_length', reason: `frame is ${payload.length} bytes, expected at least 3` };
  if (payload[0] !== HEADER) return { ok: false, code: 'bad_magic', reason: `byte 0 is 0x${payload[0]!.toString(16)}, expected 0xbb` };
  const body = payload.subarray(0, payload.length - 1);
  const crc = crc8maxim(body);
  if (crc !== payload[payload.length - 1]) return { ok: false, code: 'bad_checksum', reason: `crc8-maxim is 0x${payload[payload.length - 1]!.toString(16)}, computed 0x${crc.toString(16)}` };
  const count = payload[1]!;
  const value: Record<string, unknown> = {};
  let at = 2;
  for (let i = 0; i < count; i++) {
    if (at + 2 > body.length) return { ok: false, code: 'bad_frame', reason: `record ${i + 1} of ${count} starts past the end of the frame` };
    const tag = body[at]!;
    const length = body[at + 1]!;
    if (length < 1 || length > 6 || at + 2 + length > body.length) return { ok: false, code: 'bad_frame', reason: `record ${i + 1} (tag 0x${tag.toString(16)}) has length ${length}, which does not fit the frame` };
    const name = tags.get(tag);
    if (name !== undefined) value[name] = body.readUIntBE(at + 2, length);
    at += 2 + length;
  }
  if (at !== body.length) return { ok: false, code: 'bad_frame', reason: `${body.length - at} bytes after the last of ${count} records` };
  if (typeof value.sys === 'number' && typeof value.dia === 'number') value.map = Math.round((value.dia + (value.sys - value.dia) / 3) * 10) / 10;
  if (typeof value.flags === 'number') value.irregular = (value.flags & 1) === 1;
  return { ok: true, value };
}

function encode(value: Record<string, unknown>): Buffer {
  const records: Buffer[] = [];
  for (const [name, width] of Object.entries(widths)) {
    let v = value[name];
    if (name === 'flags' && v === undefined && value.irregular !== undefined) v = value.irregular ? 1 : 0;
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    const record = Buffer.alloc(2 + width);
    record[0] = tagOf.get(name)!;
    record[1] = width;
    const range = 2 ** (8 * width);
    record.writeUIntBE(((Math.round(v) % range) + range) % range, 2, width); // the field's width, as the device's firmware would
    records.push(record);
  }
  const body = Buffer.concat([Buffer.from([HEADER, records.length]), ...records]);
  return Buffer.concat([body, Buffer.from([crc8maxim(body)])]);
}

export const kangbaoTlv: Converter = {
  name: 'kangbao-tlv',
  description: 'Kangbao KB-BP2: 0xBB, record count, TLV records (any order), CRC-8/MAXIM; adds the mean arterial pressure (map) and the irregular-heartbeat flag',
  decode,
  encode,
};
