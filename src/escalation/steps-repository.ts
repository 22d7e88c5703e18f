import type { SqlClient } from '../store/sql-client.ts';
import { sqlOf, type Tx } from '../store/unit-of-work.ts';

export interface EscalationStep {
  id: number;
  alarmId: string;
  step: number;
  kind: 'step' | 'reminder';
  dueAt: number;
}

type Row = { id: number; alarm_id: string; step: number; kind: 'step' | 'reminder'; due_at: number };
const toStep = (r: Row): EscalationStep => ({ id: Number(r.id), alarmId: r.alarm_id, step: r.step, kind: r.kind, dueAt: Number(r.due_at) });

/** Escalation deadlines in the database: a restart loses none of them. Portable SQL; `in(tx)` inside a transaction. */
export class EscalationStepRepository {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  in(tx: Tx): EscalationStepRepository {
    return new EscalationStepRepository(sqlOf(tx));
  }

  async schedule(alarmId: string, step: number, kind: 'step' | 'reminder', dueAt: number): Promise<void> {
    await this.#sql.run("INSERT INTO escalation_steps (alarm_id, step, kind, due_at, status) VALUES (?, ?, ?, ?, 'pending')", [alarmId, step, kind, dueAt]);
  }

  /** Overdue first, in order of their deadlines. */
  async due(now: number, limit = 200): Promise<EscalationStep[]> {
    return (await this.#sql.all<Row>("SELECT id, alarm_id, step, kind, due_at FROM escalation_steps WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?", [now, limit])).map(toStep);
  }

  /** Marks a step fired; false when it was no longer pending (cancelled, or fired already). */
  async done(id: number, now: number): Promise<boolean> {
    // On PostgreSQL a step another node is firing right now (its row locked) is skipped, not waited for:
    // that node fires it, and nodes never queue behind each other's transactions.
    const which = this.#sql.dialect === 'postgres' ? "(SELECT id FROM escalation_steps WHERE id = ? AND status = 'pending' FOR UPDATE SKIP LOCKED)" : '?';
    return (await this.#sql.run(`UPDATE escalation_steps SET status = 'done', fired_at = ? WHERE id = ${which} AND status = 'pending'`, [now, id])).changes === 1;
  }

  /** Cancels an alarm's pending steps, but the ladder steps numbered in `keep`. */
  async cancelFor(alarmId: string, keep: readonly number[] = []): Promise<number> {
    const except = keep.length > 0 ? ` AND NOT (kind = 'step' AND step IN (${keep.map(() => '?').join(',')}))` : '';
    return (await this.#sql.run(`UPDATE escalation_steps SET status = 'cancelled' WHERE alarm_id = ? AND status = 'pending'${except}`, [alarmId, ...keep])).changes;
  }

  async pendingFor(alarmId: string): Promise<EscalationStep[]> {
    return (await this.#sql.all<Row>("SELECT id, alarm_id, step, kind, due_at FROM escalation_steps WHERE alarm_id = ? AND status = 'pending' ORDER BY due_at, id", [alarmId])).map(toStep);
  }
}
