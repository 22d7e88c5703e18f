import type { Db } from '../store/database.ts';
import type { Delivery } from '../escalation/targets.ts';

export type OutboxEvent = 'alarm.raised' | 'alarm.escalated' | 'alarm.reminder' | 'alarm.acknowledged' | 'alarm.resolved';
export type OutboxStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

export interface OutboxItem {
  id: number;
  alarmId: string;
  event: OutboxEvent;
  step: number;
  delivery: Delivery;
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
  /** The timeline entry that tells of this delivery's failures, once it has failed. */
  failureEntry: number | null;
}

interface Row {
  id: number;
  alarm_id: string;
  event: OutboxEvent;
  step: number;
  channel: string;
  target: string;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
  failure_entry: number | null;
}

const toItem = (r: Row): OutboxItem => ({
  id: r.id,
  alarmId: r.alarm_id,
  event: r.event,
  step: r.step,
  delivery: JSON.parse(r.target) as Delivery,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastError: r.last_error,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
  failureEntry: r.failure_entry,
});

/** Notifications owed, written in the same transaction as the alarm change that owes them. */
export class OutboxRepository {
  readonly #db: Db;
  readonly #insert;
  constructor(db: Db) {
    this.#db = db;
    this.#insert = db.prepare(
      `INSERT INTO outbox (alarm_id, event, step, channel, target, status, attempts, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
    );
  }

  enqueue(alarmId: string, event: OutboxEvent, step: number, deliveries: Delivery[], now: number): void {
    for (const d of deliveries) this.#insert.run(alarmId, event, step, d.channel, JSON.stringify(d), now, now);
  }

  due(now: number, limit = 500): OutboxItem[] {
    return (this.#db.prepare("SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?").all(now, limit) as Row[]).map(toItem);
  }

  forAlarm(alarmId: string): OutboxItem[] {
    return (this.#db.prepare('SELECT * FROM outbox WHERE alarm_id = ? ORDER BY id').all(alarmId) as Row[]).map(toItem);
  }

  delivered(id: number, attempts: number, now: number): void {
    this.#db.prepare("UPDATE outbox SET status = 'delivered', attempts = ?, delivered_at = ?, last_error = NULL WHERE id = ?").run(attempts, now, id);
  }

  retry(id: number, attempts: number, nextAttemptAt: number, error: string, failureEntry: number): void {
    this.#db.prepare('UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, failure_entry = ? WHERE id = ?').run(attempts, nextAttemptAt, error, failureEntry, id);
  }

  failed(id: number, attempts: number, error: string): void {
    this.#db.prepare("UPDATE outbox SET status = 'failed', attempts = ?, last_error = ? WHERE id = ?").run(attempts, error, id);
  }

  /** Once a person has the alarm, pending alerts about it are moot. */
  cancelAlerts(alarmId: string): number {
    return this.#db
      .prepare("UPDATE outbox SET status = 'cancelled' WHERE alarm_id = ? AND status = 'pending' AND event IN ('alarm.raised', 'alarm.escalated', 'alarm.reminder')")
      .run(alarmId).changes;
  }

  /**
   * Who must hear that a person has the alarm: webhook targets already told
   * about it, and sirens switched on for it (to switch them off).
   */
  toldAboutAlarm(alarmId: string): Delivery[] {
    const rows = this.#db
      .prepare("SELECT DISTINCT target FROM outbox WHERE alarm_id = ? AND channel IN ('webhook', 'mqtt') AND status = 'delivered' AND event IN ('alarm.raised', 'alarm.escalated', 'alarm.reminder')")
      .pluck()
      .all(alarmId) as string[];
    return rows.map((t) => JSON.parse(t) as Delivery).filter((d) => d.channel === 'webhook' || (d.channel === 'mqtt' && d.target.role === 'siren'));
  }

  pendingCount(): number {
    return this.#db.prepare("SELECT count(*) FROM outbox WHERE status = 'pending'").pluck().get() as number;
  }
}
