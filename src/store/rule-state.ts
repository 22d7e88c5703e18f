import type { Db } from './database.ts';

/** One rule's persisted state: the durable part of it, as JSON text. */
export interface RuleStateRow {
  subject: string;
  rule: string;
  state: string;
}

/**
 * Where rule state survives a restart (`rule_state`): one row per (subject,
 * rule). Written inside the transaction of the alarm change it goes with.
 */
export class RuleStateRepository {
  readonly #all;
  readonly #save;
  constructor(db: Db) {
    this.#all = db.prepare('SELECT subject, rule, state FROM rule_state');
    this.#save = db.prepare('INSERT OR REPLACE INTO rule_state (subject, rule, state, updated_at) VALUES (?, ?, ?, ?)');
  }

  all(): RuleStateRow[] {
    return this.#all.all() as RuleStateRow[];
  }

  save(subject: string, rule: string, state: string, at: number): void {
    this.#save.run(subject, rule, state, at);
  }
}
