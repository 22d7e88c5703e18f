import type { Clock } from '../core/clock.ts';
import { MinHeap } from '../core/min-heap.ts';
import type { Tx } from '../core/tx.ts';
import type { Logger } from '../core/logger.ts';
import type { DeviceContext, DeviceEvent, Reading } from '../core/model.ts';
import type { KnownDevice } from '../devices/directory.ts';
import type { CompiledProfile } from '../profiles/registry.ts';
import { eventRule } from './event-rule.ts';
import { silenceRule } from './silence-rule.ts';
import { thresholdRule } from './threshold-rule.ts';
import type { AlarmIntent, Rule, RuleInput, TickInput } from './types.ts';
import { vitalsScoreRule } from './vitals-score-rule.ts';
import { inactivityRule } from './inactivity-rule.ts';
import { nightBedExitRule } from './night-bed-exit-rule.ts';
import { defaultInactivity, defaultNightBedExit, type ResidentSettings } from '../core/resident-settings.ts';

/** The rules of one profile, indexed by what wakes them. */
interface ProfileRules {
  byReading: Map<string, Rule[]>;
  /** Rules that take a message's readings at once (the early-warning score). */
  batched: Rule[];
  byEvent: Rule[];
  ticking: Rule[];
}

/**
 * Builds a profile's default alarm rules (data in its JSON file) into rule
 * instances, with the resident's overrides (cancel window, thresholds) applied.
 */
export function rulesForProfile(profile: CompiledProfile, settings: ResidentSettings = {}): ProfileRules {
  const out: ProfileRules = { byReading: new Map(), batched: [], byEvent: [], ticking: [] };
  const onReading = (kind: string, rule: Rule) => out.byReading.set(kind, [...(out.byReading.get(kind) ?? []), rule]);
  for (const spec of profile.profile.alarmRules) {
    switch (spec.kind) {
      case 'event':
        out.byEvent.push(
          eventRule(spec.cancelWindowSeconds !== undefined && settings.cancelWindowSeconds !== undefined ? { ...spec, cancelWindowSeconds: settings.cancelWindowSeconds } : spec) as Rule,
        );
        break;
      case 'threshold': {
        const override = settings.thresholds?.[spec.alarm];
        const merged = override ? { ...spec, ...override } : spec;
        // An override may switch direction (above ↔ below) only by giving the new one.
        if (override?.above !== undefined && spec.below !== undefined && override.below === undefined) delete (merged as { below?: number }).below;
        if (override?.below !== undefined && spec.above !== undefined && override.above === undefined) delete (merged as { above?: number }).above;
        onReading(spec.reading, thresholdRule(merged) as Rule);
        break;
      }
      case 'silence':
        out.ticking.push(silenceRule({ heartbeatSeconds: profile.profile.heartbeatSeconds, heartbeats: spec.heartbeats, alarm: spec.alarm, severity: spec.severity }) as Rule);
        break;
      case 'vitals_score':
        out.batched.push(vitalsScoreRule({ alarm: spec.alarm }) as Rule);
        break;
    }
  }
  return out;
}

/** The resident-level rules: across all of a resident's devices, in the resident's time zone. */
export function residentRules(settings: ResidentSettings, timeZone: string): Rule[] {
  const rules: Rule[] = [];
  const inactivity = { ...defaultInactivity, ...settings.inactivity };
  if (inactivity.enabled) rules.push(inactivityRule({ hours: inactivity.hours, daytime: settings.inactivity?.daytime, timeZone }) as Rule);
  const night = { ...defaultNightBedExit, ...settings.nightBedExit };
  if (night.enabled) rules.push(nightBedExitRule({ from: night.from, to: night.to, returnMinutes: night.returnMinutes, timeZone }) as Rule);
  return rules;
}

/** One rule as a device's readings reach it: with the state map of the subject it watches. */
interface Step {
  rule: Rule;
  subject: string;
  states: Map<string, unknown>;
  residentLevel: boolean;
}

/**
 * What a device's readings wake, resolved on its first message: per reading
 * kind, the device's rules and its resident's rules that look at that kind,
 * each with its state map. They run in this order: the device's per-reading
 * rules, its batch rules, then the resident's rules. Rebuilt when the device's
 * profile or resident changes, or any resident's settings do.
 */
interface ReadingPlan {
  profileId: string;
  residentId: string | null;
  byKind: Map<string, Step[]>;
  batched: Step[];
  /** The resident's rules by reading kind; `undefined` key: rules that see every reading. */
  residentByKind: Map<string | undefined, Step[]>;
  /** The device's latest value of each quantity, for batch rules (shared with the evaluator's cache). */
  latest: Map<string, { value: number; ts: number }> | undefined;
}

interface ResidentEntry {
  settings: ResidentSettings;
  /** Settings of their own: the profile rules are built for this resident. */
  custom: boolean;
  /** The resident-level rules (inactivity, night bed exit). */
  rules: Rule[];
  profileRules: Map<string, ProfileRules>;
}

/** A device's timed rules have nothing to do before `at` (worked out for this device object: a new record is a new object). */
interface TickDue {
  readonly at: number;
  readonly device: KnownDevice;
}

/** Writes an input's rules started, to wait for together. */
interface Writes {
  pending: Array<Promise<void>> | undefined;
}

/** A rule's new durable state with nothing else to record, waiting to be written with others (#saveState). */
interface StateSave {
  readonly subject: string;
  readonly rule: string;
  readonly durable: string;
  /** Puts back what the evaluation took (the write failed). */
  readonly undo: () => void;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** Where rule state survives a restart (store/rule-state.ts). */
export interface RuleStateStore {
  all(): Promise<Array<{ subject: string; rule: string; state: string }>>;
  /** One subject's rows, read again when this node takes a device over from another. */
  forSubject?(subject: string): Promise<Array<{ subject: string; rule: string; state: string }>>;
  in(tx: Tx): { save(subject: string, rule: string, state: string, at: number): Promise<void>; current?(subject: string, rule: string): Promise<string | undefined> };
}

/** Which node holds each device (store/device-owners.ts), for several nodes on one database. */
export interface DeviceOwners {
  claim(deviceId: string, node: string, at: number): Promise<{ epoch: number; previousNode: string | null }>;
  in(tx: Tx): { holds(deviceId: string, node: string, epoch: number): Promise<boolean> };
}

/** A node found, inside a rule's transaction, that another node has taken the device since. */
export class DeviceTakenError extends Error {
  constructor(readonly deviceId: string) {
    super(`device ${deviceId} is held by another node now`);
    this.name = 'DeviceTakenError';
  }
}

/** What the evaluator's intents go to (alarms/apply-intents.ts): one unit of work per rule result (or the caller's). */
export interface IntentSink {
  transaction<T>(fn: (tx: Tx) => Promise<T>, within?: Tx): Promise<T>;
  apply(device: DeviceContext, ruleKey: string, intent: AlarmIntent, residentLevel: boolean, tx: Tx): Promise<void>;
}

export interface EvaluatorDeps {
  /** The devices in service (devices/directory.ts). */
  devices: {
    get(id: string): KnownDevice | undefined;
    /** A snapshot: the tick may yield while devices come and go. */
    all(): readonly KnownDevice[];
    /**
     * Changes whenever a device is added or taken out of service. While it
     * stays the same, a tick looks only at the devices due (a heap of their
     * due times) instead of the whole fleet. Absent: every tick reads the fleet.
     */
    readonly revision?: number;
  };
  /** A resident's rule settings and time zone; null when there is no such resident. */
  residentOf(id: string): { settings: ResidentSettings; timezone: string } | null;
  ruleState: RuleStateStore;
  intents: IntentSink;
  clock: Clock;
  log: Logger;
  /**
   * Several nodes on one database: this node's name and the device holders.
   * Then a device's rules run here only while this node holds it (`claim` when
   * it connects), and every write of a device rule checks, in its transaction,
   * that the epoch taken is still current. Unset (one gateway): every device is
   * this node's.
   */
  ownership?: { node: string; owners: DeviceOwners };
}

/**
 * Runs each device's rules on its readings, events and the passing of time,
 * keeps their state (persisted when its durable part changes, in the same
 * transaction as the alarm change it causes) and turns intents into alarms.
 */
export class RuleEvaluator {
  readonly #d: EvaluatorDeps;
  /** When this gateway started: its devices are given their heartbeats from then to reconnect (silence-rule.ts). */
  readonly #listeningSince: number;
  readonly #rules = new Map<string, ProfileRules>();
  /** Per resident: settings, time zone, and the resident-level rules built from them. */
  readonly #residents = new Map<string, ResidentEntry | null>();
  /** Device id → kind → latest reading: a cache updated in place, read by batch rules. */
  readonly #latest = new Map<string, Map<string, { value: number; ts: number }>>();
  /** subject → rule key → state (two levels: no key strings built per evaluation). */
  readonly #state = new Map<string, Map<string, unknown>>();
  /** Device id → what its readings wake. */
  readonly #plans = new Map<string, ReadingPlan>();
  /** Persisted state not yet merged into a rule's current shape (done on first use), and what is on disk. */
  readonly #loaded = new SubjectMap<unknown>();
  readonly #persisted = new SubjectMap<string>();
  /** Writes one message's readings started; reused, so a message with nothing to write allocates nothing for it. */
  readonly #readingWrites: Writes = { pending: undefined };
  /** With ownership: the devices this node holds, at the epoch it took each. */
  readonly #epochs = new Map<string, number>();
  /** Device id → before when its timed rules have nothing to do (Rule.nextTick), for the device (and so the rules) it was worked out for. */
  readonly #tickDue = new Map<string, TickDue>();
  /** The same due times, earliest first (an entry no longer in #tickDue is stale and skipped). */
  readonly #dueHeap = new MinHeap<TickDue>((d) => d.at);
  /** Devices whose timed rules run at every tick (an alarm raised, a write under way, a rule that cannot say when). */
  readonly #everyTick = new Set<string>();
  /** Resident id → one of their devices in service (the context of the resident's timed rules), as of the last read of the fleet. */
  readonly #tickResidents = new Map<string, DeviceContext>();
  /** Resident id → before when their timed rules have nothing to do (Rule.nextTick); dropped whenever one of their rules' state changes. */
  readonly #residentDue = new Map<string, number>();
  /** The directory's revision when the fleet was last read whole; undefined: read it at the next tick. */
  #fleetRead: number | undefined;
  /** Timed rules run by ticks so far, device and resident rules (what a tick costs: a rule not due is not run). */
  tickRuns = 0;
  /** State-only writes of this turn of the event loop, written together in one transaction at its end. */
  #stateSaves: StateSave[] = [];

  constructor(deps: EvaluatorDeps) {
    this.#d = deps;
    this.#listeningSince = deps.clock.now();
  }

  /** Loads persisted rule state. */
  async load(): Promise<void> {
    for (const r of await this.#d.ruleState.all()) this.#keep(r);
  }

  /**
   * Takes a device for this node (it has just connected here), before its
   * first message is read. When another node held it before, its rule state
   * is read again from the database: a duration half-way through, a cancel
   * window, carry on from where that node left them. Without ownership, does
   * nothing.
   */
  async claim(deviceId: string): Promise<void> {
    const own = this.#d.ownership;
    if (!own) return;
    const { epoch, previousNode } = await own.owners.claim(deviceId, own.node, this.#d.clock.now());
    await this.#take(deviceId, epoch, previousNode !== null && previousNode !== own.node);
  }

  /**
   * Takes devices this node adopted (store/nodes.ts: their node died, or this
   * node held them before it restarted) at the epochs the adoption gave
   * them: their rule state is read from the database and their time-driven
   * rules (silence first) run here from now on, connected or not.
   */
  async adopt(devices: ReadonlyArray<{ deviceId: string; epoch: number }>): Promise<void> {
    if (!this.#d.ownership) return;
    for (const { deviceId, epoch } of devices) await this.#take(deviceId, epoch, true);
  }

  /** A stored state: what is on disk, and to be merged into the rule's current shape on first use. */
  #keep(r: { subject: string; rule: string; state: string }): void {
    this.#persisted.set(r.subject, r.rule, r.state);
    this.#loaded.set(r.subject, r.rule, JSON.parse(r.state));
  }

  /** Holds the device at `epoch` (a later epoch already held here stays), its rule state read again when `reread`. */
  async #take(deviceId: string, epoch: number, reread: boolean): Promise<void> {
    const rows = reread ? ((await this.#d.ruleState.forSubject?.(deviceId)) ?? []) : [];
    if ((this.#epochs.get(deviceId) ?? 0) > epoch) return;
    if (reread) {
      this.#forget(deviceId);
      for (const r of rows) this.#keep(r);
    }
    this.#epochs.set(deviceId, epoch);
    this.#fleetRead = undefined; // the devices this node holds changed
  }

  /** Does this node run the device's rules? (Always, without ownership.) */
  holds(deviceId: string): boolean {
    return this.#d.ownership === undefined || this.#epochs.has(deviceId);
  }

  /** Drops what this node keeps of a device's rules (another node has it now). */
  #forget(deviceId: string): void {
    this.#epochs.delete(deviceId);
    this.#state.delete(deviceId);
    this.#latest.delete(deviceId);
    this.#plans.delete(deviceId); // its steps hold the state maps just dropped
    this.#tickDue.delete(deviceId);
    this.#fleetRead = undefined; // the devices this node holds changed
    this.#persisted.deleteSubject(deviceId);
    this.#loaded.deleteSubject(deviceId);
  }

  #resident(residentId: string | null) {
    if (residentId === null) return null;
    let entry = this.#residents.get(residentId);
    if (entry === undefined) {
      const r = this.#d.residentOf(residentId);
      entry = r
        ? {
            settings: r.settings,
            custom: Object.keys(r.settings).length > 0,
            rules: residentRules(r.settings, r.timezone),
            profileRules: new Map(),
          }
        : null;
      this.#residents.set(residentId, entry);
    }
    return entry;
  }

  /** A resident's settings changed: rebuild their rules (rule state is kept). */
  residentChanged(residentId: string): void {
    this.#residents.delete(residentId);
    this.#plans.clear();
    this.#tickDue.clear(); // the rules a due time was worked out for may have changed
    this.#residentDue.delete(residentId);
    this.#fleetRead = undefined;
  }

  #statesOf(subject: string): Map<string, unknown> {
    let states = this.#state.get(subject);
    if (!states) this.#state.set(subject, (states = new Map()));
    return states;
  }

  #planFor(device: DeviceContext): ReadingPlan | null {
    const known = this.#d.devices.get(device.id);
    if (!known) return null;
    const rules = this.#rulesOf(known.profile, device.residentId);
    const resident = this.#resident(device.residentId);
    const deviceStates = this.#statesOf(device.id);
    const plan: ReadingPlan = { profileId: device.profileId, residentId: device.residentId, byKind: new Map(), batched: [], residentByKind: new Map(), latest: undefined };
    const add = <K,>(map: Map<K, Step[]>, kind: K, step: Step) => {
      const steps = map.get(kind);
      if (steps) steps.push(step);
      else map.set(kind, [step]);
    };
    for (const [kind, matching] of rules.byReading) for (const rule of matching) add(plan.byKind, kind, { rule, subject: device.id, states: deviceStates, residentLevel: false });
    for (const rule of rules.batched) plan.batched.push({ rule, subject: device.id, states: deviceStates, residentLevel: false });
    if (plan.batched.length > 0) {
      plan.latest = this.#latest.get(device.id);
      if (!plan.latest) this.#latest.set(device.id, (plan.latest = new Map()));
    }
    if (resident) {
      const residentStates = this.#statesOf(device.residentId!);
      for (const rule of resident.rules) {
        const step = { rule, subject: device.residentId!, states: residentStates, residentLevel: true };
        if (rule.readingKinds) for (const kind of rule.readingKinds) add(plan.residentByKind, kind, step);
        else add(plan.residentByKind, undefined, step);
      }
    }
    return plan;
  }

  /** A profile's rules: shared by every device, or per resident when the resident has settings of their own. */
  #rulesOf(profile: CompiledProfile, residentId: string | null): ProfileRules {
    const resident = this.#resident(residentId);
    const cache = resident?.custom ? resident.profileRules : this.#rules;
    let rules = cache.get(profile.id);
    if (!rules) cache.set(profile.id, (rules = rulesForProfile(profile, resident?.settings)));
    return rules;
  }

  /**
   * `now`: when the message arrived (read from the clock when not given).
   * Returns a promise only when a rule's result had to be written (an alarm
   * change, durable state): the common case stays synchronous. The promise
   * settles once written; a failed write is logged and the rule's state put
   * back, so the next reading tries again.
   */
  onReadings(device: DeviceContext, readings: Reading[], now = this.#d.clock.now()): Promise<void> | undefined {
    let plan = this.#plans.get(device.id);
    if (plan === undefined || plan.profileId !== device.profileId || plan.residentId !== device.residentId) {
      const built = this.#planFor(device);
      if (built === null) return undefined;
      this.#plans.set(device.id, (plan = built));
    }
    const writes = this.#readingWrites;
    writes.pending = undefined;
    if (plan.byKind.size > 0) {
      for (let i = 0; i < readings.length; i++) {
        const steps = plan.byKind.get(readings[i]!.kind);
        if (steps !== undefined) this.#steps(device, steps, { kind: 'reading', reading: readings[i]! }, now, writes);
      }
    }
    const latest = plan.latest;
    if (latest !== undefined) {
      for (let i = 0; i < readings.length; i++) {
        const r = readings[i]!;
        const entry = latest.get(r.kind);
        if (entry === undefined) latest.set(r.kind, { value: r.value, ts: r.ts });
        else if (r.ts >= entry.ts) {
          entry.value = r.value;
          entry.ts = r.ts;
        }
      }
      this.#steps(device, plan.batched, { kind: 'readings', readings, latest }, now, writes);
    }
    if (plan.residentByKind.size > 0) {
      const everyReading = plan.residentByKind.get(undefined);
      for (let i = 0; i < readings.length; i++) {
        const steps = plan.residentByKind.get(readings[i]!.kind);
        if (steps === undefined && everyReading === undefined) continue;
        const input: RuleInput = { kind: 'reading', reading: readings[i]! };
        if (steps !== undefined) this.#steps(device, steps, input, now, writes);
        if (everyReading !== undefined) this.#steps(device, everyReading, input, now, writes);
      }
    }
    const pending = writes.pending;
    writes.pending = undefined;
    return pending && Promise.all(pending).then(() => undefined);
  }

  #steps(device: DeviceContext, steps: Step[], input: RuleInput, now: number, writes: Writes): void {
    for (let j = 0; j < steps.length; j++) {
      const step = steps[j]!;
      this.#collect(writes, this.#evaluate(device, step.rule, step.states, step.subject, input, now, step.residentLevel));
    }
  }

  /**
   * Runs the event's rules inside ingest's transaction `tx`, one after the
   * other. Rejects if an alarm could not be recorded, so the event is not
   * recorded either, ingest withholds the PUBACK and the device redelivers.
   */
  async onEvent(device: KnownDevice, event: DeviceEvent, tx: Tx): Promise<void> {
    const now = this.#d.clock.now();
    for (const rule of this.#rulesOf(device.profile, device.residentId).byEvent) await this.#run(device, rule, { kind: 'event', event }, now, false, tx);
    const resident = this.#resident(device.residentId);
    if (resident) for (const rule of resident.rules) await this.#run(device, rule, { kind: 'event', event }, now, true, tx);
  }

  /** Time-driven rules: silence for every device; inactivity and night bed exit for every resident. Resolves when what they raised is written. */
  async tick(): Promise<void> {
    const writes: Writes = { pending: undefined };
    for (const _ of this.#tickSteps(writes));
    if (writes.pending) await Promise.all(writes.pending);
  }

  /**
   * The same as tick(), `size` devices or residents at a time with the event
   * loop free between slices, so a fleet's tick never holds up an SOS behind
   * it. Resolves with the milliseconds spent evaluating (not waiting).
   */
  async tickInSlices(size = 200): Promise<number> {
    let busy = 0;
    let n = 0;
    let t0 = performance.now();
    const writes: Writes = { pending: undefined };
    for (const _ of this.#tickSteps(writes)) {
      if (++n % size !== 0) continue;
      busy += performance.now() - t0;
      if (writes.pending) await Promise.all(writes.pending.splice(0));
      await new Promise<void>((resolve) => setImmediate(resolve));
      t0 = performance.now();
    }
    busy += performance.now() - t0;
    if (writes.pending) await Promise.all(writes.pending);
    return busy;
  }

  /**
   * One step per device looked at, then one per resident. The whole fleet is
   * read when it changed (a device added or taken out of service, the devices
   * this node holds, a resident's settings) or when the directory cannot say;
   * otherwise only the devices due (the heap) and those looked at every tick.
   * The devices are a snapshot taken at the start.
   */
  *#tickSteps(writes: Writes): Generator<void> {
    const now = this.#d.clock.now();
    const revision = this.#d.devices.revision;
    let looked: Iterable<KnownDevice>;
    if (revision === undefined || revision !== this.#fleetRead) {
      this.#fleetRead = revision;
      looked = this.#readFleet(now);
    } else {
      const due: KnownDevice[] = [];
      for (let next = this.#dueHeap.peek(); next !== undefined && next.at <= now; next = this.#dueHeap.peek()) {
        this.#dueHeap.pop();
        if (this.#tickDue.get(next.device.id) !== next) continue; // stale: looked at since, or forgotten
        this.#tickDue.delete(next.device.id);
        due.push(next.device);
      }
      for (const id of this.#everyTick) {
        const device = this.#d.devices.get(id);
        if (device) due.push(device);
        else this.#everyTick.delete(id);
      }
      looked = due;
    }
    for (const device of looked) {
      if (device.decommissioned || !this.holds(device.id)) {
        this.#everyTick.delete(device.id); // back when the fleet is read again (it changed)
        continue;
      }
      this.#tickDevice(device, now, writes);
      yield;
    }
    for (const [residentId, context] of this.#tickResidents) {
      const due = this.#residentDue.get(residentId);
      if (due !== undefined && now < due) continue;
      const resident = this.#resident(residentId);
      if (resident) this.#tickResident(residentId, context, resident.rules, now, writes);
      yield;
    }
  }

  /**
   * Reads the whole fleet: the residents with a device in service here, and
   * the devices to look at now (due, or never given a due time). The heap is
   * built again from the due times still valid.
   */
  #readFleet(now: number): KnownDevice[] {
    const look: KnownDevice[] = [];
    this.#tickResidents.clear();
    this.#everyTick.clear();
    this.#dueHeap.clear();
    for (const device of this.#d.devices.all()) {
      if (device.decommissioned) continue; // taken out of service: its silence is expected
      if (!this.holds(device.id)) continue; // another node's (several nodes)
      if (device.residentId) this.#tickResidents.set(device.residentId, device);
      const due = this.#tickDue.get(device.id);
      if (due !== undefined && due.device === device && now < due.at) {
        if (Number.isFinite(due.at)) this.#dueHeap.push(due);
      } else look.push(device);
    }
    return look;
  }

  /** Runs a device's timed rules and works out when they are next due. */
  #tickDevice(device: KnownDevice, now: number, writes: Writes): void {
    const input: TickInput = { kind: 'tick', lastSeen: device.lastSeen, listeningSince: this.#listeningSince };
    const next = this.#runTimed(device, this.#rulesOf(device.profile, device.residentId).ticking, input, now, false, writes);
    if (next > now) {
      const due: TickDue = { at: next, device };
      this.#tickDue.set(device.id, due);
      if (Number.isFinite(next)) this.#dueHeap.push(due);
      this.#everyTick.delete(device.id);
    } else {
      this.#tickDue.delete(device.id);
      this.#everyTick.add(device.id);
    }
  }

  /**
   * Runs a resident's timed rules (inactivity, a night's bed exit) and works
   * out when they are next due. Their state also changes with what the
   * resident's devices send; any change drops the due time (#stateMoved).
   */
  #tickResident(residentId: string, context: DeviceContext, rules: readonly Rule[], now: number, writes: Writes): void {
    const next = this.#runTimed(context, rules, { kind: 'tick', lastSeen: null }, now, true, writes);
    // Set after the rules ran: their own state changes (which drop it) came first.
    if (next > now) this.#residentDue.set(residentId, next);
    else this.#residentDue.delete(residentId);
  }

  /**
   * Runs timed rules for a device or a resident and returns when a tick could
   * next change anything: what the rules say (Rule.nextTick) when nothing is
   * being written; -Infinity (every tick) when a write was started, since it
   * may fail and put the state back, or when a rule cannot say.
   */
  #runTimed(context: DeviceContext, rules: readonly Rule[], input: TickInput, now: number, residentLevel: boolean, writes: Writes): number {
    const states = this.#statesOf(residentLevel ? context.residentId! : context.id);
    let next = Number.POSITIVE_INFINITY;
    for (const rule of rules) {
      this.tickRuns++;
      const written = this.#run(context, rule, input, now, residentLevel);
      if (written) {
        this.#collect(writes, written);
        next = Number.NEGATIVE_INFINITY;
      } else if (next > Number.NEGATIVE_INFINITY) {
        next = rule.nextTick ? Math.min(next, rule.nextTick(states.get(rule.key), input, now)) : Number.NEGATIVE_INFINITY;
      }
    }
    return next;
  }

  /** A rule's state changed (or was put back): a resident's due time, worked out from the old state, no longer holds. */
  #stateMoved(subject: string, residentLevel: boolean): void {
    if (residentLevel) this.#residentDue.delete(subject);
  }

  /** Keeps a write to wait for; its failure is already logged and the state put back (#evaluate). */
  #collect(writes: Writes, written: Promise<void> | undefined): void {
    if (written) (writes.pending ??= []).push(written.catch(() => {}));
  }

  /** `residentLevel`: the rule watches the resident (all their devices), not one device. */
  #run(device: DeviceContext, rule: Rule, input: RuleInput, now: number, residentLevel = false, within?: Tx): Promise<void> | undefined {
    const subject = residentLevel ? device.residentId! : device.id;
    return this.#evaluate(device, rule, this.#statesOf(subject), subject, input, now, residentLevel, within);
  }

  /**
   * Runs one rule. Its new state is taken at once (a message or a tick that
   * comes while the write is under way sees it); what must be written (alarm
   * changes, durable state) goes in one transaction, `within` the caller's
   * when given (a change of state alone, on one gateway, goes with the other
   * rules' of the same turn of the event loop). If that write fails the state
   * is put back, so the next input tries again, and the promise rejects
   * (logged here).
   */
  #evaluate(device: DeviceContext, rule: Rule, states: Map<string, unknown>, subject: string, input: RuleInput, now: number, residentLevel: boolean, within?: Tx): Promise<void> | undefined {
    let state = states.get(rule.key);
    if (state === undefined) {
      const loaded = this.#loaded.get(subject, rule.key);
      state = loaded === undefined ? rule.initial() : { ...(rule.initial() as object), ...(loaded as object) };
      this.#loaded.delete(subject, rule.key);
      states.set(rule.key, state);
    }
    let result;
    try {
      result = rule.evaluate(state, input, now);
    } catch (err) {
      this.#d.log.error({ err, deviceId: device.id, rule: rule.key }, 'rule failed');
      return undefined;
    }
    if (result === null || (result.state === state && result.intents.length === 0)) return undefined; // nothing changed: the common case
    const durable = rule.durable ? rule.durable(result.state) : JSON.stringify(result.state);
    const wasPersisted = this.#persisted.get(subject, rule.key);
    const persist = durable !== wasPersisted;
    states.set(rule.key, result.state);
    this.#stateMoved(subject, residentLevel);
    if (result.intents.length === 0 && !persist) return undefined;
    if (persist) this.#persisted.set(subject, rule.key, durable);
    const { intents, ruleState, ownership } = this.#d;
    const next = result.state;
    // Only the state changed (an inactivity check's last activity moved to the next five minutes), outside a
    // caller's transaction, on one gateway: written with the others of this turn of the event loop, in one
    // transaction (a fleet's motion sensors would otherwise open one each). Put back the same way if it fails.
    // Puts back what this evaluation took (its write failed), unless a later one has moved on since.
    const putBack = (): void => {
      if (states.get(rule.key) === next) states.set(rule.key, state);
      this.#stateMoved(subject, residentLevel);
      if (persist && this.#persisted.get(subject, rule.key) === durable) {
        if (wasPersisted === undefined) this.#persisted.delete(subject, rule.key);
        else this.#persisted.set(subject, rule.key, wasPersisted);
      }
    };
    if (within === undefined && result.intents.length === 0 && !ownership) return this.#saveState(subject, rule.key, durable, putBack);
    // Several nodes: a device rule writes only while this node still holds the device.
    const epoch = ownership && !residentLevel ? (this.#epochs.get(device.id) ?? 0) : undefined;
    let taken = false;
    /** A resident's rule found another node's newer state in the database, and ran again on it. */
    let rebased: { state: unknown; stored: string; durable: string; persist: boolean } | undefined;
    return intents
      .transaction(async (tx) => {
        if (epoch !== undefined && !(await ownership!.owners.in(tx).holds(device.id, ownership!.node, epoch))) {
          // An event this node took in (an SOS) still raises its alarm: only the state is the new holder's.
          if (within === undefined) throw new DeviceTakenError(device.id);
          taken = true;
        }
        let todo = result;
        let write = { durable, persist };
        // Several nodes: a resident's devices may be held by different nodes, each running the resident's rules
        // (inactivity, a night's bed exit). Before one acts or writes, its state is checked against the
        // database, locked: if another node has written since, the rule runs again on that state.
        const rows = ruleState.in(tx);
        const stored = residentLevel && ownership && rows.current ? await rows.current(subject, rule.key) : undefined;
        if (stored !== undefined && stored !== wasPersisted) {
          const fresh = { ...(rule.initial() as object), ...(JSON.parse(stored) as object) };
          todo = rule.evaluate(fresh, input, now) ?? { state: fresh, intents: [] };
          const again = rule.durable ? rule.durable(todo.state) : JSON.stringify(todo.state);
          write = { durable: again, persist: again !== stored };
          rebased = { state: todo.state, stored, ...write };
        }
        for (const intent of todo.intents) await intents.apply(device, rule.key, intent, residentLevel, tx);
        if (write.persist && !taken) await rows.save(subject, rule.key, write.durable, this.#d.clock.now());
      }, within)
      .then(
        () => {
          if (taken) this.#taken(device.id);
          if (rebased) {
            if (states.get(rule.key) === next) states.set(rule.key, rebased.state);
            this.#stateMoved(subject, residentLevel);
            this.#persisted.set(subject, rule.key, rebased.persist ? rebased.durable : rebased.stored);
          }
        },
        (err: unknown) => {
          if (err instanceof DeviceTakenError) {
            this.#taken(device.id);
            return;
          }
          putBack();
          this.#d.log.error({ err, deviceId: device.id, rule: rule.key }, 'could not record the alarm change of a rule');
          throw err;
        },
      );
  }

  /** Queues a state-only write; the turn's writes go in one transaction once the event loop has run what is ready. */
  #saveState(subject: string, rule: string, durable: string, undo: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#stateSaves.length === 0) setImmediate(() => this.#writeStates());
      this.#stateSaves.push({ subject, rule, durable, undo, resolve, reject });
    });
  }

  /**
   * Writes the rule states queued this turn now, and waits for a write under
   * way: at shutdown, before the database closes, so what a restart reads
   * back is the latest (the queued write would otherwise find it closed).
   */
  async flush(): Promise<void> {
    this.#writeStates();
    await this.#statesWritten;
  }

  /** Settles once every write of queued states started so far has (none rejects: a failure is put back and logged). */
  #statesWritten: Promise<void> = Promise.resolve();

  #writeStates(): void {
    const saves = this.#stateSaves;
    if (saves.length === 0) return; // flushed before its turn came
    this.#stateSaves = [];
    // Settles to nothing: a value would keep every earlier write's, a list growing with each turn.
    this.#statesWritten = Promise.all([this.#statesWritten, this.#writeQueued(saves)]).then(() => undefined);
  }

  async #writeQueued(saves: StateSave[]): Promise<void> {
    const at = this.#d.clock.now();
    try {
      await this.#d.intents.transaction(async (tx) => {
        const rows = this.#d.ruleState.in(tx);
        for (const s of saves) await rows.save(s.subject, s.rule, s.durable, at);
      });
    } catch (err) {
      // Latest first, so that a rule evaluated twice this turn is back where it was before both.
      for (let i = saves.length - 1; i >= 0; i--) saves[i]!.undo();
      this.#d.log.error({ err, states: saves.length }, 'could not record the rule states');
      for (const s of saves) s.reject(err);
      return;
    }
    for (const s of saves) s.resolve();
  }

  /** Another node holds the device now: its rules stop here, and what was kept of them goes. */
  #taken(deviceId: string): void {
    if (!this.#epochs.has(deviceId) && !this.#state.has(deviceId)) return;
    this.#forget(deviceId);
    this.#d.log.info({ deviceId, node: this.#d.ownership?.node }, 'device held by another node now: its rules run there');
  }
}

/**
 * Per subject (a device or a resident), per rule: what is kept of one
 * device goes in one step (a node adopting thousands of devices at once
 * must not scan every key for each).
 */
class SubjectMap<V> {
  readonly #bySubject = new Map<string, Map<string, V>>();
  get(subject: string, rule: string): V | undefined {
    return this.#bySubject.get(subject)?.get(rule);
  }
  set(subject: string, rule: string, value: V): void {
    let m = this.#bySubject.get(subject);
    if (!m) this.#bySubject.set(subject, (m = new Map()));
    m.set(rule, value);
  }
  delete(subject: string, rule: string): void {
    const m = this.#bySubject.get(subject);
    if (m?.delete(rule) && m.size === 0) this.#bySubject.delete(subject);
  }
  deleteSubject(subject: string): void {
    this.#bySubject.delete(subject);
  }
}
