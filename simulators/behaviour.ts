import type { ProfileRegistry } from '../src/profiles/registry.ts';
import type { DeviceProfile } from '../src/profiles/schema.ts';
import { SERVICE_PRESS_MERGE_MS } from '../src/core/service-request.ts';
import { encode, type Outgoing } from './encode.ts';
import type { FleetPlan, PlannedDevice, PlannedResident } from './fleet.ts';
import { Random } from './random.ts';
import type { Incident, Scenario } from './scenario.ts';

/** One step of a run, at a simulated time: a device publishes, or drops and comes back. */
export type SimAction =
  | { at: number; kind: 'publish'; deviceId: string; topic: string; payload: Buffer; what: string }
  | { at: number; kind: 'disconnect' | 'reconnect'; deviceId: string; what: string }
  /** A visit recorded through the API (visitor activity), for the plan's resident `resident`. */
  | { at: number; kind: 'visit'; resident: number; visit: { kind: 'phone' | 'home'; outcome: 'well' | 'needs_follow_up' | 'not_reached' }; what: string };

const MIN = 60_000;
const DAY = 86_400_000;

/** The scenario's visits for one resident, and a visitor's round for those who live alone. */
function visitActions(resident: PlannedResident, scenario: Scenario, start: number, end: number, rng: Random): SimAction[] {
  const out: SimAction[] = [];
  const visit = (at: number, kind: 'phone' | 'home', outcome: 'well' | 'needs_follow_up' | 'not_reached', what: string) => {
    if (at < end) out.push({ at, kind: 'visit', resident: resident.index, visit: { kind, outcome }, what });
  };
  for (const v of scenario.visits.filter((x) => x.resident === resident.index)) visit(start + v.atMinutes * MIN, v.kind, v.outcome, 'visit');
  const round = scenario.visitRounds;
  if (round && resident.livesAlone) {
    const daytime = () => Math.floor((1 + rng.next() * 7) * 3_600_000); // 09:00–16:00 when the run starts at 08:00
    for (let day = start; day < end; day += round.phoneEveryDays * DAY) {
      const at = day + round.phoneEveryDays * DAY - DAY + daytime();
      const reached = rng.next() >= round.notReachedShare;
      visit(at, 'phone', reached ? 'well' : 'not_reached', 'phone greeting');
      if (!reached) visit(at + DAY, 'home', 'well', 'home visit after an unanswered call');
    }
    for (let day = start; day < end; day += round.homeEveryDays * DAY) visit(day + round.homeEveryDays * DAY - 2 * DAY + daytime(), 'home', 'well', 'home visit');
  }
  return out;
}
/** How long an incident's condition lasts (a climbing heart rate, a low SpO2). */
const CONDITION_MS = 20 * MIN;
/** A night bed exit lasts this long: the resident is back in bed after it (the night rule has long spoken by then). */
const BED_EXIT_MS = 90 * MIN;
/** During a vitals incident the wearable reports every minute, as bands do when they detect something. */
const FAST_REPORT_MS = MIN;

/** Local hour in China (UTC+8, no daylight saving). */
const localHour = (t: number): number => (((t / 3_600_000 + 8) % 24) + 24) % 24;
const asleep = (t: number): boolean => localHour(t) >= 22 || localHour(t) < 6.5;

/** The readings a profile reports periodically (its first message that carries readings and is not an event or status message). */
function reportKinds(profile: DeviceProfile): Set<string> {
  const m = profile.messages.find((x) => x.readings.length > 0 && !x.requireEvent && !x.online) ?? profile.messages.find((x) => x.readings.length > 0);
  return new Set(m?.readings.map((r) => r.kind) ?? []);
}

interface HomeState {
  resident: PlannedResident;
  incidents: Incident[];
}

const active = (incidents: Incident[], kind: Incident['kind'], at: number, start: number, lasting = Infinity): boolean =>
  incidents.some((i) => i.kind === kind && at >= start + i.atMinutes * MIN && at < start + i.atMinutes * MIN + lasting);

/** What a device of this role would measure now, for this resident. */
function readingsNow(role: PlannedDevice['role'], home: HomeState, at: number, start: number, rng: Random, battery: number, steps: { n: number }): Record<string, number> {
  const b = home.resident.baseline;
  const inc = home.incidents;
  const night = asleep(at);
  const still = active(inc, 'no_motion', at, start);
  const outOfBed = active(inc, 'night_bed_exit', at, start, BED_EXIT_MS);
  const climb = inc.find((i) => i.kind === 'heart_rate_climb' && at >= start + i.atMinutes * MIN && at < start + i.atMinutes * MIN + CONDITION_MS);
  let hr = rng.normal(b.hr - (night ? 6 : 0), 2);
  if (climb) hr = b.hr + (140 - b.hr) * Math.min(1, (at - (start + climb.atMinutes * MIN)) / (10 * MIN)) + rng.normal(0, 1);
  const spo2 = active(inc, 'spo2_drop', at, start, CONDITION_MS) ? 86 + rng.int(-1, 1) : Math.min(100, Math.round(rng.normal(b.spo2, 0.7)));
  const round1 = (v: number) => Math.round(v * 10) / 10;
  if (!night && !still) steps.n += rng.int(0, 40);
  switch (role) {
    case 'pendant':
      return { battery, signal_strength: Math.round(rng.normal(-72, 4)) };
    case 'band':
      return {
        heart_rate: Math.round(hr),
        spo2,
        systolic_bp: Math.round(rng.normal(b.sys, 4)),
        diastolic_bp: Math.round(rng.normal(b.dia, 3)),
        body_temperature: round1(rng.normal(b.temp, 0.1)),
        steps: steps.n,
        battery,
        worn: 1,
      };
    case 'radar':
      return { presence: still ? 0 : 1, respiration_rate: Math.round(rng.normal(b.rr, 1)), heart_rate: Math.round(hr) };
    case 'bed': {
      const inBed = night && !outOfBed && !still;
      return inBed ? { in_bed: 1, heart_rate: Math.round(hr), respiration_rate: Math.round(rng.normal(b.rr - 1, 1)) } : { in_bed: 0 };
    }
    case 'motion':
      return { motion: !night && !still && rng.next() < 0.8 ? 1 : 0, battery, ambient_temperature: round1(rng.normal(21, 1)) };
    case 'door':
      return { door_open: 0, battery };
    case 'smoke':
      return { smoke_alarm: 0, battery, ambient_temperature: round1(rng.normal(21, 1)) };
    case 'gas':
      return { gas_level: round1(Math.abs(rng.normal(1, 0.5))), gas_alarm: 0, signal_strength: Math.round(rng.normal(-75, 4)) };
    case 'water':
      return { water_leak: 0, battery };
  }
}

/**
 * Every action of a run, in order of simulated time: each device's periodic
 * reports at its profile's heartbeat, in its profile's own format, and the
 * scenario's incidents. Pure: the same plan, scenario and start always give
 * the same sequence.
 */
export function generateActions(plan: FleetPlan, scenario: Scenario, start: number, profiles: ProfileRegistry): SimAction[] {
  const end = start + scenario.durationMinutes * MIN;
  const actions: SimAction[] = [];
  const root = new Random(plan.seed);
  for (const resident of plan.residents) {
    const home: HomeState = { resident, incidents: scenario.incidents.filter((i) => i.resident === resident.index) };
    for (const device of resident.devices) {
      const profile = profiles.get(device.profile)!.profile;
      const rng = root.fork(device.id);
      const kinds = reportKinds(profile);
      const send = (at: number, out: Outgoing, what: string) => {
        const m = encode(profile, device.id, out);
        actions.push({ at, kind: 'publish', deviceId: device.id, topic: m.topic, payload: m.payload, what });
      };
      let seq = rng.int(1, 200);
      const nextSeq = () => (seq = (seq % 250) + 1);
      const initialBattery = rng.between(60, 100);
      const drainPerDay = device.role === 'band' ? 3 : device.role === 'pendant' ? 0.5 : 0.1;
      const steps = { n: rng.int(0, 2000) };
      const silentFrom = home.incidents.find((i) => i.kind === 'device_silent' && i.device === device.role);
      const silentAt = silentFrom ? start + silentFrom.atMinutes * MIN : Infinity;
      const lowFrom = home.incidents.find((i) => i.kind === 'battery_down' && i.device === device.role);
      const batteryAt = (at: number) => (lowFrom && at >= start + lowFrom.atMinutes * MIN ? 10 : Math.round(Math.max(20, initialBattery - (drainPerDay * (at - start)) / 86_400_000)));
      const report = (at: number, what = 'report') => {
        const values = readingsNow(device.role, home, at, start, rng, batteryAt(at), steps);
        const readings = Object.fromEntries(Object.entries(values).filter(([k]) => kinds.has(k)));
        send(at, { ts: at, readings }, what);
      };

      // Periodic reports at the profile's heartbeat (or every `routineEvery` heartbeats), from a random phase; faster while a vitals incident lasts.
      const interval = profile.heartbeatSeconds * 1000 * scenario.routineEvery;
      for (let at = start + Math.floor(rng.next() * Math.min(interval, MIN)); at < Math.min(end, silentAt); at += interval) report(at);
      if (device.role === 'band') {
        for (const inc of home.incidents.filter((i) => i.kind === 'heart_rate_climb' || i.kind === 'spo2_drop')) {
          for (let at = start + inc.atMinutes * MIN + 1000; at < Math.min(end, silentAt, start + inc.atMinutes * MIN + CONDITION_MS); at += FAST_REPORT_MS) report(at, inc.kind);
        }
      }

      // The front door: now and then in the daytime, somebody goes out or comes in (a sign of life for the wellbeing check).
      if (device.role === 'door') {
        for (let hourStart = start; hourStart < Math.min(end, silentAt); hourStart += 60 * MIN) {
          const at = hourStart + Math.floor(rng.next() * 60 * MIN);
          if (rng.next() < 0.3 && !asleep(at) && at < Math.min(end, silentAt) && !active(home.incidents, 'no_motion', at, start)) {
            send(at, { ts: at, events: ['door_open'], seq: nextSeq() }, 'door');
            send(at + 30_000, { ts: at + 30_000, events: ['door_closed'], seq: nextSeq() }, 'door');
          }
        }
      }

      for (const inc of home.incidents) {
        const at = start + inc.atMinutes * MIN;
        if (at > silentAt || (at === silentAt && inc.kind !== 'device_silent')) continue;
        const event = (type: string, t = at, readings?: Record<string, number>) => send(t, { ts: t, events: [type], seq: nextSeq(), ...(readings ? { readings } : {}) }, `${inc.kind}: ${type}`);
        switch (inc.kind) {
          case 'sos':
            if (device.role === 'pendant') event('sos');
            break;
          case 'fall':
            if (device.role === 'radar') event('fall');
            break;
          case 'fall_cancelled':
            if (device.role === 'radar') {
              event('fall');
              event('fall_cancelled', at + 10_000);
            }
            break;
          case 'smoke':
            if (device.role === 'smoke') event('smoke', at, { smoke_alarm: 1, battery: batteryAt(at), ambient_temperature: 27 });
            break;
          case 'gas':
            if (device.role === 'gas') event('gas', at, { gas_level: 42, gas_alarm: 1, signal_strength: -70 });
            break;
          case 'water_leak':
            if (device.role === 'water') event('water');
            break;
          case 'night_bed_exit':
            if (device.role === 'bed') event('bed_exit');
            break;
          case 'battery_down':
            if (device.role === inc.device) report(at, 'battery_down');
            break;
          case 'malformed':
            if (device.role === inc.device) actions.push({ at, kind: 'publish', deviceId: device.id, topic: encode(profile, device.id, { ts: at, readings: {} }).topic, payload: Buffer.from('\u0000garbage{"ts":'), what: 'malformed' });
            break;
          case 'device_silent':
            if (device.role === inc.device) actions.push({ at, kind: 'disconnect', deviceId: device.id, what: 'device_silent' });
            break;
          case 'button_test':
            if (device.role === (inc.device ?? 'pendant')) event('test');
            break;
          case 'service_press':
            if (device.role === 'pendant') event('service');
            break;
        }
      }

      // The weekly button test, on a daytime hour of the resident's own.
      if (scenario.buttonTests && device.role === 'pendant' && !scenario.buttonTests.missedBy.includes(resident.index)) {
        for (let day = start; day < end; day += scenario.buttonTests.everyDays * DAY) {
          const at = day + Math.floor((1 + rng.next() * 8) * 3_600_000);
          if (at < Math.min(end, silentAt)) send(at, { ts: at, events: ['test'], seq: nextSeq() }, 'button_test');
        }
      }
    }
    actions.push(...visitActions(resident, scenario, start, end, root.fork(`visits:${resident.index}`)));
  }
  for (const inc of scenario.incidents.filter((i) => i.kind === 'reconnect_storm')) {
    const at = start + inc.atMinutes * MIN;
    for (const r of plan.residents) {
      for (const d of r.devices) {
        actions.push({ at, kind: 'disconnect', deviceId: d.id, what: 'reconnect_storm' });
        actions.push({ at: at + 1000, kind: 'reconnect', deviceId: d.id, what: 'reconnect_storm' });
      }
    }
  }
  // Stable: same-time actions keep the order they were made in.
  return actions.map((a, i) => ({ a, i })).sort((x, y) => x.a.at - y.a.at || x.i - y.i).map((x) => x.a);
}

/** What a run did for the care programmes, to check the gateway's statistics against. */
export interface CareTally {
  /** Service requests the presses make: a second press of one pendant within 10 minutes joins the first. */
  serviceRequests: number;
  servicePresses: number;
  buttonTests: number;
  /** Visits recorded, and those that reached the resident. */
  visits: { phone: number; home: number; reached: number };
  /** Per resident (by index): the phone greetings and home visits that reached them. */
  reachedBy: Map<number, { phone: number; home: number }>;
}

export function careTally(actions: SimAction[]): CareTally {
  const tally: CareTally = { serviceRequests: 0, servicePresses: 0, buttonTests: 0, visits: { phone: 0, home: 0, reached: 0 }, reachedBy: new Map() };
  const lastRequest = new Map<string, number>();
  for (const a of actions) {
    if (a.kind === 'visit') {
      tally.visits[a.visit.kind]++;
      if (a.visit.outcome !== 'not_reached') {
        tally.visits.reached++;
        const mine = tally.reachedBy.get(a.resident) ?? { phone: 0, home: 0 };
        mine[a.visit.kind]++;
        tally.reachedBy.set(a.resident, mine);
      }
    } else if (a.kind === 'publish' && a.what.startsWith('button_test')) tally.buttonTests++;
    else if (a.kind === 'publish' && a.what.startsWith('service_press')) {
      tally.servicePresses++;
      const since = lastRequest.get(a.deviceId);
      if (since === undefined || a.at - since > SERVICE_PRESS_MERGE_MS) {
        tally.serviceRequests++;
        lastRequest.set(a.deviceId, a.at);
      }
    }
  }
  return tally;
}

/**
 * The button-test reminders a run should see (jobs/jobs.ts): each day at
 * 09:00 local (UTC+8) a station with a pendant untested for `policyDays`
 * (counted from its last test, or from the start for one never tested) has
 * an open reminder; one alarm per stretch of days it stays open. Per station
 * (index in the plan).
 */
export function expectedTestReminders(plan: FleetPlan, actions: SimAction[], start: number, end: number, policyDays = 7): number[] {
  const tests = new Map<string, number[]>();
  for (const a of actions) if (a.kind === 'publish' && a.what.startsWith('button_test')) tests.set(a.deviceId, [...(tests.get(a.deviceId) ?? []), a.at]);
  const out = plan.stations.map(() => 0);
  const firstCheck = (() => {
    const local = start + 8 * 3_600_000;
    const nine = Math.floor(local / DAY) * DAY + 9 * 3_600_000 - 8 * 3_600_000;
    return nine > start ? nine : nine + DAY;
  })();
  for (const [station] of plan.stations.entries()) {
    const pendants = plan.residents.filter((r) => r.station === station).flatMap((r) => r.devices.filter((d) => d.role === 'pendant'));
    let open = false;
    for (let check = firstCheck; check < end; check += DAY) {
      const overdue = pendants.some((d) => {
        const last = Math.max(start, ...(tests.get(d.id) ?? []).filter((t) => t <= check));
        return last + policyDays * DAY <= check;
      });
      if (overdue && !open) out[station]!++;
      open = overdue;
    }
  }
  return out;
}
