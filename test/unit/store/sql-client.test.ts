import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../src/store/database.ts';
import { SqliteClient, type SqlClient } from '../../../src/store/sql-client.ts';

/** The embedded database's transaction: its statements commit together, and only while it is open. */
describe('SqliteClient transactions', () => {
  let db: Db;
  let sql: SqliteClient;
  beforeEach(async () => {
    db = openDatabase(null);
    sql = new SqliteClient(db);
    await sql.run('CREATE TABLE t (v INTEGER)');
  });
  afterEach(() => db.close());

  it('a statement through a transaction that has ended is refused, not run outside it', async () => {
    let kept!: SqlClient;
    await sql.transaction(async (tx) => {
      kept = tx;
      await tx.run('INSERT INTO t (v) VALUES (?)', [1]);
    });
    await expect(kept.run('INSERT INTO t (v) VALUES (?)', [2])).rejects.toThrow('transaction already ended');
    await expect(kept.all('SELECT v FROM t')).rejects.toThrow('transaction already ended');
    await expect(kept.get('SELECT v FROM t')).rejects.toThrow('transaction already ended');
    expect(await sql.all('SELECT v FROM t')).toEqual([{ v: 1 }]);
  });

  it('a nested transaction joins the open one: a throw after it rolls back both', async () => {
    await expect(
      sql.transaction(async (tx) => {
        await tx.transaction(async (inner) => {
          await inner.run('INSERT INTO t (v) VALUES (?)', [1]);
        });
        expect(await tx.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
        throw new Error('after the nested one');
      }),
    ).rejects.toThrow('after the nested one');
    expect(await sql.all('SELECT v FROM t')).toEqual([]);
    expect(db.inTransaction).toBe(false);
  });
});
