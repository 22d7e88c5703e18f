import type { Logger } from '../core/logger.ts';
import type { RuleTiming } from '../core/metrics.ts';
import type { AlarmService } from './service.ts';

/** What the engine needs of the outbox worker (notify/worker.ts): send what is due, and say when nothing is under way. */
export interface DeliveryWorker {
  tick(): Promise<void>;
  idle(): Promise<void>;
}

/** What the engine needs of the rule evaluator (rules/evaluator.ts): run the time-driven rules. */
export interface RuleTicker {
  /** Resolves once what the rules raised is written. */
  tick(): Promise<void>;
  /** The same in slices, the event loop free between them; resolves with the milliseconds spent. */
  tickInSlices?(): Promise<number>;
}

/**
 * Drives time: rule ticks (silence), escalation deadlines and the outbox. A
 * timer runs it every second in production; an alarm change kicks it at once;
 * tests with a manual clock call runDue() after moving the clock.
 */
export class AlarmEngine {
  readonly #service: AlarmService;
  readonly #evaluator: RuleTicker;
  readonly #worker: DeliveryWorker;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #kicked = false;
  #stopped = false;

  get stopped(): boolean {
    return this.#stopped;
  }

  readonly #tickTiming: RuleTiming | undefined;

  constructor(deps: { service: AlarmService; evaluator: RuleTicker; worker: DeliveryWorker; log: Logger; tickTiming?: RuleTiming }) {
    this.#tickTiming = deps.tickTiming;
    this.#service = deps.service;
    this.#evaluator = deps.evaluator;
    this.#worker = deps.worker;
    this.#log = deps.log;
  }

  /** Fires what is due and sends due deliveries; resolves when no delivery is under way. */
  async runDue(): Promise<void> {
    await this.#tickRules();
    await this.#service.fireDueSteps();
    await this.#worker.tick();
    await this.#worker.idle();
  }

  async #tickRules(): Promise<void> {
    const t0 = performance.now();
    try {
      await this.#evaluator.tick();
    } finally {
      if (this.#tickTiming) {
        this.#tickTiming.seconds += (performance.now() - t0) / 1000;
        this.#tickTiming.count++;
      }
    }
  }

  /** After a commit that owes work: run soon, once, outside the caller's stack. */
  kick(): void {
    if (this.#kicked || this.#stopped) return;
    this.#kicked = true;
    setImmediate(() => {
      this.#kicked = false;
      void this.#guarded();
    });
  }

  #running: Promise<void> | undefined;
  #again = false;

  /**
   * Fires due steps, then starts due deliveries (not waiting for them to
   * settle). One run at a time: a kick or a tick while one is under way asks
   * for one more after it, so a burst of commits never starts a crowd of runs
   * racing for the same steps (on PostgreSQL they would queue on each other's
   * row locks and hold every pooled connection).
   */
  #guarded(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = (async () => {
      do {
        this.#again = false;
        try {
          await this.#service.fireDueSteps();
          void this.#worker.tick().catch((err: unknown) => this.#log.error({ err }, 'outbox run failed'));
        } catch (err) {
          this.#log.error({ err }, 'alarm engine run failed');
        }
      } while (this.#again && !this.#stopped);
    })();
    this.#running = run;
    void run.finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
    return run;
  }

  #slicedTick: Promise<void> | undefined;

  /** The timer's rule tick: in slices when the evaluator can (one at a time), else at once. */
  #tickRulesOnTimer(): void {
    const sliced = this.#evaluator.tickInSlices?.bind(this.#evaluator);
    if (!sliced) return void this.#tickRules().catch((err: unknown) => this.#log.error({ err }, 'rule tick failed'));
    if (this.#slicedTick) return; // the previous tick is still going through the fleet
    this.#slicedTick = sliced()
      .then((ms) => {
        if (this.#tickTiming) {
          this.#tickTiming.seconds += ms / 1000;
          this.#tickTiming.count++;
        }
      })
      .catch((err: unknown) => this.#log.error({ err }, 'rule tick failed'))
      .finally(() => (this.#slicedTick = undefined));
  }

  start(intervalMs = 1_000): void {
    this.#timer = setInterval(() => {
      try {
        this.#tickRulesOnTimer();
      } catch (err) {
        this.#log.error({ err }, 'rule tick failed');
      }
      void this.#guarded();
    }, intervalMs);
    this.#timer.unref();
    this.kick(); // after a restart: overdue steps and unsent notifications at once
  }

  /** Stops the timers and waits for deliveries under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#slicedTick;
    await this.#worker.idle();
  }
}
