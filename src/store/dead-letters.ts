import type { SqlClient } from './sql-client.ts';

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
  id: Number(r.id),
  receivedAt: Number(r.received_at),
  deviceId: r.device_id,
  topic: r.topic,
  payload: Buffer.from(r.payload),
  payloadSize: Number(r.payload_size),
  code: r.code,
  reason: r.reason,
  partial: Number(r.partial) === 1,
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

/** Messages the gateway could not take, with their bytes and reason, on the store interface (SqlClient). */
export class DeadLetterRepository {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  async insert(d: DeadLetterInput): Promise<number> {
    const row = await this.#sql.get<{ id: number }>(
      `INSERT INTO dead_letters (received_at, device_id, topic, payload, payload_size, code, reason, partial)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [d.receivedAt, d.deviceId, d.topic, d.payload, d.payloadSize, d.code, d.reason, d.partial ? 1 : 0],
    );
    return Number(row!.id);
  }

  async list(q: DeadLetterQuery): Promise<DeadLetter[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.deviceId !== undefined) (where.push('device_id = ?'), args.push(q.deviceId));
    if (q.deviceIds !== undefined) (where.push(`device_id IN (${q.deviceIds.map(() => '?').join(',') || 'NULL'})`), args.push(...q.deviceIds));
    if (q.code !== undefined) (where.push('code = ?'), args.push(q.code));
    if (q.since !== undefined) (where.push('received_at >= ?'), args.push(q.since));
    if (q.before !== undefined) (where.push('id < ?'), args.push(q.before));
    const sql = `SELECT * FROM dead_letters ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`;
    return (await this.#sql.all<Row>(sql, [...args, q.limit])).map(toDeadLetter);
  }

  async count(deviceId?: string): Promise<number> {
    const row =
      deviceId === undefined
        ? await this.#sql.get<{ n: number }>('SELECT count(*) AS n FROM dead_letters')
        : await this.#sql.get<{ n: number }>('SELECT count(*) AS n FROM dead_letters WHERE device_id = ?', [deviceId]);
    return Number(row?.n ?? 0);
  }

  /** Dead letters per device received since `since` (for the device health report). */
  async countByDeviceSince(since: number): Promise<Map<string, number>> {
    const rows = await this.#sql.all<{ id: string; n: number }>('SELECT device_id AS id, count(*) AS n FROM dead_letters WHERE received_at >= ? AND device_id IS NOT NULL GROUP BY device_id', [since]);
    return new Map(rows.map((r) => [r.id, Number(r.n)]));
  }

  async pruneBefore(cutoff: number): Promise<number> {
    return (await this.#sql.run('DELETE FROM dead_letters WHERE received_at < ?', [cutoff])).changes;
  }
}
