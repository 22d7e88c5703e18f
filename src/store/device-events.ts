import type { DeviceEvent } from '../core/model.ts';
import type { SqlClient } from './sql-client.ts';
import { sqlOf, type Tx } from './unit-of-work.ts';

/**
 * The log of accepted device events. It also answers "have we seen this
 * (device, seq) already?" so that a QoS 1 redelivery, even across a restart,
 * is recognised as the same event. Portable SQL; `in(tx)` inside a transaction.
 */
export class DeviceEventRepository {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  in(tx: Tx): DeviceEventRepository {
    return new DeviceEventRepository(sqlOf(tx));
  }

  async insert(e: DeviceEvent, receivedAt: number): Promise<void> {
    await this.#sql.run('INSERT INTO device_events (device_id, type, seq, ts, received_at, data) VALUES (?, ?, ?, ?, ?, ?)', [e.deviceId, e.type, e.seq ?? null, e.ts, receivedAt, e.data ? JSON.stringify(e.data) : null]);
  }

  async seenSince(deviceId: string, seq: number, since: number): Promise<boolean> {
    return (await this.#sql.get('SELECT 1 AS seen FROM device_events WHERE device_id = ? AND seq = ? AND received_at >= ? LIMIT 1', [deviceId, seq, since])) !== undefined;
  }
}
