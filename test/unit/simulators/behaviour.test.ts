import { describe, expect, it } from 'vitest';
import { defaultProfilesDir } from '../../../src/app.ts';
import { loadProfileDirectory } from '../../../src/profiles/registry.ts';
import { careTally, generateActions } from '../../../simulators/behaviour.ts';
import { planFleet } from '../../../simulators/fleet.ts';
import { scenarioSchema, scenarioStart } from '../../../simulators/scenario.ts';

const profiles = loadProfileDirectory(defaultProfilesDir);
const scenario = scenarioSchema.parse({
  name: 'unit',
  description: 'two homes for two hours',
  residents: 2,
  start: '21:00',
  durationMinutes: 120,
  incidents: [
    { atMinutes: 10, resident: 0, kind: 'sos' },
    { atMinutes: 20, resident: 1, kind: 'heart_rate_climb' },
    { atMinutes: 30, resident: 1, kind: 'device_silent', device: 'bed' },
  ],
});
const start = scenarioStart(scenario);
const run = (seed: number) => generateActions(planFleet(scenario, seed, profiles), scenario, start, profiles);
const fingerprint = (seed: number) => run(seed).map((a) => (a.kind === 'visit' ? `${a.at} visit ${a.resident} ${a.visit.kind}` : `${a.at} ${a.deviceId} ${a.kind === 'publish' ? `${a.topic} ${a.payload.toString('base64')}` : a.kind}`));

describe('fleet behaviour', () => {
  it('the same seed gives the same message sequence; another seed another one', () => {
    expect(fingerprint(7)).toEqual(fingerprint(7));
    expect(fingerprint(8)).not.toEqual(fingerprint(7));
  });

  it('every device reports at its profile\'s heartbeat, in its own format, in time order', () => {
    const actions = run(7);
    const times = actions.map((a) => a.at);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const byDevice = new Map<string, typeof actions>();
    for (const a of actions) if (a.kind === 'publish' && a.what === 'report') byDevice.set(a.deviceId, [...(byDevice.get(a.deviceId) ?? []), a]);
    for (const [deviceId, list] of byDevice) {
      const profile = profiles.get(planFleet(scenario, 7, profiles).residents.flatMap((r) => r.devices).find((d) => d.id === deviceId)!.profile)!;
      const gaps = list.slice(1).map((a, i) => a.at - list[i]!.at);
      for (const gap of gaps) expect(gap, deviceId).toBe(profile.profile.heartbeatSeconds * 1000);
    }
    const smoke = actions.find((a) => a.kind === 'publish' && a.deviceId.endsWith('-smoke'))!;
    expect(smoke.kind === 'publish' && smoke.payload[0]).toBe(0xa5); // the binary frame's magic byte
    const gas = actions.find((a) => a.kind === 'publish' && a.deviceId.endsWith('-gas'))!;
    expect(gas.kind === 'publish' && gas.payload.toString()).toMatch(/^t=\d+;gas=[\d.]+;alarm=0;csq_dbm=-\d+$/);
  });

  it('thinned (routineEvery 2), routine reports come every second heartbeat, inside the silence rule\'s three; the incidents\' messages are unchanged', () => {
    const thin = scenarioSchema.parse({ ...scenario, routineEvery: 2 });
    const plan = planFleet(thin, 7, profiles);
    const thinned = generateActions(plan, thin, start, profiles);
    const full = run(7);
    const reports = (list: typeof full, id: string) => list.filter((a) => a.kind === 'publish' && a.deviceId === id && a.what === 'report').map((a) => a.at);
    for (const device of plan.residents.flatMap((r) => r.devices)) {
      const heartbeat = profiles.get(device.profile)!.profile.heartbeatSeconds * 1000;
      const times = reports(thinned, device.id);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, device.id).toBe(2 * heartbeat);
      if (heartbeat <= 5 * 60_000) expect(times.length, device.id).toBeLessThan(reports(full, device.id).length);
    }
    const incidents = (list: typeof full) => list.filter((a) => a.kind !== 'publish' || a.what !== 'report').map((a) => `${a.at} ${a.kind} ${a.what}`);
    expect(incidents(thinned)).toEqual(incidents(full));
  });

  it('spreads the devices\' first reports over reportPhaseMinutes (never past a heartbeat), and keeps each one\'s phase', () => {
    const firstReports = (phase?: number) => {
      const wide = scenarioSchema.parse({ name: 'phase', description: 'forty homes, an hour', residents: 40, durationMinutes: 60, ...(phase ? { reportPhaseMinutes: phase } : {}) });
      const plan = planFleet(wide, 3, profiles);
      const at = scenarioStart(wide);
      const first = new Map<string, number>();
      const reports = generateActions(plan, wide, at, profiles).filter((a) => a.kind === 'publish' && a.what === 'report');
      for (const a of reports) if (a.kind === 'publish' && !first.has(a.deviceId)) first.set(a.deviceId, a.at - at);
      const heartbeat = new Map(plan.residents.flatMap((r) => r.devices).map((d) => [d.id, profiles.get(d.profile)!.profile.heartbeatSeconds * 1000]));
      return { first, heartbeat, reports, at };
    };
    const narrow = firstReports();
    expect(Math.max(...narrow.first.values())).toBeLessThan(60_000); // by default every device in the first minute
    const { first, heartbeat, reports, at } = firstReports(10);
    const offsets = [...first.entries()];
    for (const [id, ms] of offsets) expect(ms, id).toBeLessThan(Math.min(heartbeat.get(id)!, 600_000));
    // The pendants (5-minute heartbeat) no longer all report in one minute: spread over their five.
    const pendants = offsets.filter(([id]) => id.endsWith('pendant')).map(([, ms]) => Math.floor(ms / 60_000));
    expect(new Set(pendants).size).toBe(5);
    expect(Math.max(...pendants.map((m) => pendants.filter((x) => x === m).length))).toBeLessThan(pendants.length / 2);
    // Each device keeps its phase: its reports a heartbeat apart from its first.
    for (const a of reports) if (a.kind === 'publish') expect((a.at - at - first.get(a.deviceId)!) % heartbeat.get(a.deviceId)!, a.deviceId).toBe(0);
  });

  it('decodes as the vitals the behaviour meant: a night-time heart rate near the resident\'s baseline, then the climb', () => {
    const plan = planFleet(scenario, 7, profiles);
    const band = plan.residents[1]!.devices.find((d) => d.role === 'band')!;
    const compiled = profiles.get(band.profile)!;
    const hr = run(7)
      .filter((a) => a.kind === 'publish' && a.deviceId === band.id)
      .map((a) => {
        if (a.kind !== 'publish') throw new Error();
        const decoded = compiled.messageFor(band.id, a.topic)!.decode(a.payload, a.at);
        if (!decoded.ok) throw new Error(decoded.reason);
        return { at: a.at, hr: decoded.decoded.readings.find((r) => r.kind === 'heart_rate')?.value };
      })
      .filter((x) => x.hr !== undefined);
    const before = hr.filter((x) => x.at < start + 20 * 60_000).map((x) => x.hr!);
    const peak = Math.max(...hr.filter((x) => x.at > start + 31 * 60_000 && x.at < start + 40 * 60_000).map((x) => x.hr!));
    for (const v of before) expect(Math.abs(v - plan.residents[1]!.baseline.hr)).toBeLessThan(15);
    expect(peak).toBeGreaterThanOrEqual(135);
  });

  it('a silent device says nothing after it goes silent', () => {
    const plan = planFleet(scenario, 7, profiles);
    const bed = plan.residents[1]!.devices.find((d) => d.role === 'bed')!;
    const actions = run(7).filter((a) => a.kind !== 'visit' && a.deviceId === bed.id);
    const silentAt = start + 30 * 60_000;
    expect(actions.filter((a) => a.at >= silentAt).map((a) => a.kind)).toEqual(['disconnect']);
  });

  it('refuses a scenario that names a home it does not have, with the path of the problem', () => {
    const bad = scenarioSchema.safeParse({ ...scenario, incidents: [{ atMinutes: 1, resident: 5, kind: 'sos' }] });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['incidents', 0, 'resident']);
  });

  it('presses the test and service buttons in the pendant\'s own format, tests weekly, and plays a visitor\'s round; the tally counts a double press once', () => {
    const month = scenarioSchema.parse({
      name: 'care',
      description: 'a fortnight of care programmes',
      residents: 2,
      devices: ['pendant'],
      date: '2026-11-01',
      start: '08:00',
      durationMinutes: 14 * 24 * 60,
      incidents: [
        { atMinutes: 60, resident: 0, kind: 'service_press' },
        { atMinutes: 64, resident: 0, kind: 'service_press' },
        { atMinutes: 3000, resident: 1, kind: 'service_press' },
        { atMinutes: 90, resident: 1, kind: 'button_test' },
      ],
      buttonTests: { everyDays: 7, missedBy: [1] },
      visitRounds: { phoneEveryDays: 7, homeEveryDays: 30, notReachedShare: 0 },
      visits: [{ atMinutes: 100, resident: 1, kind: 'home', outcome: 'not_reached' }],
    });
    const plan = planFleet(month, 3, profiles);
    plan.residents[0]!.livesAlone = true;
    plan.residents[1]!.livesAlone = false;
    const t0 = scenarioStart(month);
    const actions = generateActions(plan, month, t0, profiles);
    const pendant = plan.residents[0]!.devices[0]!;
    const events = actions.filter((a) => a.kind === 'publish' && a.deviceId === pendant.id && a.topic.endsWith('/event')).map((a) => (a.kind === 'publish' ? JSON.parse(a.payload.toString()).type : ''));
    expect(events).toEqual(['service', 'service', 'test', 'test']);
    const visits = actions.filter((a) => a.kind === 'visit');
    // Resident 0 lives alone: a phone greeting each week (none of the round's visits is a home visit within a fortnight); resident 1 only the listed one.
    expect(visits.map((v) => (v.kind === 'visit' ? [v.resident, v.visit.kind, v.visit.outcome] : []))).toEqual([
      [1, 'home', 'not_reached'],
      [0, 'phone', 'well'],
      [0, 'phone', 'well'],
    ]);
    const tally = careTally(actions);
    expect({ ...tally, reachedBy: Object.fromEntries(tally.reachedBy) }).toEqual({
      serviceRequests: 2,
      servicePresses: 3,
      buttonTests: 3,
      visits: { phone: 2, home: 1, reached: 2 },
      reachedBy: { 0: { phone: 2, home: 0 } },
    });
  });
});
