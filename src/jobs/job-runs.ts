import type { SqlClient } from '../store/sql-client.ts';

/**
 * Which node ran each occurrence of a scheduled job (`job_runs`): with several
 * nodes on one database every node's schedule fires, and the first to claim
 * the occurrence (job, due time) runs it; the others skip it. One statement,
 * so two nodes claiming at once cannot both win.
 */
export class JobRunRepository {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** True when this node is the one to run `name`'s occurrence due at `dueAt`. */
  async claim(name: string, dueAt: number, node: string, now: number): Promise<boolean> {
    const { changes } = await this.#sql.run('INSERT INTO job_runs (name, due_at, node, started_at) VALUES (?, ?, ?, ?) ON CONFLICT (name, due_at) DO NOTHING', [name, dueAt, node, now]);
    return changes === 1;
  }

  /** Who ran an occurrence, if anyone has. */
  async ranBy(name: string, dueAt: number): Promise<string | undefined> {
    const row = await this.#sql.get<{ node: string }>('SELECT node FROM job_runs WHERE name = ? AND due_at = ?', [name, dueAt]);
    return row?.node;
  }

  /** Forgets occurrences older than `cutoff` (kept a while to see who ran what). */
  async pruneBefore(cutoff: number): Promise<number> {
    return (await this.#sql.run('DELETE FROM job_runs WHERE due_at < ?', [cutoff])).changes;
  }
}
