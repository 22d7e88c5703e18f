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
});
