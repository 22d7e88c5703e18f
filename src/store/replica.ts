import type { SqlClient } from './sql-client.ts';

/**
 * Keeps a table held in memory (the station tree, the providers) in step
 * across nodes: after a change, `changed()` tells the other nodes (NOTIFY on
 * PostgreSQL); when another node says so, `reload` reads the table again
 * (runs one at a time; a notice during a reload brings one more). On the
 * embedded database there is no other node and it does nothing.
 */
export class Replica {
  readonly #sql: SqlClient;
  readonly #channel: string;
  readonly #reload: () => Promise<void>;
  #listening: Promise<unknown> | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #waiters: Array<() => void> = [];
  /** How many times the table was read again for another node's change. */
  reloads = 0;

  constructor(sql: SqlClient, channel: string, reload: () => Promise<void>) {
    this.#sql = sql;
    this.#channel = channel;
    this.#reload = reload;
  }

  /** Reads the table, and from then on hears other nodes' changes (listening starts once). */
  async load(): Promise<void> {
    await (this.#listening ??= this.#sql.listen?.(this.#channel, () => this.#heard()) ?? Promise.resolve());
    await this.#reload();
  }

  /**
   * After this node changed the table: the other nodes read it again. (A
   * reload of this node's under way may have read the table before the change:
   * one more follows.) A notice that cannot be sent does not fail the change,
   * which is written: the others read it at their next notice.
   */
  async changed(id: string): Promise<void> {
    if (this.#running) this.#again = true;
    await this.#sql.notify?.(this.#channel, id).catch(() => {});
  }

  /** Resolves at once when no reload is under way, else once the last one a notice brought has finished. */
  settled(): Promise<void> {
    return this.#running ? this.nextReload() : Promise.resolve();
  }

  /** Resolves once the next reload another node's change brought has finished. */
  nextReload(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #heard(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.reloads++;
    this.#running = this.#reload()
      .catch(() => {}) // the store out of reach: the next notice (or the reconnect's) reads it again
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.#heard();
          return;
        }
        for (const resolve of this.#waiters.splice(0)) resolve();
      });
  }
}
