import type { DeviceEvent, Reading } from '../core/model.ts';
import type { Severity } from '../core/alarm.ts';

/**
 * Rules are pure: (state, input, now) → (state', intents). No I/O, no clock of
 * their own: the evaluator feeds them inputs and the injected time, persists
 * their state, and turns intents into alarm changes.
 */
export type RuleInput =
  | { kind: 'reading'; reading: Reading }
  /**
   * All of one message's readings, at once, for a `batch` rule, with the
   * device's latest value of every quantity (including these): a read-only
   * view the evaluator keeps up to date.
   */
  | { kind: 'readings'; readings: Reading[]; latest: LatestReadings }
  | { kind: 'event'; event: DeviceEvent }
  /**
   * Time passed; `lastSeen` is when the device was last heard (null: never),
   * `listeningSince` when the gateway started listening (a device is not
   * silent for time nobody could hear it: after a restart its devices need a
   * moment to reconnect).
   */
  | TickInput;

export type TickInput = { kind: 'tick'; lastSeen: number | null; listeningSince?: number };

export type LatestReadings = ReadonlyMap<string, { readonly value: number; readonly ts: number }>;

export type AlarmIntent =
  | { action: 'raise'; alarm: string; severity: Severity; detail: Record<string, unknown> }
  /** The condition ended by itself: resolve the open alarm, saying why. */
  | { action: 'clear'; alarm: string; reason: string }
  /** The resident cancelled in time: resolve as a false alarm before the family is called. */
  | { action: 'cancel'; alarm: string; reason: string }
  /** Something worth a line on the open alarm's timeline. */
  | { action: 'note'; alarm: string; kind: 'cancel_too_late'; detail: Record<string, unknown> };

export interface RuleResult<S> {
  state: S;
  intents: AlarmIntent[];
}

export interface Rule<S = unknown> {
  /** Stable within a profile: where its state is kept. */
  readonly key: string;
  readonly alarm: string;
  initial(): S;
  /** Returns null when nothing changed (the common case, and the evaluator's fast path). */
  evaluate(state: S, input: RuleInput, now: number): RuleResult<S> | null;
  /** The reading kinds this rule looks at (resident-level rules see every reading of every device). */
  readonly readingKinds?: ReadonlySet<string>;
  /** Wants a message's readings together (`readings` input) rather than one by one. */
  readonly batch?: boolean;
  /**
   * The part of the state that must survive a restart, as JSON text (default:
   * all of it). The rest is rebuilt from new input; a state change that leaves
   * this text unchanged causes no write.
   */
  durable?(state: S): string;
  /**
   * For a rule only time moves (a device's timed rule): the earliest instant
   * a tick could change anything, given this state and what a tick sees now,
   * whatever the device sends meanwhile. The evaluator skips the rule's ticks
   * before then (a fleet's silence checks cost what is due, not the fleet
   * every tick). -Infinity: every tick. Absent: every tick. For a resident's
   * rule, whose state also changes with what the devices send, the answer
   * holds until that state changes: the evaluator asks again then.
   */
  nextTick?(state: S, input: TickInput, now: number): number;
}

/** Nothing changed: no new state, no intents. Allocates nothing. */
export const unchanged = (_state?: unknown): null => null;
