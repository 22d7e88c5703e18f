import type { Tx } from '../core/tx.ts';
import type { SqlClient } from './sql-client.ts';

export type { Tx };

/** The client an open transaction's statements run on (every Tx is made here, with its SqlClient as the handle). */
export function sqlOf(tx: Tx): SqlClient {
  return tx.handle as SqlClient;
}

/**
 * The one way to write several things at once. `transaction(fn)` runs `fn`
 * in one database transaction through the store's SqlClient (embedded SQLite
 * or PostgreSQL alike) and hands it the open transaction; a repository works
 * inside it through `repo.in(tx)`. Passed an enclosing transaction (`within`),
 * it joins that one instead. Effects registered with `tx.afterCommit` run once
 * the outermost transaction has committed, in order; a rollback drops them.
 * Hooks registered with `tx.beforeCommit` run inside it, in order, once its
 * work is done (the alarm service reads there what a change left, for the
 * events it sends after the commit).
 *
 * The transaction is passed explicitly, not found through AsyncLocalStorage:
 * on Node 20 that slows every `await` of the process about 2.5 times.
 *
 * Every writer of the alarm core uses it: ingest (the event and the alarm it
 * raises), the rule evaluator (intents and rule state), the alarm service
 * (alarm, timeline, deadlines, outbox), the outbox worker. Effects are how
 * news leaves a transaction: live-stream events, a kick to the delivery
 * worker. Nothing is sent from inside one but `tx.announce`: a notice to
 * the other nodes that PostgreSQL delivers with the commit.
 */
export class UnitOfWork {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** The store's client, for statements outside a transaction. */
  get sql(): SqlClient {
    return this.#sql;
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>, within?: Tx): Promise<T> {
    if (within) return fn(within);
    const { value, tx } = await this.#sql.transaction(async (sql) => {
      const tx = new OpenTx(sql);
      const value = await fn(tx);
      for (let i = 0; i < tx.hooks.length; i++) await tx.hooks[i]!();
      return { value, tx };
    });
    for (const effect of tx.effects) effect();
    return value;
  }
}

/** A transaction as UnitOfWork hands it out: its effects and hooks kept until the commit. */
class OpenTx implements Tx {
  readonly effects: Array<() => void> = [];
  readonly hooks: Array<() => Promise<void>> = [];
  readonly handle: SqlClient;

  constructor(handle: SqlClient) {
    this.handle = handle;
  }

  afterCommit(effect: () => void): void {
    this.effects.push(effect);
  }
  beforeCommit(hook: () => Promise<void>): void {
    this.hooks.push(hook);
  }
  async announce(channel: string, payload: string): Promise<void> {
    await this.handle.notify?.(channel, payload);
  }
}
