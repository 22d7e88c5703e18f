import type { Db } from './database.ts';

/**
 * The one way to write several things at once: `transaction(fn)` runs `fn` in
 * a database transaction (joining the enclosing one when nested), and effects
 * registered with `afterCommit` run once the outermost transaction has
 * committed, in order; a rollback drops them. Every writer that needs more
 * than one statement to hold together uses it: ingest (the event and the alarm
 * it raises), the rule evaluator (intents and rule state), the alarm service
 * (alarm, timeline, deadlines, outbox), the outbox worker, the CSV import.
 * Effects are how news leaves a transaction: live-stream events, a kick to
 * the delivery worker. Nothing is sent from inside one.
 */
export class UnitOfWork {
  readonly #db: Db;
  #afterCommit: Array<() => void> = [];
  #depth = 0;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Inside a transaction now. */
  get active(): boolean {
    return this.#depth > 0;
  }

  transaction<T>(fn: () => T): T {
    this.#depth++;
    let result: T;
    try {
      result = this.#db.transaction(fn)();
    } catch (err) {
      if (--this.#depth === 0) this.#afterCommit = [];
      throw err;
    }
    if (--this.#depth === 0) {
      const effects = this.#afterCommit;
      this.#afterCommit = [];
      for (const effect of effects) effect();
    }
    return result;
  }

  /** Runs `effect` after the outermost transaction commits (dropped if it rolls back); outside a transaction, at once. */
  afterCommit(effect: () => void): void {
    if (this.#depth === 0) effect();
    else this.#afterCommit.push(effect);
  }
}
