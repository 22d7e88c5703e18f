import { describe, expect, it } from 'vitest';
import { defaultProfilesDir } from '../../../src/app.ts';
import { loadProfileDirectory } from '../../../src/profiles/registry.ts';
import { ActionPlan, generateActions, type SimAction } from '../../../simulators/behaviour.ts';
import { planFleet } from '../../../simulators/fleet.ts';
import { scenarioStart } from '../../../simulators/scenario.ts';
import { soakScenario } from '../../../simulators/soak/plan.ts';

const profiles = loadProfileDirectory(defaultProfilesDir);
const DAY = 86_400_000;
// Three days of eight homes, incidents at 50× the rates (every kind comes up), a reconnect storm on the second day.
const scenario = soakScenario({ days: 3, residents: 8, seed: 11, rateScale: 50, routineEvery: 2 });
scenario.incidents.push({ atMinutes: 30 * 60, kind: 'reconnect_storm' });
const plan = planFleet(scenario, 11, profiles, 'ap');
const start = scenarioStart(scenario);

const key = (a: SimAction) => `${a.at} ${a.kind} ${a.kind === 'visit' ? a.resident : a.deviceId} ${a.what}${a.kind === 'publish' ? ` ${a.payload.toString('base64')}` : ''}`;
/** The run a day at a time: each window's actions, and the window. */
const byDay = () => {
  const p = new ActionPlan(plan, scenario, start, profiles);
  const windows: Array<{ from: number; to: number; actions: SimAction[] }> = [];
  for (let from = start; from < p.end; from += DAY) windows.push({ from, to: from + DAY < p.end ? from + DAY : Number.POSITIVE_INFINITY, actions: p.next(from + DAY < p.end ? from + DAY : Number.POSITIVE_INFINITY) });
  return windows;
};
/** Each event's sequence number, per device, in time order (decoded as the gateway decodes). */
const seqs = (actions: SimAction[]) => {
  const out = new Map<string, number[]>();
  for (const a of actions) {
    if (a.kind !== 'publish') continue;
    const device = plan.residents.flatMap((r) => r.devices).find((d) => d.id === a.deviceId)!;
    const decoded = profiles.get(device.profile)!.messageFor(a.deviceId, a.topic)?.decode(a.payload, a.at);
    if (!decoded?.ok) continue;
    for (const e of decoded.decoded.events) if (e.seq !== undefined) out.set(a.deviceId, [...(out.get(a.deviceId) ?? []), e.seq]);
  }
  return out;
};

describe('a run planned a day at a time', () => {
  it('in one window is exactly the run made at once', () => {
    const once = generateActions(plan, scenario, start, profiles).map(key);
    expect(new ActionPlan(plan, scenario, start, profiles).next(Number.POSITIVE_INFINITY).map(key)).toEqual(once);
  });

  it('gives each window its own actions in time order, the same every time', () => {
    const days = byDay();
    expect(days.map((w) => w.actions.length).reduce((a, b) => a + b)).toBeGreaterThan(0.99 * generateActions(plan, scenario, start, profiles).length);
    expect(days).toHaveLength(3);
    for (const w of days) {
      expect(w.actions.length).toBeGreaterThan(1000);
      for (const [i, a] of w.actions.entries()) {
        expect(a.at).toBeGreaterThanOrEqual(w.from);
        expect(a.at).toBeLessThan(w.to);
        if (i > 0) expect(a.at).toBeGreaterThanOrEqual(w.actions[i - 1]!.at);
      }
    }
    expect(byDay().flatMap((w) => w.actions).map(key)).toEqual(days.flatMap((w) => w.actions).map(key));
  });

  it('makes the same reports and incidents as one pass, and carries each device\'s sequence numbers from day to day', () => {
    const once = generateActions(plan, scenario, start, profiles);
    const daily = byDay().flatMap((w) => w.actions);
    // Report times and the incidents' actions do not depend on the random draws' order (their values and the door's do).
    const fixed = (list: SimAction[]) => list.filter((a) => a.what !== 'door' && a.what !== 'button_test').map((a) => `${a.at} ${a.kind} ${a.kind === 'visit' ? a.resident : a.deviceId} ${a.what}`);
    expect(fixed(daily)).toEqual(fixed(once));
    // A device's sequence numbers go on from day to day, never starting again at midnight: a repeated
    // (device, seq) within an hour would be taken for a redelivery and the event dropped.
    const perDevice = seqs(daily);
    expect([...perDevice.values()].filter((list) => list.length > 10).length).toBeGreaterThan(3);
    for (const [deviceId, list] of perDevice) expect(new Set(list).size, deviceId).toBe(list.length);
  });
});
