import type { SqlClient } from './sql-client.ts';
import { sqlOf, type Tx } from './unit-of-work.ts';

/** One rule's persisted state: the durable part of it, as JSON text. */
export interface RuleStateRow {
  subject: string;
  rule: string;
  state: string;
}

/**
 * Where rule state survives a restart (`rule_state`): one row per (subject,
 * rule). Written inside the transaction of the alarm change it goes with
 * (`in(tx)`). Portable SQL (an upsert both dialects read alike).
 */
export class RuleStateRepository {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  in(tx: Tx): RuleStateRepository {
    return new RuleStateRepository(sqlOf(tx));
  }

  all(): Promise<RuleStateRow[]> {
    return this.#sql.all<RuleStateRow>('SELECT subject, rule, state FROM rule_state');
  }

  /** One subject's rows (a device a node has just taken over from another). */
  forSubject(subject: string): Promise<RuleStateRow[]> {
    return this.#sql.all<RuleStateRow>('SELECT subject, rule, state FROM rule_state WHERE subject = ?', [subject]);
  }

  /**
   * Inside a transaction: one rule's stored state, locked until the
   * transaction ends on PostgreSQL (two nodes checking the same resident's
   * rule take turns). Undefined: none stored yet.
   */
  async current(subject: string, rule: string): Promise<string | undefined> {
    const row = await this.#sql.get<{ state: string }>(`SELECT state FROM rule_state WHERE subject = ? AND rule = ?${this.#sql.dialect === 'postgres' ? ' FOR UPDATE' : ''}`, [subject, rule]);
    return row?.state;
  }

  async save(subject: string, rule: string, state: string, at: number): Promise<void> {
    await this.#sql.run(
      'INSERT INTO rule_state (subject, rule, state, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (subject, rule) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at',
      [subject, rule, state, at],
    );
  }
}
