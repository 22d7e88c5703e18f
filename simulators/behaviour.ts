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
  return new ActionPlan(plan, scenario, start, profiles).next(Number.POSITIVE_INFINITY);
}

/** Stable: same-time actions keep the order they were made in. */
const byTime = (actions: SimAction[]): SimAction[] =>
  actions
    .map((a, i) => ({ a, i }))
    .sort((x, y) => x.a.at - y.a.at || x.i - y.i)
    .map((x) => x.a);

/**
 * A run's actions made a window of time at a time (a month of a thousand
 * homes would not fit in memory at once): `next(to)` gives the actions up to
 * `to`, in time order, each device's state (its sequence numbers, its step
 * count, its random draws) carried from one window to the next. Pure: the
 * same plan, scenario, start and windows always give the same sequence, and
 * one window over the whole run gives what generateActions gives.
 */
export class ActionPlan {
  /** Per home, in the plan's order: its devices, then its visits (as one pass makes them). */
  readonly #homes: Array<{ devices: DeviceScript[]; visits: SimAction[] }> = [];
  readonly #storms: SimAction[] = [];
  /** Actions made in an earlier window that fall after its end (a door closing 30 s later). */
  #carried: SimAction[] = [];
  #from: number;
  readonly end: number;

  constructor(plan: FleetPlan, scenario: Scenario, readonly start: number, profiles: ProfileRegistry) {
    this.end = start + scenario.durationMinutes * MIN;
    this.#from = start;
    const root = new Random(plan.seed);
    for (const resident of plan.residents) {
      const home: HomeState = { resident, incidents: scenario.incidents.filter((i) => i.resident === resident.index) };
      const devices = resident.devices.map((device) => new DeviceScript(device, home, profiles.get(device.profile)!.profile, scenario, start, this.end, root.fork(device.id)));
      this.#homes.push({ devices, visits: visitActions(resident, scenario, start, this.end, root.fork(`visits:${resident.index}`)) });
    }
    for (const inc of scenario.incidents.filter((i) => i.kind === 'reconnect_storm')) {
      const at = start + inc.atMinutes * MIN;
      for (const r of plan.residents) {
        for (const d of r.devices) {
          this.#storms.push({ at, kind: 'disconnect', deviceId: d.id, what: 'reconnect_storm' });
          this.#storms.push({ at: at + 1000, kind: 'reconnect', deviceId: d.id, what: 'reconnect_storm' });
        }
      }
    }
  }

  /** The actions from the end of the last window (or the start) up to `to` (exclusive), in time order. */
  next(to: number): SimAction[] {
    const from = this.#from;
    const made: SimAction[] = [];
    const inWindow = (a: SimAction) => a.at >= from && a.at < to;
    for (const home of this.#homes) {
      for (const d of home.devices) d.emit(from, to, made);
      made.push(...home.visits.filter(inWindow));
    }
    made.push(...this.#storms.filter(inWindow));
    const all = byTime([...this.#carried, ...made]);
    const cut = all.findIndex((a) => a.at >= to);
    this.#carried = cut === -1 ? [] : all.slice(cut);
    this.#from = to;
    return cut === -1 ? all : all.slice(0, cut);
  }
}

/**
 * One device's part of a run. Each of its streams (periodic reports, a
 * band's fast reports during an episode, the front door's comings and goings,
 * the scenario's incidents, the weekly button test) goes on from where the
 * last window left it; within a window they are made in that order, so one
 * window over the whole run draws its random numbers as a single pass would.
 */
class DeviceScript {
  readonly #send: (at: number, out: Outgoing, what: string) => void;
  readonly #report: (at: number, what?: string) => void;
  #out: SimAction[] = [];
  #seq: number;
  readonly #silentAt: number;
  readonly #interval: number;
  #nextReport: number;
  /** Per vitals episode of a band: the next fast report. */
  readonly #episodes: Array<{ next: number; until: number; kind: string }> = [];
  #nextDoorHour: number;
  #nextTestDay: number;

  constructor(
    readonly device: PlannedDevice,
    readonly home: HomeState,
    readonly profile: DeviceProfile,
    readonly scenario: Scenario,
    readonly start: number,
    readonly end: number,
    readonly rng: Random,
  ) {
    const kinds = reportKinds(profile);
    this.#send = (at, out, what) => {
      const m = encode(profile, device.id, out);
      this.#out.push({ at, kind: 'publish', deviceId: device.id, topic: m.topic, payload: m.payload, what });
    };
    this.#seq = rng.int(1, 200);
    const initialBattery = rng.between(60, 100);
    const drainPerDay = device.role === 'band' ? 3 : device.role === 'pendant' ? 0.5 : 0.1;
    const steps = { n: rng.int(0, 2000) };
    const silentFrom = home.incidents.find((i) => i.kind === 'device_silent' && i.device === device.role);
    this.#silentAt = silentFrom ? start + silentFrom.atMinutes * MIN : Infinity;
    const lowFrom = home.incidents.find((i) => i.kind === 'battery_down' && i.device === device.role);
    const batteryAt = (at: number) => (lowFrom && at >= start + lowFrom.atMinutes * MIN ? 10 : Math.round(Math.max(20, initialBattery - (drainPerDay * (at - start)) / 86_400_000)));
    this.#report = (at, what = 'report') => {
      const values = readingsNow(device.role, home, at, start, rng, batteryAt(at), steps);
      const readings = Object.fromEntries(Object.entries(values).filter(([k]) => kinds.has(k)));
      this.#send(at, { ts: at, readings }, what);
    };
    this.#batteryAt = batteryAt;
    // Periodic reports at the profile's heartbeat (or every `routineEvery` heartbeats), from a random phase; faster while a vitals incident lasts.
    this.#interval = profile.heartbeatSeconds * 1000 * scenario.routineEvery;
    this.#nextReport = start + Math.floor(rng.next() * Math.min(this.#interval, scenario.reportPhaseMinutes * MIN));
    if (device.role === 'band') {
      for (const inc of home.incidents.filter((i) => i.kind === 'heart_rate_climb' || i.kind === 'spo2_drop')) {
        this.#episodes.push({ next: start + inc.atMinutes * MIN + 1000, until: start + inc.atMinutes * MIN + CONDITION_MS, kind: inc.kind });
      }
    }
    this.#nextDoorHour = start;
    this.#nextTestDay = start;
  }

  readonly #batteryAt: (at: number) => number;

  #nextSeq(): number {
    return (this.#seq = (this.#seq % 250) + 1);
  }

  /** Appends to `into` this device's actions whose source falls in [from, to) (a door's closing may come 30 s later). */
  emit(from: number, to: number, into: SimAction[]): void {
    const { device, home, rng, start, end } = this;
    const stop = Math.min(end, this.#silentAt);
    this.#out = into;
    for (; this.#nextReport < Math.min(stop, to); this.#nextReport += this.#interval) this.#report(this.#nextReport);
    for (const ep of this.#episodes) for (; ep.next < Math.min(stop, ep.until, to); ep.next += FAST_REPORT_MS) this.#report(ep.next, ep.kind);

    // The front door: now and then in the daytime, somebody goes out or comes in (a sign of life for the wellbeing check).
    if (device.role === 'door') {
      for (; this.#nextDoorHour < Math.min(stop, to); this.#nextDoorHour += 60 * MIN) {
        const at = this.#nextDoorHour + Math.floor(rng.next() * 60 * MIN);
        if (rng.next() < 0.3 && !asleep(at) && at < stop && !active(home.incidents, 'no_motion', at, start)) {
          this.#send(at, { ts: at, events: ['door_open'], seq: this.#nextSeq() }, 'door');
          this.#send(at + 30_000, { ts: at + 30_000, events: ['door_closed'], seq: this.#nextSeq() }, 'door');
        }
      }
    }

    for (const inc of home.incidents) {
      const at = start + inc.atMinutes * MIN;
      if (at < from || at >= to) continue;
      if (at > this.#silentAt || (at === this.#silentAt && inc.kind !== 'device_silent')) continue;
      this.#incident(inc, at);
    }

    // The weekly button test, on a daytime hour of the resident's own.
    const tests = this.scenario.buttonTests;
    if (tests && device.role === 'pendant' && !tests.missedBy.includes(home.resident.index)) {
      for (; this.#nextTestDay < Math.min(end, to); this.#nextTestDay += tests.everyDays * DAY) {
        const at = this.#nextTestDay + Math.floor((1 + rng.next() * 8) * 3_600_000);
        if (at < stop) this.#send(at, { ts: at, events: ['test'], seq: this.#nextSeq() }, 'button_test');
      }
    }
  }

  #incident(inc: Incident, at: number): void {
    const { device, profile } = this;
    const event = (type: string, t = at, readings?: Record<string, number>) => this.#send(t, { ts: t, events: [type], seq: this.#nextSeq(), ...(readings ? { readings } : {}) }, `${inc.kind}: ${type}`);
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
        if (device.role === 'smoke') event('smoke', at, { smoke_alarm: 1, battery: this.#batteryAt(at), ambient_temperature: 27 });
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
        if (device.role === inc.device) this.#report(at, 'battery_down');
        break;
      case 'malformed':
        if (device.role === inc.device) this.#out.push({ at, kind: 'publish', deviceId: device.id, topic: encode(profile, device.id, { ts: at, readings: {} }).topic, payload: Buffer.from('\u0000garbage{"ts":'), what: 'malformed' });
        break;
      case 'device_silent':
        if (device.role === inc.device) this.#out.push({ at, kind: 'disconnect', deviceId: device.id, what: 'device_silent' });
        break;
      case 'button_test':
        if (device.role === (inc.device ?? 'pendant')) event('test');
        break;
      case 'service_press':
        if (device.role === 'pendant') event('service');
        break;
    }
  }
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
