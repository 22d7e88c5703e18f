import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import type { DeviceContext, Reading } from '../../../src/core/model.ts';
import type { ResidentSettings } from '../../../src/core/resident-settings.ts';
import type { KnownDevice } from '../../../src/devices/directory.ts';
import { loadProfileDirectory } from '../../../src/profiles/registry.ts';
import { RuleEvaluator, type IntentSink, type RuleStateStore } from '../../../src/rules/evaluator.ts';
import type { AlarmIntent } from '../../../src/rules/types.ts';
import type { Tx } from '../../../src/core/tx.ts';

/**
 * The evaluator alone: real rules built from the shipped profiles, in-memory
 * devices, rule state and intent sink, and a manual clock. No database, no
 * broker, no alarm service.
 */

const profiles = loadProfileDirectory(fileURLToPath(new URL('../../../device-profiles/', import.meta.url)));

function device(id: string, profileId: string, residentId: string | null = null): KnownDevice {
  const profile = profiles.get(profileId)!;
  return {
    id,
    profile,
    profileId,
    residentId,
    stationId: 'st-1',
    providerId: null,
    secretHash: '',
    decommissioned: false,
    online: true,
    lastSeen: null,
    battery: null,
    firstMessageAt: null,
    topics: new Map(),
    uplinks: new Set(profile.uplinkTopics(id)),
  };
}

interface Applied {
  subject: string;
  rule: string;
  action: AlarmIntent['action'];
  alarm: string;
  residentLevel: boolean;
}

/** Records intents; when `failing`, the unit of work throws (a full disk, a locked database) and nothing is kept. */
class RecordingSink implements IntentSink {
  applied: Applied[] = [];
  failing = false;
  transactions = 0;
  /** The transactions joined rather than opened (the caller's, e.g. ingest's for an event). */
  joined = 0;
  async transaction<T>(fn: (tx: Tx) => Promise<T>, within?: Tx): Promise<T> {
    if (within) {
      this.joined++;
      return fn(within);
    }
    this.transactions++;
    const before = this.applied.length;
    const result = await fn({ handle: null, afterCommit: () => {}, beforeCommit: () => {} });
    if (this.failing) {
      this.applied.length = before;
      throw new Error('database is locked');
    }
    return result;
  }
  async apply(d: DeviceContext, ruleKey: string, intent: AlarmIntent, residentLevel: boolean): Promise<void> {
    this.applied.push({ subject: residentLevel ? d.residentId! : d.id, rule: ruleKey, action: intent.action, alarm: intent.alarm, residentLevel });
  }
}

class MemoryRuleState implements RuleStateStore {
  rows = new Map<string, { subject: string; rule: string; state: string; at: number }>();
  saves = 0;
  async all() {
    return [...this.rows.values()];
  }
  in() {
    return {
      save: async (subject: string, rule: string, state: string, at: number): Promise<void> => {
        this.saves++;
        this.rows.set(`${subject}/${rule}`, { subject, rule, state, at });
      },
    };
  }
}

/** Ingest's transaction, for an event: the sink sees it joined. */
const ingestTx = (sink: RecordingSink): Promise<Tx> => sink.transaction(async (tx) => tx);

const reading = (kind: string, value: number, ts: number): Reading => ({ deviceId: 'band-1', kind, value, unit: '', ts });

describe('rule evaluator', () => {
  let clock: ManualClock;
  let devices: Map<string, KnownDevice>;
  let residents: Map<string, { settings: ResidentSettings; timezone: string }>;
  let sink: RecordingSink;
  let ruleState: MemoryRuleState;
  const evaluator = () =>
    new RuleEvaluator({
      devices: { get: (id) => devices.get(id), all: () => [...devices.values()] },
      residentOf: (id) => residents.get(id) ?? null,
      ruleState,
      intents: sink,
      clock,
      log: silentLogger,
    });

  beforeEach(() => {
    clock = new ManualClock(Date.UTC(2026, 0, 1, 4, 0));
    devices = new Map([
      ['band-1', device('band-1', 'carebell-vitals-band', 'res-1')],
      ['pendant-1', device('pendant-1', 'carebell-sos-pendant', 'res-1')],
    ]);
    residents = new Map([['res-1', { settings: {}, timezone: 'Asia/Shanghai' }]]);
    sink = new RecordingSink();
    ruleState = new MemoryRuleState();
  });

  it('raises once when a reading stays beyond the profile threshold for its duration, and clears at the clear level', async () => {
    const e = evaluator();
    const band = devices.get('band-1')!;
    const t0 = clock.now();
    await e.onReadings(band, [reading('heart_rate', 125, t0)]);
    expect(sink.applied).toEqual([]);
    await e.onReadings(band, [reading('heart_rate', 126, t0 + 121_000)]);
    await e.onReadings(band, [reading('heart_rate', 128, t0 + 180_000)]);
    expect(sink.applied).toEqual([{ subject: 'band-1', rule: 'threshold:heart_rate:heart_rate_high', action: 'raise', alarm: 'heart_rate_high', residentLevel: false }]);
    await e.onReadings(band, [reading('heart_rate', 115, t0 + 200_000)]);
    expect(sink.applied).toHaveLength(1); // 115 is above the clear level of 110
    await e.onReadings(band, [reading('heart_rate', 100, t0 + 240_000)]);
    expect(sink.applied.map((a) => a.action)).toEqual(['raise', 'clear']);
  });

  it("applies a resident's own thresholds, and rebuilds the rules when the settings change", async () => {
    residents.set('res-1', { settings: { thresholds: { heart_rate_high: { above: 100 } } }, timezone: 'Asia/Shanghai' });
    const e = evaluator();
    const band = devices.get('band-1')!;
    const t0 = clock.now();
    await e.onReadings(band, [reading('heart_rate', 105, t0)]);
    await e.onReadings(band, [reading('heart_rate', 105, t0 + 121_000)]);
    expect(sink.applied.map((a) => a.alarm)).toEqual(['heart_rate_high']);

    residents.set('res-1', { settings: { thresholds: { heart_rate_high: { above: 130, clearAt: 125 } } }, timezone: 'Asia/Shanghai' });
    e.residentChanged('res-1');
    await e.onReadings(band, [reading('heart_rate', 120, t0 + 300_000)]);
    expect(sink.applied.map((a) => a.action)).toEqual(['raise', 'clear']); // 120 is under the new clear level, not the profile's 110
  });

  it('keeps the state unchanged when the alarm change cannot be recorded, so the next input tries again; an event rethrows', async () => {
    const e = evaluator();
    const pendant = devices.get('pendant-1')!;
    // An event's rules run in ingest's transaction: when it fails, so does the event.
    await expect(
      sink.transaction(async (tx) => {
        await e.onEvent(pendant, { deviceId: 'pendant-1', type: 'sos', ts: clock.now(), seq: 1 }, tx);
        sink.failing = true;
      }),
    ).rejects.toThrow('database is locked');
    expect(sink.applied).toEqual([]);
    sink.failing = false;
    await e.onEvent(pendant, { deviceId: 'pendant-1', type: 'sos', ts: clock.now(), seq: 1 }, await ingestTx(sink));
    expect(sink.applied.map((a) => `${a.action}:${a.alarm}`)).toEqual(['raise:sos']);
    expect(sink.joined).toBeGreaterThan(0); // in ingest's transaction, not one of its own

    const band = devices.get('band-1')!;
    const t0 = clock.now();
    await e.onReadings(band, [reading('battery', 10, t0)]);
    sink.failing = true;
    await e.onReadings(band, [reading('battery', 30, t0 + 1_000)]); // a reading does not reject: logged, retried on the next one
    sink.failing = false;
    await e.onReadings(band, [reading('battery', 31, t0 + 2_000)]);
    expect(sink.applied.map((a) => `${a.action}:${a.alarm}`)).toEqual(['raise:sos', 'raise:low_battery', 'clear:low_battery']);
  });

  it('saves durable state in the same unit of work as the intents, and a new evaluator resumes from it', async () => {
    const e = evaluator();
    const band = devices.get('band-1')!;
    band.lastSeen = clock.now();
    clock.advance(3 * 300_000 - 1);
    await e.tick();
    expect(sink.applied).toEqual([]);
    clock.advance(1);
    const before = sink.transactions;
    await e.tick();
    expect(sink.applied.map((a) => `${a.subject}:${a.action}:${a.alarm}`)).toEqual(['band-1:raise:device_offline']);
    expect(sink.transactions).toBe(before + 1);
    expect(JSON.parse(ruleState.rows.get('band-1/silence:device_offline')!.state)).toEqual({ active: true });

    const restarted = evaluator();
    await restarted.load();
    clock.advance(60_000);
    await restarted.tick();
    expect(sink.applied).toHaveLength(1); // still silent, already raised: not raised twice
    band.lastSeen = clock.now();
    await restarted.tick();
    expect(sink.applied.map((a) => `${a.action}:${a.alarm}`)).toEqual(['raise:device_offline', 'clear:device_offline']);
  });

  /** `n` residents with a fall radar each (and no other device), and an evaluator over them. */
  const radarHomes = (n: number) => {
    devices.clear();
    residents.clear();
    for (let r = 0; r < n; r++) {
      residents.set(`res-${r}`, { settings: {}, timezone: 'Asia/Shanghai' });
      devices.set(`radar-${r}`, device(`radar-${r}`, 'carebell-fall-radar', `res-${r}`));
    }
    return evaluator();
  };

  it("writes the state-only changes of one turn of the event loop in one transaction, and puts them all back when it fails", async () => {
    const e = radarHomes(30);
    const presence = (d: KnownDevice) => [{ deviceId: d.id, kind: 'presence', value: 1, unit: '', ts: clock.now() }];
    const lastActivity = (r: number) => JSON.parse(ruleState.rows.get(`res-${r}/inactivity:no_activity`)?.state ?? '{}').lastActivity;
    const everyone = () => Promise.all([...devices.values()].map((d) => e.onReadings(d, presence(d))));
    await everyone(); // each resident's first sign of life: a state to keep, nothing to raise
    expect(sink.transactions).toBe(1);
    expect(ruleState.saves).toBe(30);
    expect(lastActivity(7)).toBe(clock.now() - (clock.now() % 300_000));
    // Five minutes on: the last activity moves on, but the write fails (a full disk): every state is put back.
    clock.advance(300_000);
    sink.failing = true;
    ruleState.in = () => ({ save: async () => { throw new Error('database or disk is full'); } });
    await everyone();
    expect(sink.transactions).toBe(2);
    const before = clock.now() - 300_000;
    expect(lastActivity(7)).toBe(before - (before % 300_000));
    // The next readings, a minute later, write them all again, once more in one transaction.
    sink.failing = false;
    ruleState.in = MemoryRuleState.prototype.in.bind(ruleState);
    clock.advance(60_000);
    await everyone();
    expect(sink.transactions).toBe(3);
    expect(ruleState.saves).toBe(60);
    expect(lastActivity(7)).toBe(clock.now() - (clock.now() % 300_000));
  });

  it('flush() writes the rule states queued this turn at once (shutdown), and the turn\'s own write then finds nothing to do', async () => {
    const e = radarHomes(5);
    const written = [...devices.values()].map((d) => e.onReadings(d, [{ deviceId: d.id, kind: 'presence', value: 1, unit: '', ts: clock.now() }]));
    expect(written.every((w) => w instanceof Promise)).toBe(true); // queued for the end of the turn
    await e.flush(); // before the event loop reaches the queued write
    expect(ruleState.saves).toBe(5);
    expect(sink.transactions).toBe(1);
    await Promise.all(written); // settled by the flush's write
    await new Promise((resolve) => setImmediate(resolve));
    expect(sink.transactions).toBe(1); // not written a second time
    await e.flush(); // nothing queued: nothing written
    expect(sink.transactions).toBe(1);
  });

  it('a tick in slices gives the event loop back between slices and raises what a whole tick raises', async () => {
    for (let i = 0; i < 7; i++) devices.set(`band-${i + 2}`, device(`band-${i + 2}`, 'carebell-vitals-band', 'res-1'));
    for (const d of devices.values()) d.lastSeen = clock.now();
    const e = evaluator(); // running before the devices fell silent (silence counts from its start otherwise)
    clock.advance(3 * 300_000);
    let turns = 0;
    let done = false;
    const other = () => {
      turns++;
      if (!done) setImmediate(other);
    };
    setImmediate(other);
    const ms = await e.tickInSlices(2);
    done = true;
    expect(ms).toBeGreaterThan(0); // time spent evaluating, not the waits between slices
    expect(turns).toBeGreaterThan(0); // other work ran while the fleet was being ticked
    const raised = sink.applied.filter((a) => a.alarm === 'device_offline').map((a) => a.subject).sort();
    expect(raised).toEqual([...devices.keys()].sort());
    await e.tickInSlices(2);
    await e.tick();
    expect(sink.applied.filter((a) => a.alarm === 'device_offline')).toHaveLength(devices.size); // not raised twice
  });

  it("runs a device's silence rule only when a tick could change it, and still raises and clears at the same minute", async () => {
    devices.clear();
    residents.clear();
    const MIN = 60_000;
    const limit = 3 * 300_000; // the pendant's three heartbeats
    for (let i = 0; i < 100; i++) devices.set(`p-${i}`, device(`p-${i}`, 'carebell-sos-pendant'));
    const start = clock.now();
    for (const d of devices.values()) d.lastSeen = start;
    devices.get('p-99')!.lastSeen = null; // installed, never heard yet
    const e = evaluator();
    const offline = () => sink.applied.filter((a) => a.alarm === 'device_offline').map((a) => `${a.action} ${a.subject}`);
    const runs: number[] = [];
    const tickAt = async (minute: number) => {
      clock.set(start + minute * MIN);
      const before = e.tickRuns;
      await e.tick();
      runs.push(e.tickRuns - before);
    };
    await tickAt(0);
    expect(runs[0]).toBe(100); // the first tick looks at every device
    for (let m = 1; m < 15; m++) {
      if (m === 10) {
        devices.get('p-1')!.lastSeen = clock.now(); // heard at minute 9
        devices.get('p-99')!.lastSeen = clock.now(); // heard for the first time
      }
      await tickAt(m);
    }
    expect(runs.slice(1).every((n) => n === 0)).toBe(true); // nobody could be silent before minute 15
    expect(offline()).toEqual([]);
    await tickAt(15);
    expect(runs.at(-1)).toBe(100); // due as worked out at minute 0; p-1 and p-99, heard at 9, are looked at and not silent
    expect(offline().sort()).toEqual([...devices.keys()].filter((id) => id !== 'p-1' && id !== 'p-99').map((id) => `raise ${id}`).sort());
    sink.applied.length = 0;
    devices.get('p-5')!.lastSeen = start + 15 * MIN + 30_000; // back
    await tickAt(16);
    expect(runs.at(-1)).toBe(98); // the raised ones are looked at every tick, for their return
    expect(offline()).toEqual(['clear p-5']);
    sink.applied.length = 0;
    for (let m = 17; m < 24; m++) await tickAt(m);
    expect(offline()).toEqual([]);
    await tickAt(24); // p-1 and p-99: 15 minutes after minute 9
    expect(offline().sort()).toEqual(['raise p-1', 'raise p-99']);
    // p-5 was heard at 15:30: due at 30:30, looked at from minute 31.
    sink.applied.length = 0;
    await tickAt(30);
    expect(offline()).toEqual([]);
    await tickAt(31);
    expect(offline()).toEqual(['raise p-5']);
  });

  it("runs a resident's timed rules only when they could raise, asks again when what the devices send changes their state, and raises at the same minutes", async () => {
    devices.clear();
    residents.clear();
    residents.set('res-1', { settings: { inactivity: { enabled: true, hours: 2, daytime: { from: '08:00', to: '20:00' } }, nightBedExit: { enabled: true, from: '22:00', to: '06:00', returnMinutes: 20 } }, timezone: 'Asia/Shanghai' });
    residents.set('res-2', { settings: {}, timezone: 'Asia/Shanghai' });
    devices.set('radar-1', device('radar-1', 'carebell-fall-radar', 'res-1'));
    devices.set('bed-1', device('bed-1', 'carebell-bed-mat', 'res-1'));
    devices.set('radar-2', device('radar-2', 'carebell-fall-radar', 'res-2'));
    const start = clock.now(); // 12:00 in Shanghai
    // The devices' own silence is not what this test is about: heard "later", they are never due.
    for (const d of devices.values()) d.lastSeen = start + 30 * 86_400_000;
    const e = evaluator();
    const MIN = 60_000;
    const radar = devices.get('radar-1')!;
    const bed = devices.get('bed-1')!;
    const inputs: Record<number, () => Promise<unknown>> = {
      10: async () => e.onReadings(radar, [{ deviceId: 'radar-1', kind: 'presence', value: 1, unit: '', ts: clock.now() }]),
      140: async () => e.onEvent(radar, { deviceId: 'radar-1', type: 'motion', ts: clock.now(), seq: 1 }, await ingestTx(sink)),
      630: async () => e.onEvent(bed, { deviceId: 'bed-1', type: 'bed_exit', ts: clock.now(), seq: 1 }, await ingestTx(sink)), // 22:30
    };
    const ran = new Map<number, number>();
    const seen: string[] = [];
    for (let m = 0; m <= 700; m++) {
      clock.set(start + m * MIN);
      await inputs[m]?.();
      const before = e.tickRuns;
      const applied = sink.applied.length;
      await e.tick();
      if (e.tickRuns > before) ran.set(m, e.tickRuns - before);
      for (const a of sink.applied.slice(applied)) seen.push(`${m} ${a.action} ${a.alarm} ${a.subject}`);
    }
    expect(seen).toEqual([
      '130 raise no_activity res-1', // two quiet hours after the presence at minute 10 (14:10)
      '260 raise no_activity res-1', // two hours after the motion at 140, which cleared it (not a tick's doing)
      '650 raise night_bed_exit res-1', // out of bed at 22:30, not back in 20 minutes
    ]);
    expect(sink.applied.filter((a) => a.action === 'clear').map((a) => a.alarm)).toEqual(['no_activity', 'no_activity']); // at 140 and at the bed exit
    // The first tick looks at everything (three devices' silence, two residents' two rules); then res-1 only when its
    // state changed or its rules fell due, and at the tick after a raise (a write that may fail: looked at again);
    // res-2, never active, never again.
    expect(Object.fromEntries(ran)).toEqual({ 0: 7, 10: 2, 130: 2, 131: 2, 140: 2, 260: 2, 261: 2, 630: 2, 650: 2, 651: 2 });
  });

  it('writes nothing when a rule changes only the part of its state that is rebuilt from input', async () => {
    const e = evaluator();
    const band = devices.get('band-1')!;
    const t0 = clock.now();
    // Nothing to write: each message is handled at once, without a promise.
    for (let i = 0; i < 20; i++) expect(e.onReadings(band, [reading('heart_rate', 70 + (i % 5), t0 + i * 60_000), reading('spo2', 97, t0 + i * 60_000)])).toBeUndefined();
    expect(sink.applied).toEqual([]);
    expect(sink.transactions).toBe(0);
  });

  it('started after its devices were last heard (a restart), gives them 3 heartbeats from its start before calling them silent', async () => {
    for (const d of devices.values()) d.lastSeen = clock.now();
    clock.advance(3_600_000); // the gateway was down for an hour
    const e = evaluator();
    clock.advance(3 * 300_000 - 1_000);
    await e.tick();
    expect(sink.applied.filter((a) => a.alarm === 'device_offline')).toEqual([]);
    devices.get('pendant-1')!.lastSeen = clock.now(); // the pendant reconnected; the band did not
    clock.advance(1_000);
    await e.tick();
    expect(sink.applied.filter((a) => a.alarm === 'device_offline').map((a) => a.subject)).toEqual(['band-1']);
  });

  it("does not tick a decommissioned device's silence, and skips devices it does not know", async () => {
    const e = evaluator();
    const band = devices.get('band-1')!;
    band.lastSeen = clock.now();
    band.decommissioned = true;
    clock.advance(3_600_000);
    await e.tick();
    expect(sink.applied.filter((a) => a.subject === 'band-1')).toEqual([]);
    await e.onReadings({ id: 'ghost', profileId: 'carebell-vitals-band', residentId: null, stationId: null, providerId: null }, [reading('heart_rate', 200, clock.now())]);
    expect(sink.applied).toEqual([]);
  });

  it("runs the resident's own rules across their devices, in their time zone, as resident-level alarms", async () => {
    residents.set('res-1', { settings: { nightBedExit: { enabled: true, from: '22:00', to: '06:00', returnMinutes: 20 } }, timezone: 'Asia/Shanghai' });
    devices.set('bed-1', device('bed-1', 'carebell-bed-mat', 'res-1'));
    const e = evaluator();
    const bed = devices.get('bed-1')!;
    clock.set(Date.UTC(2026, 0, 1, 15, 0)); // 23:00 in Shanghai
    await e.onEvent(bed, { deviceId: 'bed-1', type: 'bed_exit', ts: clock.now(), seq: 1 }, await ingestTx(sink));
    clock.advance(21 * 60_000);
    await e.tick();
    expect(sink.applied).toContainEqual({ subject: 'res-1', rule: expect.stringContaining('night'), action: 'raise', alarm: 'night_bed_exit', residentLevel: true });
  });

  it('between changes to the fleet, a tick looks only at the devices due, and raises and clears exactly what reading the whole fleet does', async () => {
    const kinds = ['carebell-sos-pendant', 'carebell-vitals-band', 'carebell-bed-mat', 'carebell-fall-radar', 'carebell-door-contact', 'anxin-smoke-sd3'];
    for (const seed of [1, 2, 3]) {
      let x = seed * 2_654_435_761;
      const random = () => ((x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
      devices.clear();
      residents.clear();
      for (let r = 0; r < 20; r++) residents.set(`res-${r}`, { settings: { inactivity: { enabled: true, hours: 2 } } as ResidentSettings, timezone: 'Asia/Shanghai' });
      let serial = 0;
      const addDevice = () => {
        const id = `d-${serial++}`;
        const d = device(id, kinds[serial % kinds.length]!, random() < 0.8 ? `res-${Math.floor(random() * 20)}` : null);
        d.lastSeen = random() < 0.9 ? clock.now() : null;
        devices.set(id, d);
      };
      for (let i = 0; i < 60; i++) addDevice();
      let revision = 0;
      let reads = 0;
      const sinks = { whole: new RecordingSink(), due: new RecordingSink() };
      const make = (intents: RecordingSink, withRevision: boolean) =>
        new RuleEvaluator({
          devices: withRevision
            ? { get: (id) => devices.get(id), all: () => (reads++, [...devices.values()]), get revision() { return revision; } }
            : { get: (id) => devices.get(id), all: () => [...devices.values()] },
          residentOf: (id) => residents.get(id) ?? null,
          ruleState: new MemoryRuleState(),
          intents,
          clock,
          log: silentLogger,
        });
      const whole = make(sinks.whole, false);
      const due = make(sinks.due, true);
      const seen = (sink: RecordingSink) => sink.applied.map((a) => `${a.action} ${a.alarm} ${a.subject}`).sort();
      let quiet = 0;
      for (let minute = 0; minute < 300; minute++) {
        clock.advance(60_000);
        let changed = false;
        for (const d of devices.values()) if (random() < 0.04) d.lastSeen = clock.now() - Math.floor(random() * 30_000);
        const roll = random();
        if (roll < 0.03) {
          addDevice();
          changed = true;
        } else if (roll < 0.05) {
          const d = [...devices.values()][Math.floor(random() * devices.size)]!;
          d.decommissioned = true;
          changed = true;
        } else if (roll < 0.06) {
          // The record read again: a new object for the same id, now with another resident.
          const d = [...devices.values()][Math.floor(random() * devices.size)]!;
          devices.set(d.id, { ...device(d.id, d.profileId, `res-${Math.floor(random() * 20)}`), lastSeen: d.lastSeen, decommissioned: d.decommissioned });
          changed = true;
        }
        if (changed) revision++;
        if (minute < 20) {
          // Signs of life at first, then none: the residents' wellbeing checks raise after two hours.
          const d = [...devices.values()][Math.floor(random() * devices.size)]!;
          const presence = [{ deviceId: d.id, kind: 'presence', value: 1, unit: '', ts: clock.now() }];
          await whole.onReadings(d, presence);
          await due.onReadings(d, presence);
        }
        const before = reads;
        await whole.tick();
        await due.tick();
        if (!changed && minute > 0) {
          expect(reads).toBe(before); // the fleet unchanged: not read
          quiet++;
        }
        expect(seen(sinks.due), `seed ${seed}, minute ${minute}`).toEqual(seen(sinks.whole));
      }
      expect(quiet).toBeGreaterThan(200);
      // The run saw silences raised and cleared, on devices and residents.
      const actions = new Set(sinks.whole.applied.map((a) => `${a.action} ${a.alarm}`));
      expect(actions).toContain('raise device_offline');
      expect(actions).toContain('clear device_offline');
      expect(actions).toContain('raise no_activity');
      expect(due.tickRuns).toBe(whole.tickRuns);
    }
  });
});
