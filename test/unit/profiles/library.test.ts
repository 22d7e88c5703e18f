import { describe, expect, it } from 'vitest';
import { kangbaoTlv } from '../../../src/profiles/converters/kangbao-tlv.ts';
import { registerConverter } from '../../../src/profiles/converters/index.ts';
import { checkProfile, compileProfile } from '../../../src/profiles/registry.ts';
import { clinicalDefaults } from '../../../src/profiles/library.ts';

/** A wristband written with blocks: what it says is only what is its own. */
const band = {
  id: 'test-band',
  vendor: 'v',
  model: 'm',
  kind: 'vitals_wearable',
  heartbeatSeconds: 300,
  messages: [
    {
      name: 'up',
      topic: 'devices/{deviceId}/up',
      format: 'json',
      readings: [
        { use: 'heart_rate', path: 'hr' },
        { use: 'spo2', path: 'o2', range: [70, 100] },
        { use: 'battery', path: 'bat' },
      ],
    },
    { name: 'event', topic: 'devices/{deviceId}/event', format: 'json', requireEvent: true, events: [{ path: 'type', map: { sos: 'sos', fall: 'fall', cancel: 'sos_cancelled' } }] },
  ],
  use: ['sos', 'fall', 'heart-rate', 'spo2', 'battery', 'silence'],
  fixtures: [{ name: 'f', topic: 'devices/{deviceId}/up', payload: { hr: 70, o2: 97, bat: 80 }, expect: { readings: [{ kind: 'heart_rate', value: 70 }, { kind: 'spo2', value: 97 }, { kind: 'battery', value: 80 }] } }],
};

const rules = (raw: unknown) => compileProfile(raw).profile.alarmRules;
const problems = (raw: unknown) => checkProfile(raw).problems.map((p) => `${p.path}: ${p.message}`);

describe('profile blocks', () => {
  it('expands rule blocks in order, with the clinical defaults, before the profile\'s own rules', () => {
    const r = rules({ ...band, alarmRules: [{ kind: 'threshold', reading: 'heart_rate', above: 100, alarm: 'tachycardia_watch', severity: 'info' }] });
    expect(r.map((x) => x.alarm)).toEqual(['sos', 'fall', 'heart_rate_high', 'heart_rate_low', 'spo2_low', 'low_battery', 'device_offline', 'tachycardia_watch']);
    expect(r.find((x) => x.alarm === 'heart_rate_high')).toMatchObject({ kind: 'threshold', ...clinicalDefaults.heart_rate_high });
  });

  it('keeps a cancel only where the device can send one: the band cancels a fall with its SOS cancel key', () => {
    const r = rules(band);
    expect(r.find((x) => x.alarm === 'fall')).toMatchObject({ cancelledBy: ['sos_cancelled'], cancelWindowSeconds: 30 });
    const noCancel = { ...band, messages: [band.messages[0], { ...band.messages[1], events: [{ path: 'type', map: { sos: 'sos', fall: 'fall' } }] }] };
    const fall = rules(noCancel).find((x) => x.alarm === 'fall');
    expect(fall).not.toHaveProperty('cancelledBy');
    expect(fall).not.toHaveProperty('cancelWindowSeconds');
  });

  it("applies the profile's own thresholds over the defaults, switching direction only when told", () => {
    const r = rules({ ...band, thresholds: { heart_rate_high: { above: 125, forSeconds: 60 }, spo2_low: { below: 88 } } });
    expect(r.find((x) => x.alarm === 'heart_rate_high')).toMatchObject({ above: 125, forSeconds: 60, clearAt: 110 });
    expect(r.find((x) => x.alarm === 'spo2_low')).toMatchObject({ below: 88, clearAt: 92 });
    const flipped = rules({ ...band, thresholds: { heart_rate_low: { above: 150 } } }).find((x) => x.alarm === 'heart_rate_low');
    expect(flipped).toMatchObject({ above: 150 });
    expect(flipped).not.toHaveProperty('below');
  });

  it('merges a reading preset under the field\'s own settings', () => {
    const readings = compileProfile(band).profile.messages[0]!.readings;
    expect(readings[0]).toEqual({ kind: 'heart_rate', unit: 'bpm', range: [20, 250], path: 'hr' });
    expect(readings[1]).toMatchObject({ kind: 'spo2', unit: '%', range: [70, 100] });
  });

  it.each([
    [{ use: ['sos', 'pulse'] }, 'use.1: no rule block "pulse"'],
    [{ thresholds: { heart_rate_hgh: { above: 130 } } }, 'thresholds.heart_rate_hgh: no threshold default heart_rate_hgh'],
    [{ thresholds: { respiration_low: { below: 6 } } }, 'thresholds.respiration_low: no block in "use" raises respiration_low'],
    [{ alarmRules: [{ kind: 'event', event: 'sos', alarm: 'sos', severity: 'major' }] }, 'alarmRules.0: the same rule as use.0 (sos) (event:sos:sos)'],
    [{ use: ['sos', 'battery', 'sos'] }, 'use.2 (sos): the same rule as use.0 (sos)'],
    [{ messages: [{ ...band.messages[0], readings: [{ use: 'pulse', path: 'hr' }] }, band.messages[1]] }, 'messages.0.readings.0.use: no reading preset "pulse"'],
    [{ messages: [{ ...band.messages[0], readings: [{ path: 'hr' }] }, band.messages[1]] }, 'give "kind" and "unit", or "use" a reading preset'],
  ])('refuses %j, naming where', (patch, text) => {
    expect(problems({ ...band, ...patch }).join('\n')).toContain(text);
  });
});

describe('converters', () => {
  const cuff = {
    id: 'test-cuff',
    vendor: 'v',
    model: 'm',
    kind: 'bp_monitor',
    heartbeatSeconds: 43200,
    messages: [{ name: 'm', topic: 'cuff/{deviceId}/up', format: 'custom', converter: 'kangbao-tlv', timestamp: { path: 'time', unit: 's' }, readings: [{ use: 'systolic_bp', path: 'sys' }, { kind: 'mean_arterial_pressure', unit: 'mmHg', path: 'map' }] }],
    use: ['blood-pressure'],
    fixtures: [{ name: 'f', topic: 'cuff/{deviceId}/up', payloadHex: kangbaoTlv.encode({ time: 1767225600, sys: 120, dia: 75 }).toString('hex'), expect: { readings: [{ kind: 'systolic_bp', value: 120 }, { kind: 'mean_arterial_pressure', value: 90 }] } }],
  };

  it('decodes through the named converter, fields located by path, computed fields included', () => {
    const profile = compileProfile(cuff);
    const outcome = profile.messages[0]!.decode(kangbaoTlv.encode({ time: 1767225600, sys: 186, dia: 96, pulse: 80 }), 1767225601000);
    expect(outcome).toEqual({ ok: true, decoded: expect.objectContaining({ ts: 1767225600000, readings: [expect.objectContaining({ kind: 'systolic_bp', value: 186 }), expect.objectContaining({ kind: 'mean_arterial_pressure', value: 126 })] }) });
  });

  it("refuses a frame the converter refuses, with the converter's reason", () => {
    const frame = kangbaoTlv.encode({ time: 1767225600, sys: 120, dia: 75 });
    frame[3]! ^= 0x01;
    expect(compileProfile(cuff).messages[0]!.decode(frame, 1767225601000)).toEqual({ ok: false, code: 'bad_checksum', reason: expect.stringMatching(/^kangbao-tlv: crc8-maxim is 0x[0-9a-f]+, computed/) });
  });

  it('names an unknown converter, and a converter on a message that is not custom', () => {
    expect(problems({ ...cuff, messages: [{ ...cuff.messages[0], converter: 'acme-frame' }] }).join()).toContain('converter "acme-frame" is not registered; registered: kangbao-tlv');
    expect(problems({ ...cuff, messages: [{ ...cuff.messages[0], format: 'json' }] }).join()).toContain('messages.0.converter: a "custom" message names its "converter"');
  });

  it('takes converters registered by a deployment, and refuses a second one of the same name', () => {
    registerConverter({ name: 'test-plain', description: 'sys=120 as text', decode: (p) => ({ ok: true, value: { sys: Number(p.toString().split('=')[1]) } }), encode: (v) => Buffer.from(`sys=${String(v.sys)}`) });
    const profile = compileProfile({ ...cuff, messages: [{ ...cuff.messages[0], converter: 'test-plain', timestamp: undefined, readings: [{ use: 'systolic_bp', path: 'sys' }] }], fixtures: [{ name: 'f', topic: 'cuff/{deviceId}/up', payloadText: 'sys=131', expect: { readings: [{ kind: 'systolic_bp', value: 131 }] } }] });
    expect(profile.id).toBe('test-cuff');
    expect(() => registerConverter(kangbaoTlv)).toThrow('already registered');
  });
});
