import { describe, expect, it } from 'vitest';
import { bitOf, computeChecksum, frameBytes, readBinary } from '../../../src/profiles/blocks/binary.ts';
import { compilePath, parseJsonObject } from '../../../src/profiles/blocks/json.ts';
import { parseKeyValue } from '../../../src/profiles/blocks/kv.ts';
import { compileMessage } from '../../../src/profiles/decoder.ts';
import { compileProfile, ProfileError } from '../../../src/profiles/registry.ts';
import { messageSchema } from '../../../src/profiles/schema.ts';

const NOW = Date.UTC(2026, 0, 1);
const message = (spec: Record<string, unknown>) => compileMessage(messageSchema.parse({ name: 'm', topic: 'd/{deviceId}/up', ...spec }));
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('binary block', () => {
  it('reads every integer type in both byte orders', () => {
    const b = Buffer.from([0xff, 0xfe, 0x01, 0x02, 0x03, 0x04]);
    expect(readBinary(b, 0, 'u8', 'big')).toBe(255);
    expect(readBinary(b, 0, 'i8', 'big')).toBe(-1);
    expect(readBinary(b, 2, 'u16', 'big')).toBe(0x0102);
    expect(readBinary(b, 2, 'u16', 'little')).toBe(0x0201);
    expect(readBinary(b, 0, 'i16', 'big')).toBe(-2);
    expect(readBinary(b, 2, 'u32', 'big')).toBe(0x01020304);
    expect(readBinary(b, 2, 'i32', 'little')).toBe(0x04030201);
    expect(readBinary(b, 4, 'u32', 'big')).toBeUndefined(); // past the end
    expect(readBinary(Buffer.from([0x42, 0x28, 0, 0]), 0, 'f32', 'big')).toBe(42);
  });

  it('takes single bits', () => {
    expect([0, 1, 2, 3].map((i) => bitOf(0b1010, i))).toEqual([0, 1, 0, 1]);
  });

  it('computes the standard check values over "123456789"', () => {
    const data = Buffer.from('123456789');
    expect(computeChecksum('crc16_modbus', data)).toBe(0x4b37); // CRC-16/MODBUS check value
    expect(computeChecksum('sum8', data)).toBe(0xdd);
    expect(computeChecksum('xor8', data)).toBe(0x31);
  });

  it('decodes hex and base64 payloads and refuses bad text', () => {
    expect(frameBytes(Buffer.from('0a 0B ff'), 'hex')).toEqual(Buffer.from([0x0a, 0x0b, 0xff]));
    expect(frameBytes(Buffer.from('AQID'), 'base64')).toEqual(Buffer.from([1, 2, 3]));
    expect(frameBytes(Buffer.from('abc'), 'hex')).toBe('payload is not valid hex');
    expect(frameBytes(Buffer.from('@@'), 'base64')).toBe('payload is not valid base64');
  });
});

describe('JSON and key=value blocks', () => {
  it('follows dot paths through objects and arrays', () => {
    const root = { bp: { sys: 120 }, list: [{ hr: 70 }] };
    expect(compilePath('bp.sys')(root)).toBe(120);
    expect(compilePath('list.0.hr')(root)).toBe(70);
    expect(compilePath('bp.sys.deeper')(root)).toBeUndefined();
    expect(compilePath('missing.x')(root)).toBeUndefined();
  });

  it('accepts only JSON objects', () => {
    expect(parseJsonObject(Buffer.from('null'))).toEqual({ ok: false, reason: 'expected a JSON object, got null' });
    expect(parseJsonObject(Buffer.from('"x"'))).toEqual({ ok: false, reason: 'expected a JSON object, got string' });
    expect(parseJsonObject(Buffer.from('{"a":1}'))).toEqual({ ok: true, value: { a: 1 } });
  });

  it('parses key=value text and rejects malformed pairs and repeated keys', () => {
    expect(parseKeyValue(Buffer.from(' gas=12 ; alarm=1;'), ';', '=')).toMatchObject({ ok: true, value: { gas: '12', alarm: '1' } });
    expect(parseKeyValue(Buffer.from('gas=1;gas=2'), ';', '=')).toEqual({ ok: false, reason: 'key "gas" appears twice' });
    expect(parseKeyValue(Buffer.from('gas:1'), ';', '=')).toMatchObject({ ok: false });
    expect(parseKeyValue(Buffer.from('  '), ';', '=')).toEqual({ ok: false, reason: 'empty key=value payload' });
  });
});

describe('message decoder', () => {
  it('converts units, scales and offsets to the canonical unit', () => {
    const decode = message({
      format: 'json',
      readings: [
        { kind: 'body_temperature', unit: '°F', path: 't' },
        { kind: 'systolic_bp', unit: 'kPa', path: 'p', scale: 0.1 },
        { kind: 'ambient_temperature', unit: '°C', path: 'a', scale: 0.5, add: -40 },
      ],
    });
    const out = decode(json({ t: 98.6, p: 160, a: 130 }), NOW, 'dev-1');
    expect(out).toMatchObject({ ok: true });
    if (!out.ok) return;
    expect(out.decoded.readings).toEqual([
      { deviceId: 'dev-1', kind: 'body_temperature', value: 37, unit: '°C', ts: NOW },
      { deviceId: 'dev-1', kind: 'systolic_bp', value: 120.009872, unit: 'mmHg', ts: NOW },
      { deviceId: 'dev-1', kind: 'ambient_temperature', value: 25, unit: '°C', ts: NOW },
    ]);
  });

  it('skips "no measurement" values and missing fields, and rejects values outside the range', () => {
    const decode = message({ format: 'json', readings: [{ kind: 'heart_rate', unit: 'bpm', path: 'hr', ignore: [0, 255], range: [30, 200] }] });
    const values = [0, 255, undefined, 29, 30, 200, 201].map((hr) => {
      const out = decode(json({ hr }), NOW);
      if (!out.ok) return 'rejected';
      return out.decoded.readings[0]?.value ?? (out.decoded.rejected[0]?.code ?? 'none');
    });
    expect(values).toEqual(['none', 'none', 'none', 'out_of_range', 30, 200, 'out_of_range']);
  });

  it('reads seconds, milliseconds and ISO timestamps, and falls back to the receive time with a reason', () => {
    const s = message({ format: 'json', timestamp: { path: 't', unit: 's' }, readings: [{ kind: 'battery', unit: '%', path: 'b' }] });
    const iso = message({ format: 'json', timestamp: { path: 't', unit: 'iso' }, readings: [{ kind: 'battery', unit: '%', path: 'b' }] });
    const ts = (o: ReturnType<typeof s>) => (o.ok ? o.decoded.ts : NaN);
    expect(ts(s(json({ t: NOW / 1000 - 60, b: 50 }), NOW))).toBe(NOW - 60_000);
    expect(ts(iso(json({ t: '2025-12-31T23:59:00+08:00', b: 50 }), NOW))).toBe(Date.parse('2025-12-31T15:59:00Z'));
    const future = s(json({ t: NOW / 1000 + 2 * 86_400, b: 50 }), NOW);
    expect(ts(future)).toBe(NOW);
    expect(future.ok && future.decoded.rejected[0]?.code).toBe('bad_timestamp');
    const garbage = iso(json({ t: 'tuesday', b: 50 }), NOW);
    expect(garbage.ok && garbage.decoded.rejected[0]?.reason).toContain('not an ISO 8601 time');
    // A later message without a bad timestamp carries no stale rejection.
    const clean = s(json({ t: NOW / 1000, b: 50 }), NOW);
    expect(clean.ok && clean.decoded.rejected).toEqual([]);
  });

  it('maps event codes, carries seq, and rejects a message whose required event is unknown', () => {
    const decode = message({ format: 'json', requireEvent: true, events: [{ path: 'type', map: { SOS: 'sos' } }], seq: { path: 'seq' } });
    const ok = decode(json({ type: 'SOS', seq: 7 }), NOW);
    expect(ok.ok && ok.decoded.events).toEqual([{ type: 'sos', seq: 7 }]);
    expect(decode(json({ type: 'sos', seq: 8 }), NOW)).toMatchObject({ ok: false, code: 'unknown_event' });
    expect(decode(json({ seq: 9 }), NOW)).toMatchObject({ ok: false, code: 'unknown_event', reason: 'no recognised event in the message' });
  });

  it('reads the online flag of status messages', () => {
    const decode = message({ format: 'json', online: { path: 'state' } });
    const online = (v: unknown) => {
      const o = decode(json({ state: v }), NOW);
      return o.ok ? o.decoded.online : 'rejected';
    };
    expect([true, 'online', 1, false, 'offline', 0, 'maybe'].map(online)).toEqual([true, true, true, false, false, false, undefined]);
  });

  it('checks binary frame length, header and checksum before reading fields', () => {
    const decode = message({
      format: 'binary',
      length: { min: 4, max: 4 },
      magic: [{ offset: 0, type: 'u8', equals: 0xaa }],
      checksum: { algorithm: 'xor8', from: 0, to: -1, at: -1 },
      readings: [{ kind: 'battery', unit: '%', offset: 1, type: 'u8' }],
      events: [{ offset: 2, type: 'u8', bit: 7, event: 'sos' }],
    });
    const frame = (bytes: number[]) => Buffer.from([...bytes, bytes.reduce((a, b) => a ^ b, 0)]);
    const good = decode(frame([0xaa, 80, 0x80]), NOW);
    expect(good.ok && good.decoded.readings.map((r) => r.value)).toEqual([80]);
    expect(good.ok && good.decoded.events).toEqual([{ type: 'sos' }]);
    expect(decode(frame([0xab, 80, 0]), NOW)).toMatchObject({ ok: false, code: 'bad_magic' });
    expect(decode(Buffer.from([0xaa, 80, 0, 0]), NOW)).toMatchObject({ ok: false, code: 'bad_checksum' });
    expect(decode(Buffer.from([0xaa, 80]), NOW)).toMatchObject({ ok: false, code: 'bad_length' });
  });
});

describe('profile validation', () => {
  const base = {
    id: 'test-device',
    vendor: 'v',
    model: 'm',
    kind: 'motion_sensor',
    heartbeatSeconds: 60,
    messages: [{ name: 'up', topic: 'devices/{deviceId}/up', format: 'json', readings: [{ kind: 'motion', unit: 'bool', path: 'm' }] }],
    fixtures: [{ name: 'f', topic: 'devices/{deviceId}/up', payload: { m: 1 }, expect: { readings: [{ kind: 'motion', value: 1 }] } }],
  };

  it('accepts a minimal profile', () => {
    expect(compileProfile(base).id).toBe('test-device');
  });

  it.each([
    [{ messages: [{ ...base.messages[0], topic: 'devices/all/up' }] }, 'messages.0.topic'],
    [{ messages: [{ ...base.messages[0], readings: [{ kind: 'heart_rate', unit: '°C', path: 'hr' }] }] }, 'unit °C cannot express heart_rate'],
    [{ messages: [{ ...base.messages[0], readings: [{ kind: 'motion', unit: 'bool', offset: 1, type: 'u8' }] }] }, 'JSON messages locate values with "path"'],
    [{ fixtures: [] }, 'every profile ships at least one fixture'],
    [{ id: 'Bad Id' }, 'id: lower-case letters, digits and dashes'],
    [{ messages: [base.messages[0], base.messages[0]] }, 'used by two messages'],
  ])('rejects %j naming the problem', (patch, text) => {
    expect(() => compileProfile({ ...base, ...patch }, 'test.json')).toThrow(ProfileError);
    expect(() => compileProfile({ ...base, ...patch }, 'test.json')).toThrow(text);
  });
});
