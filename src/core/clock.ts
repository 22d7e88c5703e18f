/**
 * The clock is injected everywhere so that rules, escalation deadlines and
 * simulators never read the wall clock directly: tests drive a ManualClock,
 * simulators may run a ScaledClock at 60x.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** How many times faster than the wall clock it runs, for a simulated clock (absent: real time). */
  readonly speed?: number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to: for tests of anything time-based. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start: number | Date = Date.UTC(2026, 0, 1, 8, 0, 0)) {
    this.#now = typeof start === 'number' ? start : start.getTime();
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): number {
    if (ms < 0) throw new RangeError('a clock cannot go backwards');
    this.#now += ms;
    return this.#now;
  }
  set(epochMs: number): void {
    this.#now = epochMs;
  }
}

/**
 * Simulated time for demos, simulators and tests of whole processes: at the
 * real moment `epoch` it is `start` (by default the same moment), and it runs
 * `speed` times faster than the wall clock. Two processes given the same
 * epoch, start and speed agree on the time, so a restarted gateway continues
 * where the previous one was.
 */
export class ScaledClock implements Clock {
  readonly speed: number;
  readonly epoch: number;
  readonly start: number;
  constructor(speed: number, epoch: number, start = epoch) {
    if (!(speed > 0)) throw new RangeError('speed must be positive');
    this.speed = speed;
    this.epoch = epoch;
    this.start = start;
  }
  now(): number {
    return Math.round(this.start + (Date.now() - this.epoch) * this.speed);
  }
}
