import type { SqlClient } from './sql-client.ts';

/**
 * The nodes sharing one database, each with its last heartbeat (wall-clock
 * milliseconds: whether a process is alive is a matter of real time, also
 * when the alarm clock is simulated). A node whose heartbeat is too old is
 * taken for dead, and another adopts its devices.
 */
export class NodeRepository {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** This node's heartbeat. False when it was not on the list (its first beat, or another node took it for dead). */
  async beat(node: string, at: number): Promise<boolean> {
    if ((await this.#sql.run('UPDATE nodes SET heartbeat_at = ? WHERE node_id = ?', [at, node])).changes === 1) return true;
    await this.#sql.run('INSERT INTO nodes (node_id, heartbeat_at) VALUES (?, ?) ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at', [node, at]);
    return false;
  }

  /** Nodes not heard since `before`. */
  async silentSince(before: number): Promise<string[]> {
    return (await this.#sql.all<{ node_id: string }>('SELECT node_id FROM nodes WHERE heartbeat_at < ? ORDER BY node_id', [before])).map((r) => r.node_id);
  }

  /**
   * `to` takes every device `from` holds (a new epoch each: `from`, should it
   * come back, can no longer write their rule state), and `from` leaves the
   * list unless it has beaten since `before`. One transaction: two nodes
   * adopting at once share nothing (the second finds no device left).
   * `from` = `to`: a node starting again takes what it held before it stopped.
   */
  async adopt(from: string, to: string, at: number, before = Number.POSITIVE_INFINITY): Promise<Array<{ deviceId: string; epoch: number }>> {
    return this.#sql.transaction(async (tx) => {
      const rows = await tx.all<{ device_id: string; epoch: number }>(
        'UPDATE device_owners SET node_id = ?, epoch = epoch + 1, claimed_at = ? WHERE node_id = ? RETURNING device_id, epoch',
        [to, at, from],
      );
      if (from !== to) {
        await tx.run('DELETE FROM nodes WHERE node_id = ? AND heartbeat_at < ?', [from, Number.isFinite(before) ? before : Number.MAX_SAFE_INTEGER]);
        // Their connections died with their node: offline until they connect somewhere.
        for (let i = 0; i < rows.length; i += 500) {
          const ids = rows.slice(i, i + 500).map((r) => r.device_id);
          await tx.run(`UPDATE devices SET online = 0 WHERE id IN (${ids.map(() => '?').join(', ')})`, ids);
        }
      }
      return rows.map((r) => ({ deviceId: r.device_id, epoch: Number(r.epoch) })).sort((a, b) => a.deviceId.localeCompare(b.deviceId));
    });
  }

  async list(): Promise<Array<{ node: string; heartbeatAt: number }>> {
    return (await this.#sql.all<{ node_id: string; heartbeat_at: number }>('SELECT node_id, heartbeat_at FROM nodes ORDER BY node_id')).map((r) => ({ node: r.node_id, heartbeatAt: Number(r.heartbeat_at) }));
  }
}
