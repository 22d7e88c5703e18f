import type { Db } from './database.ts';

export interface DeadLetterInput {
  receivedAt: number;
  deviceId: string | null;
  topic: string;
  payload: Buffer;
  payloadSize: number;
  code: string;
  reason: string;
  /** True when the rest of the message was accepted and only some fields were rejected. */
  partial: boolean;
}

export interface DeadLetter extends DeadLetterInput {
  id: number;
}

interface Row {
  id: number;
  received_at: number;
  device_id: string | null;
  topic: string;
  payload: Buffer;
  payload_size: number;
  code: string;
  reason: string;
  partial: number;
}

const toDeadLetter = (r: Row): DeadLetter => ({
  id: r.id,
  receivedAt: r.received_at,
  deviceId: r.device_id,
  topic: r.topic,
  payload: r.payload,
  payloadSize: r.payload_size,
  code: r.code,
  reason: r.reason,
  partial: r.partial === 1,
});

export interface DeadLetterQuery {
  deviceId?: string;
  code?: string;
  since?: number;
  /** Rows with ids below this (for paging backwards). */
  before?: number;
  /** Only these devices' (an API caller's scope). */
  deviceIds?: string[];
  limit: number;
}

export class DeadLetterRepository {
  readonly #db: Db;
  readonly #insert;
  constructor(db: Db) {
    this.#db = db;
    this.#insert = db.prepare(
      `INSERT INTO dead_letters (received_at, device_id, topic, payload, payload_size, code, reason, partial)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  insert(d: DeadLetterInput): number {
    const result = this.#insert.run(d.receivedAt, d.deviceId, d.topic, d.payload, d.payloadSize, d.code, d.reason, d.partial ? 1 : 0);
    return Number(result.lastInsertRowid);
  }

  list(q: DeadLetterQuery): DeadLetter[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.deviceId !== undefined) (where.push('device_id = ?'), args.push(q.deviceId));
    if (q.deviceIds !== undefined) (where.push(`device_id IN (${q.deviceIds.map(() => '?').join(',') || 'NULL'})`), args.push(...q.deviceIds));
    if (q.code !== undefined) (where.push('code = ?'), args.push(q.code));
    if (q.since !== undefined) (where.push('received_at >= ?'), args.push(q.since));
    if (q.before !== undefined) (where.push('id < ?'), args.push(q.before));
    const sql = `SELECT * FROM dead_letters ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`;
    return (this.#db.prepare(sql).all(...args, q.limit) as Row[]).map(toDeadLetter);
  }

  count(deviceId?: string): number {
    return (
      deviceId === undefined
        ? this.#db.prepare('SELECT count(*) FROM dead_letters').pluck().get()
        : this.#db.prepare('SELECT count(*) FROM dead_letters WHERE device_id = ?').pluck().get(deviceId)
    ) as number;
  }

  /** Dead letters per device received since `since` (for the device health report). */
  countByDeviceSince(since: number): Map<string, number> {
    const rows = this.#db.prepare('SELECT device_id AS id, count(*) AS n FROM dead_letters WHERE received_at >= ? AND device_id IS NOT NULL GROUP BY device_id').all(since) as Array<{ id: string; n: number }>;
    return new Map(rows.map((r) => [r.id, r.n]));
  }

  pruneBefore(cutoff: number): number {
    return this.#db.prepare('DELETE FROM dead_letters WHERE received_at < ?').run(cutoff).changes;
  }
}
