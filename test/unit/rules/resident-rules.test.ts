import { describe, expect, it } from 'vitest';
import type { DeviceEventType } from '../../../src/core/model.ts';
import { inactivityRule } from '../../../src/rules/inactivity-rule.ts';
import { inWindow, localMinutes } from '../../../src/rules/local-time.ts';
import { nightBedExitRule } from '../../../src/rules/night-bed-exit-rule.ts';
import type { AlarmIntent, Rule, RuleInput } from '../../../src/rules/types.ts';

/** Shanghai is UTC+8: 14:00 UTC is 22:00 local. */
const local = (hhmm: string, day = 1) => {
  const [h, m] = hhmm.split(':').map(Number);
  return Date.UTC(2026, 0, day, h! - 8, m!);
};
const event = (type: DeviceEventType, at: number): RuleInput => ({ kind: 'event', event: { deviceId: 'bed-1', type, ts: at } });
const tick: RuleInput = { kind: 'tick', lastSeen: null };

function run<S>(rule: Rule<S>, steps: Array<[RuleInput, number]>): string[] {
  let state = rule.initial();
  return steps.map(([input, now]) => {
    const r = rule.evaluate(state, input, now);
    if (r === null) return '-';
    state = r.state;
    return r.intents.map((i: AlarmIntent) => i.action).join(',') || '-';
  });
}

describe('local time', () => {
  it('reads the resident\'s wall clock and windows that wrap midnight', () => {
    expect(localMinutes(local('22:00'), 'Asia/Shanghai')).toBe(22 * 60);
    expect(localMinutes(local('22:00'), 'Europe/London')).toBe(14 * 60);
    expect(inWindow(23 * 60, 22 * 60, 6 * 60)).toBe(true);
    expect(inWindow(5 * 60 + 59, 22 * 60, 6 * 60)).toBe(true);
    expect(inWindow(6 * 60, 22 * 60, 6 * 60)).toBe(false);
    expect(inWindow(12 * 60, 8 * 60, 20 * 60)).toBe(true);
  });
});

describe('night bed exit', () => {
  const rule = nightBedExitRule({ from: '22:00', to: '06:00', returnMinutes: 20, timeZone: 'Asia/Shanghai' });

  it('raises when out of bed at night and not back within 20 minutes, and clears on return', () => {
    const out = local('02:10', 2);
    expect(run(rule, [[event('bed_exit', out), out], [tick, out + 19 * 60_000], [tick, out + 20 * 60_000], [tick, out + 30 * 60_000], [event('bed_enter', out + 35 * 60_000), out + 35 * 60_000]])).toEqual([
      '-',
      '-',
      'raise',
      '-',
      'clear',
    ]);
  });

  it('does nothing when the resident is back in time', () => {
    const out = local('23:30');
    expect(run(rule, [[event('bed_exit', out), out], [event('bed_enter', out + 19 * 60_000), out + 19 * 60_000], [tick, out + 60 * 60_000]])).toEqual(['-', '-', '-']);
  });

  it('ignores getting up by day, with the window edges at 22:00 and 06:00', () => {
    for (const [time, expected] of [['21:59', '-'], ['22:00', 'raise'], ['05:59', 'raise'], ['06:00', '-'], ['14:00', '-']] as const) {
      const out = local(time, 3);
      expect(run(rule, [[event('bed_exit', out), out], [tick, out + 25 * 60_000]])[1], time).toBe(expected);
    }
  });

  it('reads the bed sensor\'s in_bed readings too', () => {
    const out = local('03:00');
    const reading = (value: number, at: number): RuleInput => ({ kind: 'reading', reading: { deviceId: 'bed-1', kind: 'in_bed', value, unit: 'bool', ts: at } });
    expect(run(rule, [[reading(1, out - 60_000), out - 60_000], [reading(0, out), out], [reading(0, out + 60_000), out + 60_000], [tick, out + 21 * 60_000]])).toEqual(['-', '-', '-', 'raise']);
  });
});

describe('inactivity (wellbeing check)', () => {
  const motion = (at: number): RuleInput => ({ kind: 'event', event: { deviceId: 'pir-1', type: 'motion', ts: at } });

  it('raises after 12 quiet hours, not before, and clears on the next movement', () => {
    const rule = inactivityRule({ hours: 12, timeZone: 'Asia/Shanghai' });
    const t = local('08:00');
    expect(run(rule, [[motion(t), t], [tick, t + 12 * 3_600_000 - 1], [tick, t + 12 * 3_600_000], [tick, t + 13 * 3_600_000], [motion(t + 14 * 3_600_000), t + 14 * 3_600_000]])).toEqual([
      '-',
      '-',
      'raise',
      '-',
      'clear',
    ]);
  });

  it('watches nobody whose devices never reported activity', () => {
    const rule = inactivityRule({ hours: 1, timeZone: 'Asia/Shanghai' });
    expect(run(rule, [[tick, local('12:00')]])).toEqual(['-']);
  });

  it('with a daytime window, raises only inside it', () => {
    const rule = inactivityRule({ hours: 4, daytime: { from: '08:00', to: '20:00' }, timeZone: 'Asia/Shanghai' });
    const last = local('19:00');
    // Four quiet hours end at 23:00, outside the window: nothing until 08:00 the next morning.
    expect(run(rule, [[motion(last), last], [tick, local('23:00')], [tick, local('07:59', 2)], [tick, local('08:00', 2)]])).toEqual(['-', '-', '-', 'raise']);
  });
});
