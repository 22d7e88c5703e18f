import type { SqlClient } from '../store/sql-client.ts';
import { TELEMETRY_CHUNK_SPAN_MS } from './columns.ts';
import { chunksOf, queryChunks, seriesOfChunks, toColumns, trimChunk, type ChunkRow, type ChunkSource } from './chunks.ts';
import type { Series, SeriesQuery, StoredReading, TelemetryPoint, TelemetryQuery } from './point.ts';
import { RejectedPointsError, type RemoteWriter } from './remote-sink.ts';

/** Chunks a read brings over the network at a time. */
const READ_PAGE = 2_000;
/** Chunks a retention statement deletes at a time: many short transactions, not one that holds the table. */
const PRUNE_BATCH = 10_000;

/**
 * Telemetry in the PostgreSQL database several nodes share, when no InfluxDB
 * is configured: every node reads every device's readings, whichever node the
 * device is connected to. Stored as the embedded store stores them (chunks.ts:
 * one row per device and write batch), so a batch is one INSERT whatever it
 * holds and a chart reads one device's range off the primary key.
 *
 * Behind SpoolingRemoteSink, like InfluxDB: while the database is out of
 * reach, batches wait in the node's disk spool and are written when it is
 * back. A batch written twice (its acknowledgement lost) is harmless: the
 * later chunk wins for each kind and time, with the same values.
 *
 * Its own small pool (`sql`), so the alarm path never waits for a connection
 * a telemetry write holds.
 */
export class PostgresTelemetryWriter implements RemoteWriter {
  readonly name = 'postgres';
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  async write(points: TelemetryPoint[]): Promise<void> {
    // Operational series (alarm lifecycle, fleet state) are for InfluxDB's dashboards only.
    const readings = points.filter((p) => p.tags === undefined && p.fields === undefined);
    const chunks = chunksOf(toColumns(readings));
    if (chunks.length === 0) return;
    try {
      // Numbered (n) in the order given: for one device, kind and time, the later chunk wins.
      await this.#sql.run(
        `INSERT INTO telemetry (device_id, ts, last, readings, v)
         SELECT d, t, l, r, v FROM unnest(?::text[], ?::float8[], ?::float8[], ?::int[], ?::text[]) WITH ORDINALITY AS u(d, t, l, r, v, o) ORDER BY o`,
        [chunks.map((c) => c.deviceId), chunks.map((c) => c.start), chunks.map((c) => c.last), chunks.map((c) => c.readings), chunks.map((c) => c.v)],
      );
    } catch (err) {
      // Class 22 (data exception: a value the column cannot hold): sending the same points again cannot help.
      if (/^22/.test(String((err as { code?: unknown }).code ?? ''))) throw new RejectedPointsError((err as Error).message);
      throw err;
    }
  }

  query(q: TelemetryQuery): Promise<StoredReading[]> {
    return queryChunks(this.#rows, q);
  }

  series(q: SeriesQuery): Promise<Series[]> {
    return seriesOfChunks(this.#rows, q);
  }

  /** A device's chunks for a read of [from, to), a page at a time in (ts, n) order (keyset: each page after the last row of the one before). */
  readonly #rows: ChunkSource = (deviceId, from, to) => {
    const sql = this.#sql;
    return (async function* pages(): AsyncGenerator<ChunkRow[]> {
      const range = 'device_id = ? AND ts >= ? AND ts < ? AND last >= ?';
      const params = [deviceId, from - TELEMETRY_CHUNK_SPAN_MS, to, from];
      let after: [number, number] | undefined;
      for (;;) {
        const rows = await sql.all<{ ts: number; n: number; last: number; v: string }>(
          `SELECT ts, n, last, v FROM telemetry WHERE ${range}${after ? ' AND (ts, n) > (?, ?)' : ''} ORDER BY ts, n LIMIT ${READ_PAGE}`,
          after ? [...params, ...after] : params,
        );
        yield rows.map((r) => [r.ts, r.n, r.last, r.v]);
        if (rows.length < READ_PAGE) return;
        const last = rows.at(-1)!;
        after = [last.ts, last.n];
      }
    })();
  };

  /**
   * Deletes readings older than `cutoff`: chunks wholly before it, a batch at a time, then those
   * that straddle it cut down to their later entries. Returns the readings removed. Run by one node
   * (the retention job is claimed), while the others go on writing newer chunks.
   */
  async pruneBefore(cutoff: number): Promise<number> {
    let removed = 0;
    for (;;) {
      const gone = await this.#sql.get<{ chunks: number; readings: number }>(
        `WITH gone AS (
           DELETE FROM telemetry WHERE (device_id, ts, n) IN (SELECT device_id, ts, n FROM telemetry WHERE ts < ? AND last < ? LIMIT ${PRUNE_BATCH})
           RETURNING readings)
         SELECT count(*) AS chunks, coalesce(sum(readings), 0) AS readings FROM gone`,
        [cutoff, cutoff],
      );
      removed += gone!.readings;
      if (gone!.chunks < PRUNE_BATCH) break;
    }
    const straddling = await this.#sql.all<{ device_id: string; ts: number; n: number; last: number; v: string }>('SELECT device_id, ts, n, last, v FROM telemetry WHERE ts < ? AND last >= ?', [cutoff, cutoff]);
    if (straddling.length === 0) return removed;
    const trimmed = straddling.map((row) => ({ row, ...trimChunk(row, cutoff) }));
    await this.#sql.run(
      `UPDATE telemetry t SET ts = u.start, v = u.v, readings = u.readings
       FROM unnest(?::text[], ?::float8[], ?::bigint[], ?::float8[], ?::text[], ?::int[]) AS u(device_id, ts, n, start, v, readings)
       WHERE t.device_id = u.device_id AND t.ts = u.ts AND t.n = u.n`,
      [trimmed.map((t) => t.row.device_id), trimmed.map((t) => t.row.ts), trimmed.map((t) => t.row.n), trimmed.map((t) => t.start), trimmed.map((t) => t.v), trimmed.map((t) => t.readings)],
    );
    return removed + trimmed.reduce((sum, t) => sum + t.removed, 0);
  }

  close(): Promise<void> {
    return this.#sql.close();
  }
}
