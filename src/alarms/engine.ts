import type { Logger } from '../core/logger.ts';
import type { RuleEvaluator } from '../rules/evaluator.ts';
import type { RuleTiming } from '../core/metrics.ts';
import type { OutboxWorker } from '../notify/worker.ts';
import type { AlarmService } from './service.ts';

/**
 * Drives time: rule ticks (silence), escalation deadlines and the outbox. A
 * timer runs it every second in production; an alarm change kicks it at once;
 * tests with a manual clock call runDue() after moving the clock.
 */
export class AlarmEngine {
  readonly #service: AlarmService;
  readonly #evaluator: RuleEvaluator;
  readonly #worker: OutboxWorker;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #kicked = false;
  #stopped = false;

  get stopped(): boolean {
    return this.#stopped;
  }

  readonly #tickTiming: RuleTiming | undefined;

  constructor(deps: { service: AlarmService; evaluator: RuleEvaluator; worker: OutboxWorker; log: Logger; tickTiming?: RuleTiming }) {
    this.#tickTiming = deps.tickTiming;
    this.#service = deps.service;
    this.#evaluator = deps.evaluator;
    this.#worker = deps.worker;
    this.#log = deps.log;
  }

  /** Fires what is due and sends due deliveries; resolves when no delivery is under way. */
  async runDue(): Promise<void> {
    this.#tickRules();
    this.#service.fireDueSteps();
    await this.#worker.tick();
    await this.#worker.idle();
  }

  #tickRules(): void {
    const t0 = performance.now();
    try {
      this.#evaluator.tick();
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
      this.#guarded();
    });
  }

  #guarded(): void {
    try {
      this.#service.fireDueSteps();
      void this.#worker.tick();
    } catch (err) {
      this.#log.error({ err }, 'alarm engine run failed');
    }
  }

  start(intervalMs = 1_000): void {
    this.#timer = setInterval(() => {
      try {
        this.#tickRules();
      } catch (err) {
        this.#log.error({ err }, 'rule tick failed');
      }
      this.#guarded();
    }, intervalMs);
    this.#timer.unref();
    this.kick(); // after a restart: overdue steps and unsent notifications at once
  }

  /** Stops the timers and waits for deliveries under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#worker.idle();
  }
}
