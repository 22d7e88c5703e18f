import type { DeviceEvent } from '../core/model.ts';
import type { Db } from './database.ts';

/**
 * The log of accepted device events. It also answers "have we seen this
 * (device, seq) already?" so that a QoS 1 redelivery, even across a restart,
 * is recognised as the same event.
 */
export class DeviceEventRepository {
  readonly #insert;
  readonly #seen;
  constructor(db: Db) {
    this.#insert = db.prepare('INSERT INTO device_events (device_id, type, seq, ts, received_at, data) VALUES (?, ?, ?, ?, ?, ?)');
    this.#seen = db.prepare('SELECT 1 FROM device_events WHERE device_id = ? AND seq = ? AND received_at >= ? LIMIT 1').pluck();
  }

  insert(e: DeviceEvent, receivedAt: number): void {
    this.#insert.run(e.deviceId, e.type, e.seq ?? null, e.ts, receivedAt, e.data ? JSON.stringify(e.data) : null);
  }

  seenSince(deviceId: string, seq: number, since: number): boolean {
    return this.#seen.get(deviceId, seq, since) !== undefined;
  }
}
