import type { SqlClient } from '../store/sql-client.ts';
import { sqlOf, type Tx } from '../store/unit-of-work.ts';
import type { Delivery } from '../escalation/targets.ts';

export type OutboxEvent = 'alarm.raised' | 'alarm.escalated' | 'alarm.reminder' | 'alarm.acknowledged' | 'alarm.resolved';
export type OutboxStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

/**
 * A webhook to a station's or provider's system keeps the record of every
 * alarm there: an alert to it is owed even once a person has the alarm (sent
 * late, it carries the alarm as it is then). A person's channel (console, SMS,
 * a contact's own webhook, a device) is not told late.
 */
export const keepsRecord = (d: Delivery): boolean => d.channel === 'webhook' && (d.target.kind === 'station' || d.target.kind === 'provider');

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

/** Notifications owed, written in the same transaction as the alarm change that owes them. Portable SQL; `in(tx)` inside a transaction. */
export class OutboxRepository {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  in(tx: Tx): OutboxRepository {
    return new OutboxRepository(sqlOf(tx));
  }

  async enqueue(alarmId: string, event: OutboxEvent, step: number, deliveries: Delivery[], now: number): Promise<void> {
    for (const d of deliveries) {
      await this.#sql.run(
        `INSERT INTO outbox (alarm_id, event, step, channel, target, status, attempts, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
        [alarmId, event, step, d.channel, JSON.stringify(d), now, now],
      );
    }
  }

  async due(now: number, limit = 500): Promise<OutboxItem[]> {
    return (await this.#sql.all<Row>("SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?", [now, limit])).map(toItem);
  }

  /**
   * Takes the deliveries due now that nobody holds, for `node`, until
   * `leaseUntil`: one statement, and on PostgreSQL `FOR UPDATE SKIP LOCKED`,
   * so two nodes claiming at once never take the same delivery. A node that
   * dies mid-delivery holds it only until the lease ends.
   */
  async claim(node: string, now: number, leaseUntil: number, limit = 500): Promise<OutboxItem[]> {
    const skipLocked = this.#sql.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    const rows = await this.#sql.all<Row>(
      `UPDATE outbox SET lease_until = ?, leased_by = ? WHERE id IN (
         SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
         ORDER BY next_attempt_at, id LIMIT ?${skipLocked}
       ) RETURNING *`,
      [leaseUntil, node, now, now, limit],
    );
    return rows.map(toItem).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.id - b.id);
  }

  /**
   * A node starting again lets go of what it held when it stopped (its
   * deliveries are owed again at once). The embedded database has one node by
   * construction: everything is let go, whatever the node was called before
   * (a container gets a new host name each time it is made).
   */
  async releaseLeases(node: string): Promise<number> {
    if (this.#sql.dialect === 'sqlite') return (await this.#sql.run("UPDATE outbox SET lease_until = NULL, leased_by = NULL WHERE lease_until IS NOT NULL AND status = 'pending'")).changes;
    return (await this.#sql.run("UPDATE outbox SET lease_until = NULL, leased_by = NULL WHERE leased_by = ? AND status = 'pending'", [node])).changes;
  }

  /**
   * Takes again deliveries `node` claimed but could not finish (the store went
   * out of reach in the middle): those still pending and still its own, with
   * a new lease. One another node has taken since is not among them.
   */
  async renew(node: string, ids: readonly number[], leaseUntil: number): Promise<OutboxItem[]> {
    if (ids.length === 0) return [];
    const rows = await this.#sql.all<Row>(
      `UPDATE outbox SET lease_until = ? WHERE id IN (${ids.map(() => '?').join(', ')}) AND leased_by = ? AND status = 'pending' RETURNING *`,
      [leaseUntil, ...ids, node],
    );
    return rows.map(toItem).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.id - b.id);
  }

  async forAlarm(alarmId: string): Promise<OutboxItem[]> {
    return (await this.#sql.all<Row>('SELECT * FROM outbox WHERE alarm_id = ? ORDER BY id', [alarmId])).map(toItem);
  }

  async delivered(id: number, attempts: number, now: number): Promise<void> {
    await this.#sql.run("UPDATE outbox SET status = 'delivered', attempts = ?, delivered_at = ?, last_error = NULL, lease_until = NULL, leased_by = NULL WHERE id = ?", [attempts, now, id]);
  }

  async retry(id: number, attempts: number, nextAttemptAt: number, error: string, failureEntry: number): Promise<void> {
    await this.#sql.run('UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, failure_entry = ?, lease_until = NULL, leased_by = NULL WHERE id = ?', [attempts, nextAttemptAt, error, failureEntry, id]);
  }

  async failed(id: number, attempts: number, error: string): Promise<void> {
    await this.#sql.run("UPDATE outbox SET status = 'failed', attempts = ?, last_error = ?, lease_until = NULL, leased_by = NULL WHERE id = ?", [attempts, error, id]);
  }

  /**
   * Once a person has the alarm, pending alerts about it are moot to people;
   * a record-keeping webhook still gets the alarm and its steps (not the
   * reminders).
   */
  async cancelAlerts(alarmId: string): Promise<number> {
    const moot = (await this.forAlarm(alarmId)).filter(
      (i) => i.status === 'pending' && (i.event === 'alarm.reminder' || ((i.event === 'alarm.raised' || i.event === 'alarm.escalated') && !keepsRecord(i.delivery))),
    );
    if (moot.length === 0) return 0;
    return (await this.#sql.run(`UPDATE outbox SET status = 'cancelled' WHERE status = 'pending' AND id IN (${moot.map(() => '?').join(', ')})`, moot.map((i) => i.id))).changes;
  }

  /**
   * Who must hear that a person has the alarm: webhook targets already told
   * about it, and sirens switched on for it (to switch them off).
   */
  async toldAboutAlarm(alarmId: string): Promise<Delivery[]> {
    const rows = await this.#sql.all<{ target: string }>(
      "SELECT DISTINCT target FROM outbox WHERE alarm_id = ? AND channel IN ('webhook', 'mqtt') AND status = 'delivered' AND event IN ('alarm.raised', 'alarm.escalated', 'alarm.reminder') ORDER BY target",
      [alarmId],
    );
    return rows.map((r) => JSON.parse(r.target) as Delivery).filter((d) => d.channel === 'webhook' || (d.channel === 'mqtt' && d.target.role === 'siren'));
  }

  async pendingCount(): Promise<number> {
    return Number((await this.#sql.get<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE status = 'pending'"))!.n);
  }
}
