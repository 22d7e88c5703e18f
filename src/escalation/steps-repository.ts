import type { Db } from '../store/database.ts';

export interface EscalationStep {
  id: number;
  alarmId: string;
  step: number;
  kind: 'step' | 'reminder';
  dueAt: number;
}

/** Escalation deadlines in SQLite: a restart loses none of them. */
export class EscalationStepRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  schedule(alarmId: string, step: number, kind: 'step' | 'reminder', dueAt: number): void {
    this.#db.prepare("INSERT INTO escalation_steps (alarm_id, step, kind, due_at, status) VALUES (?, ?, ?, ?, 'pending')").run(alarmId, step, kind, dueAt);
  }

  /** Overdue first, in order of their deadlines. */
  due(now: number, limit = 200): EscalationStep[] {
    return (
      this.#db
        .prepare("SELECT id, alarm_id, step, kind, due_at FROM escalation_steps WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?")
        .all(now, limit) as Array<{ id: number; alarm_id: string; step: number; kind: 'step' | 'reminder'; due_at: number }>
    ).map((r) => ({ id: r.id, alarmId: r.alarm_id, step: r.step, kind: r.kind, dueAt: r.due_at }));
  }

  done(id: number, now: number): void {
    this.#db.prepare("UPDATE escalation_steps SET status = 'done', fired_at = ? WHERE id = ?").run(now, id);
  }

  cancelFor(alarmId: string): number {
    return this.#db.prepare("UPDATE escalation_steps SET status = 'cancelled' WHERE alarm_id = ? AND status = 'pending'").run(alarmId).changes;
  }

  pendingFor(alarmId: string): EscalationStep[] {
    return (
      this.#db
        .prepare("SELECT id, alarm_id, step, kind, due_at FROM escalation_steps WHERE alarm_id = ? AND status = 'pending' ORDER BY due_at, id")
        .all(alarmId) as Array<{ id: number; alarm_id: string; step: number; kind: 'step' | 'reminder'; due_at: number }>
    ).map((r) => ({ id: r.id, alarmId: r.alarm_id, step: r.step, kind: r.kind, dueAt: r.due_at }));
  }
}
