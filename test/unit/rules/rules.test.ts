import { describe, expect, it } from 'vitest';
import type { DeviceEvent, DeviceEventType, Reading } from '../../../src/core/model.ts';
import { eventRule } from '../../../src/rules/event-rule.ts';
import { silenceRule } from '../../../src/rules/silence-rule.ts';
import { thresholdRule } from '../../../src/rules/threshold-rule.ts';
import type { AlarmIntent, Rule, RuleInput } from '../../../src/rules/types.ts';
import { earlyWarningScore, parameterScore, scoreLevel, vitalsScoreRule } from '../../../src/rules/vitals-score-rule.ts';

const T0 = Date.UTC(2026, 0, 1, 22, 0, 0);
const reading = (kind: string, value: number, atSeconds: number): RuleInput => ({ kind: 'reading', reading: { deviceId: 'd', kind, value, unit: 'x', ts: T0 + atSeconds * 1000 } satisfies Reading });
const event = (type: DeviceEventType, atSeconds: number): RuleInput => ({ kind: 'event', event: { deviceId: 'd', type, ts: T0 + atSeconds * 1000 } satisfies DeviceEvent });

/** Feeds inputs to a rule in order, like the evaluator, and returns the intents each produced. */
function run<S>(rule: Rule<S>, inputs: Array<[RuleInput, number?]>): AlarmIntent[][] {
  let state = rule.initial();
  return inputs.map(([input, nowSeconds]) => {
    const result = rule.evaluate(state, input, T0 + (nowSeconds ?? 0) * 1000);
    if (result === null) return [];
    state = result.state;
    return result.intents;
  });
}
const actions = (steps: AlarmIntent[][]) => steps.map((s) => s.map((i) => i.action).join(',') || '-');

describe('event rule', () => {
  const fall = eventRule({ event: 'fall', alarm: 'fall', severity: 'critical', cancelledBy: ['fall_cancelled'], cancelWindowSeconds: 30 });

  it('raises a critical alarm for the event at once', () => {
    const [intents] = run(fall, [[event('fall', 0)]]);
    expect(intents).toEqual([{ action: 'raise', alarm: 'fall', severity: 'critical', detail: { event: 'fall', at: T0 } }]);
  });

  it('cancels within the window (29 s) and not after it (31 s)', () => {
    expect(actions(run(fall, [[event('fall', 0)], [event('fall_cancelled', 29)]]))).toEqual(['raise', 'cancel']);
    expect(actions(run(fall, [[event('fall', 0)], [event('fall_cancelled', 30)]]))).toEqual(['raise', 'cancel']);
    const late = run(fall, [[event('fall', 0)], [event('fall_cancelled', 31)]]);
    expect(actions(late)).toEqual(['raise', 'note']);
    expect(late[1]![0]).toMatchObject({ kind: 'cancel_too_late', detail: { afterSeconds: 31, windowSeconds: 30 } });
  });

  it('ignores a cancel with nothing to cancel, and a second cancel', () => {
    expect(actions(run(fall, [[event('fall_cancelled', 0)], [event('fall', 10)], [event('fall_cancelled', 12)], [event('fall_cancelled', 13)]]))).toEqual(['-', 'raise', 'cancel', '-']);
  });

  it('clears on a clearing event when the rule has one', () => {
    const water = eventRule({ event: 'water', alarm: 'water_leak', severity: 'major', clearedBy: ['water_cleared'] });
    expect(actions(run(water, [[event('water', 0)], [event('water_cleared', 600)]]))).toEqual(['raise', 'clear']);
  });
});

describe('threshold rule with duration and hysteresis', () => {
  const hr = thresholdRule({ reading: 'heart_rate', above: 120, forSeconds: 120, clearAt: 110, alarm: 'heart_rate_high', severity: 'major' });

  it('does not raise just under the duration, raises at it', () => {
    expect(actions(run(hr, [[reading('heart_rate', 130, 0)], [reading('heart_rate', 131, 119)]]))).toEqual(['-', '-']);
    expect(actions(run(hr, [[reading('heart_rate', 130, 0)], [reading('heart_rate', 131, 60)], [reading('heart_rate', 132, 120)]]))).toEqual(['-', '-', 'raise']);
  });

  it('restarts the duration when the value dips back in between', () => {
    expect(actions(run(hr, [[reading('heart_rate', 130, 0)], [reading('heart_rate', 100, 60)], [reading('heart_rate', 130, 100)], [reading('heart_rate', 130, 200)], [reading('heart_rate', 130, 220)]]))).toEqual([
      '-',
      '-',
      '-',
      '-',
      'raise',
    ]);
  });

  it('treats the threshold as exclusive: exactly 120 is not above 120', () => {
    expect(actions(run(hr, [[reading('heart_rate', 120, 0)], [reading('heart_rate', 120, 500)]]))).toEqual(['-', '-']);
  });

  it('clears only at the hysteresis value, once, and can raise again', () => {
    const steps = run(hr, [
      [reading('heart_rate', 130, 0)],
      [reading('heart_rate', 130, 120)], // raise
      [reading('heart_rate', 115, 180)], // below 120 but above 110: still on
      [reading('heart_rate', 110, 240)], // clears
      [reading('heart_rate', 100, 300)],
      [reading('heart_rate', 125, 400)],
      [reading('heart_rate', 125, 520)], // raise again
    ]);
    expect(actions(steps)).toEqual(['-', 'raise', '-', 'clear', '-', '-', 'raise']);
  });

  it('raises at once when the duration is zero, and ignores other readings', () => {
    const spo2 = thresholdRule({ reading: 'spo2', below: 90, forSeconds: 0, alarm: 'spo2_low', severity: 'major' });
    expect(actions(run(spo2, [[reading('heart_rate', 50, 0)], [reading('spo2', 90, 1)], [reading('spo2', 89, 2)]]))).toEqual(['-', '-', 'raise']);
  });

  it('raises low battery under 15 % and clears at 25 %', () => {
    const battery = thresholdRule({ reading: 'battery', below: 15, forSeconds: 0, clearAt: 25, alarm: 'low_battery', severity: 'minor' });
    expect(actions(run(battery, [[reading('battery', 15, 0)], [reading('battery', 14, 1)], [reading('battery', 20, 2)], [reading('battery', 25, 3)]]))).toEqual(['-', 'raise', '-', 'clear']);
  });

  it('raises "wearable removed" after 30 minutes off the wrist', () => {
    const worn = thresholdRule({ reading: 'worn', below: 0.5, forSeconds: 1800, alarm: 'wearable_removed', severity: 'minor' });
    expect(actions(run(worn, [[reading('worn', 0, 0)], [reading('worn', 0, 1799)], [reading('worn', 0, 1800)], [reading('worn', 1, 1900)]]))).toEqual(['-', '-', 'raise', 'clear']);
  });
});

describe('silence rule', () => {
  const silence = silenceRule({ heartbeatSeconds: 300, heartbeats: 3, alarm: 'device_offline', severity: 'minor' });
  const tick = (lastSeenSeconds: number | null): RuleInput => ({ kind: 'tick', lastSeen: lastSeenSeconds === null ? null : T0 + lastSeenSeconds * 1000 });

  it('raises after 3 heartbeats of silence, not a second earlier, and clears when heard again', () => {
    expect(actions(run(silence, [[tick(0), 899], [tick(0), 900], [tick(0), 1000], [tick(950), 1001]]))).toEqual(['-', 'raise', '-', 'clear']);
  });

  it('after the gateway starts, gives a device 3 heartbeats to be heard again; an alarm raised before is not cleared by the start', () => {
    const since = (lastSeenSeconds: number, startSeconds: number): RuleInput => ({ kind: 'tick', lastSeen: T0 + lastSeenSeconds * 1000, listeningSince: T0 + startSeconds * 1000 });
    // Last heard at 0, the gateway down from 100 to 2,000: silent from 2,000 on, alarm at 2,900.
    expect(actions(run(silence, [[since(0, 2000), 2001], [since(0, 2000), 2899], [since(0, 2000), 2900]]))).toEqual(['-', '-', 'raise']);
    // Already offline before the restart: still offline after it, until heard.
    expect(actions(run(silence, [[tick(0), 900], [since(0, 2000), 2001], [since(2500, 2000), 2501]]))).toEqual(['raise', '-', 'clear']);
  });

  it('says nothing about a device never heard since onboarding', () => {
    expect(actions(run(silence, [[tick(null), 100_000]]))).toEqual(['-']);
  });
});

describe('vitals early-warning score (NEWS2 bands)', () => {
  it.each([
    ['heart_rate', 40, 3],
    ['heart_rate', 41, 1],
    ['heart_rate', 51, 0],
    ['heart_rate', 91, 1],
    ['heart_rate', 111, 2],
    ['heart_rate', 131, 3],
    ['spo2', 91, 3],
    ['spo2', 92, 2],
    ['spo2', 94, 1],
    ['spo2', 96, 0],
    ['systolic_bp', 90, 3],
    ['systolic_bp', 100, 2],
    ['systolic_bp', 110, 1],
    ['systolic_bp', 219, 0],
    ['systolic_bp', 220, 3],
    ['respiration_rate', 8, 3],
    ['respiration_rate', 11, 1],
    ['respiration_rate', 20, 0],
    ['respiration_rate', 24, 2],
    ['respiration_rate', 25, 3],
    ['body_temperature', 35, 3],
    ['body_temperature', 36, 1],
    ['body_temperature', 38, 0],
    ['body_temperature', 39, 1],
    ['body_temperature', 39.1, 2],
  ])('%s %d scores %d', (kind, value, score) => {
    expect(parameterScore(kind, value)).toBe(score);
  });

  it('grades the total: ≥ 5 or any 3 is major, ≥ 7 critical', () => {
    expect(scoreLevel(earlyWarningScore({ heart_rate: 95, spo2: 95, body_temperature: 38.5 }))).toBeNull(); // 1+1+1
    expect(scoreLevel(earlyWarningScore({ heart_rate: 135 }))).toBe('major'); // a single 3
    expect(scoreLevel(earlyWarningScore({ heart_rate: 115, spo2: 93, body_temperature: 38.5 }))).toBe('major'); // 2+2+1
    expect(scoreLevel(earlyWarningScore({ heart_rate: 115, spo2: 93, systolic_bp: 95, body_temperature: 38.5 }))).toBe('critical'); // 2+2+2+1
  });

  it('raises, raises again when worse, clears when the score falls, and forgets stale readings', () => {
    const rule = vitalsScoreRule({ alarm: 'vitals_warning', freshSeconds: 900 });
    // The evaluator's cache of latest readings, kept the same way: updated as each message arrives.
    const latest = new Map<string, { value: number; ts: number }>();
    let state = rule.initial();
    const steps = (
      [
        ['heart_rate', 115, 0], // 2
        ['spo2', 93, 10], // 2 + 2 = 4
        ['body_temperature', 38.5, 20], // 5 → major
        ['systolic_bp', 95, 30], // 7 → critical
        ['systolic_bp', 130, 40], // 5: still major, no new intent
        ['heart_rate', 80, 2000], // the others are stale: 0 → clear
      ] as const
    ).map(([kind, value, at]) => {
      const input = reading(kind, value, at);
      if (input.kind !== 'reading') throw new Error('reading expected');
      latest.set(kind, { value, ts: input.reading.ts });
      const result = rule.evaluate(state, { kind: 'readings', readings: [input.reading], latest }, input.reading.ts);
      if (result === null) return '-';
      state = result.state;
      return result.intents.map((i) => (i.action === 'raise' ? `raise:${i.severity}` : i.action)).join(',') || '-';
    });
    expect(steps).toEqual(['-', '-', 'raise:major', 'raise:critical', '-', 'clear']);
  });

  it('a raise says the score, each fresh parameter\'s part and the values it was computed from', () => {
    const rule = vitalsScoreRule({ alarm: 'vitals_warning', freshSeconds: 900 });
    const t0 = Date.UTC(2026, 0, 1);
    const latest = new Map([
      ['heart_rate', { value: 115, ts: t0 }],
      ['spo2', { value: 93, ts: t0 }],
      ['body_temperature', { value: 38.5, ts: t0 }],
      ['systolic_bp', { value: 85, ts: t0 - 901_000 }], // stale: not counted, not reported
    ]);
    const r = { deviceId: 'band-1', kind: 'spo2', value: 93, unit: '%', ts: t0 };
    const result = rule.evaluate(rule.initial(), { kind: 'readings', readings: [r], latest }, t0);
    expect(result?.intents).toEqual([
      {
        action: 'raise',
        alarm: 'vitals_warning',
        severity: 'major',
        detail: { score: 5, parts: { spo2: 2, heart_rate: 2, body_temperature: 1 }, values: { spo2: 93, heart_rate: 115, body_temperature: 38.5 } },
      },
    ]);
  });

});
