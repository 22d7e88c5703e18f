import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/logger.ts';
import { Checkpointer } from '../../../src/store/checkpointer.ts';
import { openDatabase, type Db } from '../../../src/store/database.ts';

describe('WAL checkpoints in their own thread', () => {
  let dir: string;
  let db: Db | undefined;
  afterEach(() => {
    if (db?.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the connection stops checkpointing by itself; the thread copies the log back; closing hands checkpoints back', async () => {
    dir = mkdtempSync(join(tmpdir(), 'carebell-ckpt-'));
    db = openDatabase(dir);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    const checkpointer = new Checkpointer(db, join(dir, "carebell.db"), silentLogger, { intervalMs: 20 });
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);

    db.exec('CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT)');
    const insert = db.prepare('INSERT INTO filler (text) VALUES (?)');
    // 3,000 pages' worth, in many commits: the connection alone would have checkpointed at 1,000 pages.
    for (let t = 0; t < 30; t++) db.transaction(() => { for (let i = 0; i < 100; i++) insert.run('x'.repeat(4_000)); })();
    await expect.poll(() => checkpointer.last?.checkpointed ?? 0, { timeout: 10_000 }).toBeGreaterThan(2_000);
    expect(checkpointer.last!.checkpointed).toBe(checkpointer.last!.log);

    // The database file holds the rows now, not only the log.
    expect(statSync(join(dir, 'carebell.db')).size).toBeGreaterThan(3_000 * 4_000);
    // While the disk cannot be written the connection checkpoints by itself, as without the thread.
    checkpointer.pause();
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    const runs = checkpointer.runs;
    checkpointer.resume();
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    await expect.poll(() => checkpointer.runs, { timeout: 10_000 }).toBeGreaterThan(runs);
    await checkpointer.close();
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  });

  it('under writes that never pause, the log is cut back to nothing once copied, instead of growing with everything written', async () => {
    dir = mkdtempSync(join(tmpdir(), 'carebell-ckpt-'));
    db = openDatabase(dir);
    const limit = 1024 * 1024;
    const checkpointer = new Checkpointer(db, join(dir, 'carebell.db'), silentLogger, { intervalMs: 10, truncateAtBytes: limit });
    db.exec('CREATE TABLE hot (id INTEGER PRIMARY KEY, text TEXT)');
    const insert = db.prepare('INSERT INTO hot (id, text) VALUES (?, ?)');
    for (let i = 0; i < 10; i++) insert.run(i, '');
    const update = db.prepare('UPDATE hot SET text = ? WHERE id = ?');
    const wal = join(dir, 'carebell.db-wal');
    await expect.poll(() => checkpointer.runs, { timeout: 10_000 }).toBeGreaterThan(0); // the thread is running
    // The ten rows rewritten in turn, 2,000 transactions a second (a page or two of log each; the
    // database stays small): a write every half millisecond, never the gap a log needs to start
    // again from its beginning by itself. Until the log has been cut three times, or 20 s, or
    // 24 MB of log (without the cut it grows by 2 to 7 MB a second here; with it, 2 MB at most
    // with four busy loops and a disk writer beside it).
    const afterCuts: number[] = [];
    const started = performance.now();
    let t = 0;
    let largest = 0;
    while (checkpointer.truncations < 3 && performance.now() - started < 20_000 && largest < 24 * limit) {
      // At most 20 a turn: a thread held back (a cut, a busy machine) does not catch up in one burst.
      const due = Math.min(t + 20, Math.floor((performance.now() - started) * 2));
      for (; t < due; t++) update.run(`${t}`.padEnd(4_000, 'x'), t % 10);
      await new Promise((resolve) => setImmediate(resolve));
      largest = Math.max(largest, statSync(wal).size);
      // Heard of a cut: what the log holds now is what this thread wrote since, a few transactions.
      if (checkpointer.truncations > afterCuts.length) afterCuts.push(statSync(wal).size);
    }
    expect(statSync(wal).size).toBeLessThan(limit);
    expect(checkpointer.truncations).toBeGreaterThanOrEqual(3);
    expect(afterCuts.every((size) => size < limit)).toBe(true);
    expect(checkpointer.lastTruncateMs).toBeGreaterThanOrEqual(0);
    expect(db.prepare('SELECT id FROM hot WHERE text LIKE ?').all(`${t - 1}x%`)).toEqual([{ id: (t - 1) % 10 }]);
    await checkpointer.close();
  });
});
