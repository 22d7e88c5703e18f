import type { SqlClient } from './sql-client.ts';
import { sqlOf, type Tx } from './unit-of-work.ts';

/** What taking a device answered: the epoch this node now holds it at, and who held it before. */
export interface Claim {
  epoch: number;
  /** The node that held it before this claim (null: nobody yet). */
  previousNode: string | null;
}

/**
 * Which node holds each device (`device_owners`), for several nodes on one
 * database. A node takes a device when the device connects to it, which bumps
 * the device's epoch; from then on it writes the device's rule state only
 * inside a transaction that finds its (node, epoch) still current (`holds`),
 * so a node that lost the device (it reconnected elsewhere while this node
 * was still working through its messages) cannot overwrite what the new
 * owner keeps. On PostgreSQL `holds` takes a share lock on the row: a claim
 * by another node waits until that transaction ends, and the new owner then
 * loads state that includes it.
 */
export class DeviceOwnerRepository {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  in(tx: Tx): DeviceOwnerRepository {
    return new DeviceOwnerRepository(sqlOf(tx));
  }

  /** Takes the device for `node`: one statement, so two nodes taking it at once get two different epochs. */
  async claim(deviceId: string, node: string, at: number): Promise<Claim> {
    return this.#sql.transaction(async (tx) => {
      const before = await tx.get<{ node_id: string }>(`SELECT node_id FROM device_owners WHERE device_id = ?${tx.dialect === 'postgres' ? ' FOR UPDATE' : ''}`, [deviceId]);
      const row = await tx.get<{ epoch: number }>(
        'INSERT INTO device_owners (device_id, node_id, epoch, claimed_at) VALUES (?, ?, 1, ?) ON CONFLICT (device_id) DO UPDATE SET node_id = excluded.node_id, epoch = device_owners.epoch + 1, claimed_at = excluded.claimed_at RETURNING epoch',
        [deviceId, node, at],
      );
      return { epoch: Number(row!.epoch), previousNode: before?.node_id ?? null };
    });
  }

  /** Inside a transaction: does `node` still hold the device at `epoch`? (PostgreSQL: the row stays locked until it ends.) */
  async holds(deviceId: string, node: string, epoch: number): Promise<boolean> {
    const row = await this.#sql.get(`SELECT epoch FROM device_owners WHERE device_id = ? AND node_id = ? AND epoch = ?${this.#sql.dialect === 'postgres' ? ' FOR SHARE' : ''}`, [deviceId, node, epoch]);
    return row !== undefined;
  }

  /** Who holds the device now, if anyone has. */
  async owner(deviceId: string): Promise<{ node: string; epoch: number; claimedAt: number } | undefined> {
    const row = await this.#sql.get<{ node_id: string; epoch: number; claimed_at: number }>('SELECT node_id, epoch, claimed_at FROM device_owners WHERE device_id = ?', [deviceId]);
    return row && { node: row.node_id, epoch: Number(row.epoch), claimedAt: Number(row.claimed_at) };
  }
}
