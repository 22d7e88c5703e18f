import pg from 'pg';
import type { Db } from './database.ts';

/**
 * The storage interface every backend offers, asynchronous because
 * PostgreSQL's is: statements in the portable subset of SQL both dialects
 * share, `?` for parameters (turned into `$1, $2 …` for PostgreSQL), and
 * transactions that hand their body a client bound to them. Repositories
 * written against it run unchanged on embedded SQLite and on PostgreSQL, and
 * the same contract tests check both (test/contract/).
 *
 * Where the dialects differ, the repository asks `dialect` (e.g. `FOR UPDATE
 * SKIP LOCKED`, which SQLite has no need of: it has one writer).
 */
export interface SqlClient {
  readonly dialect: 'sqlite' | 'postgres';
  /** Rows of a query, columns as named in it. */
  all<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** The first row, if any. */
  get<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R | undefined>;
  /** A statement that changes rows: how many it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
  /**
   * Runs `fn` in one transaction: everything it does through `tx` commits
   * together or not at all (a throw rolls back and rethrows). Inside, use
   * `tx`, never the outer client: on PostgreSQL that is another connection.
   */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /**
   * Tells the other nodes on this database that something changed (PostgreSQL
   * NOTIFY; delivered once committed). On the embedded database there is no
   * other node: nothing is sent.
   */
  notify?(channel: string, payload: string): Promise<void>;
  /**
   * Hears what other nodes `notify` on `channel` (not this client's own).
   * `payload` null: the connection that listens was lost and is back, so
   * changes may have been missed and whatever is kept in memory should be read
   * again. Resolves, once listening, with a function that stops it.
   */
  listen?(channel: string, fn: (payload: string | null) => void): Promise<() => Promise<void>>;
  /**
   * Resolves once every notice this client has sent so far is on the server
   * (committed): a reply that follows it reaches its caller after the other
   * nodes can know of the change.
   */
  noticesSent?(): Promise<void>;
  /**
   * Resolves once every notice the other nodes committed before this call has
   * been handed to its listeners here (one notice of this client's own on a
   * channel of its own: the server delivers notices in commit order). Gives
   * up after `timeoutMs` (the listening connection lost) rather than hang.
   */
  barrier?(timeoutMs?: number): Promise<void>;
}

/** A notice's JSON, or undefined for none (a reconnect) or one that is not what a node sends. */
export function parseNotice<T>(payload: string | null): T | undefined {
  if (payload === null) return undefined;
  try {
    const value = JSON.parse(payload) as unknown;
    return value !== null && typeof value === 'object' ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The store could not take the statement now (its connection stayed busy
 * too long, or the database server is unreachable); the same write may work
 * later, so a device's message that needed it is not acknowledged.
 */
export class StoreBusyError extends Error {
  readonly code = 'store_busy';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreBusyError';
  }
}

/**
 * A first-come, first-served lock for async work. A waiter that has not got
 * it after `timeoutMs` gives up with an error: on the embedded database a
 * transaction takes milliseconds, so that long means a statement waiting for
 * the very transaction it runs in (a bug), which should fail loudly rather
 * than hang every write.
 */
class Mutex {
  #held = false;
  readonly #queue: Array<{ resolve: () => void; timer: NodeJS.Timeout }> = [];
  constructor(readonly timeoutMs: number) {}

  get held(): boolean {
    return this.#held;
  }

  acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve,
        timer: setTimeout(() => {
          this.#queue.splice(this.#queue.indexOf(waiter), 1);
          reject(new StoreBusyError(`waited ${this.timeoutMs} ms for the database: a statement outside a transaction while that transaction waits for it?`));
        }, this.timeoutMs),
      };
      this.#queue.push(waiter);
    });
  }

  release(): void {
    const next = this.#queue.shift();
    if (next) {
      clearTimeout(next.timer);
      next.resolve();
    } else this.#held = false;
  }
}

/** SQLite integers come back as numbers; values are bound as they are (booleans as 0/1). */
const bind = (params: readonly unknown[]): unknown[] => params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));

function allRows<R>(db: Db, sql: string, params: readonly unknown[]): R[] {
  return db.prepare(sql).all(...bind(params)) as R[];
}
function firstRow<R>(db: Db, sql: string, params: readonly unknown[]): R | undefined {
  return db.prepare(sql).get(...bind(params)) as R | undefined;
}
function runStatement(db: Db, sql: string, params: readonly unknown[]): { changes: number } {
  const statement = db.prepare(sql);
  // A statement with RETURNING hands back rows; run() would discard them, so it is read.
  if (statement.reader) return { changes: statement.all(...bind(params)).length };
  return { changes: statement.run(...bind(params)).changes };
}

/**
 * The statements of one open SQLite transaction (SqliteClient.transaction
 * holds the connection for it); refused once it has ended. One object a
 * transaction, not a closure a method: an SOS runs several.
 */
class SqliteTransaction implements SqlClient {
  readonly dialect = 'sqlite' as const;
  ended = false;
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  all<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return this.ended ? alreadyEnded() : Promise.resolve(allRows<R>(this.#db, sql, params));
  }
  get<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<R | undefined> {
    return this.ended ? alreadyEnded() : Promise.resolve(firstRow<R>(this.#db, sql, params));
  }
  run(sql: string, params: readonly unknown[] = []): Promise<{ changes: number }> {
    return this.ended ? alreadyEnded() : Promise.resolve(runStatement(this.#db, sql, params));
  }
  /** Nested: joins this one. */
  transaction<T>(inner: (tx: SqlClient) => Promise<T>): Promise<T> {
    return inner(this);
  }
  async close(): Promise<void> {}
}

const alreadyEnded = (): Promise<never> => Promise.reject(new Error('transaction already ended'));

/**
 * SQLite behind the async interface, on the gateway's one connection. A
 * transaction holds the connection from BEGIN IMMEDIATE to COMMIT across its
 * awaits; statements from outside it wait until it ends, so nothing outside
 * joins it by accident. (Writers still on the synchronous API, which do not
 * go through this client, run in other event-loop turns than an alarm
 * transaction's microtasks; they move behind the interface with the rest of
 * the data.)
 */
export class SqliteClient implements SqlClient {
  readonly dialect = 'sqlite' as const;
  readonly #db: Db;
  readonly #mutex: Mutex;

  constructor(db: Db, options: { lockTimeoutMs?: number } = {}) {
    this.#db = db;
    this.#mutex = new Mutex(options.lockTimeoutMs ?? 10_000);
  }

  async #outside<T>(fn: () => T): Promise<T> {
    if (!this.#mutex.held) return fn();
    await this.#mutex.acquire();
    try {
      return fn();
    } finally {
      this.#mutex.release();
    }
  }

  all<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return this.#outside(() => allRows<R>(this.#db, sql, params));
  }
  get<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<R | undefined> {
    return this.#outside(() => firstRow<R>(this.#db, sql, params));
  }
  run(sql: string, params: readonly unknown[] = []): Promise<{ changes: number }> {
    return this.#outside(() => runStatement(this.#db, sql, params));
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    await this.#mutex.acquire();
    const tx = new SqliteTransaction(this.#db);
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      const result = await fn(tx);
      this.#db.exec('COMMIT');
      return result;
    } catch (err) {
      // A failed body, or a COMMIT that failed (a full disk): the connection must not stay inside this transaction.
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      throw err;
    } finally {
      tx.ended = true;
      this.#mutex.release();
    }
  }

  async close(): Promise<void> {
    // The connection belongs to the gateway's storage module, which closes it.
  }
}

/** `?` → `$1, $2 …`, leaving question marks inside quoted strings alone. */
export function numberedParameters(sql: string): string {
  let n = 0;
  let out = '';
  let quoted = false;
  for (const c of sql) {
    if (c === "'") quoted = !quoted;
    out += c === '?' && !quoted ? `$${++n}` : c;
  }
  return out;
}

// int8 (count(*), bigint columns) as a number: carebell's values (epoch milliseconds, counts) fit in 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/**
 * The database out of reach rather than the statement wrong: no connection
 * (refused, reset, timed out, terminated), the server shutting down or not
 * accepting connections (SQLSTATE classes 08 and 57P), too many clients
 * (53300). The same statement may work in a moment.
 */
export function isUnreachable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  const code = e?.code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '53300', '57P01', '57P02', '57P03'].includes(code)) return true;
  if (code.startsWith('08')) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(e?.message ?? '');
}

/** A statement's failure as the store interface says it: StoreBusyError when the database is out of reach. */
const asStoreError = (err: unknown): never => {
  if (isUnreachable(err)) throw new StoreBusyError(`the database is out of reach: ${(err as Error).message}`, { cause: err });
  throw err;
};

/** PostgreSQL behind the same interface, with node-postgres' pool; a transaction has a connection of its own. */
export class PostgresClient implements SqlClient {
  readonly dialect = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #url: string;
  readonly #sql = new Map<string, string>();
  /** Statements outside a transaction, on any connection of the pool. */
  readonly #outside: SqlClient;
  /** Marks this client's own notifications, which its listener skips. */
  readonly #origin = Math.random().toString(36).slice(2, 12);
  /** One connection of its own that LISTENs, made at the first listen(). */
  #listener: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  readonly #handlers = new Map<string, Set<(payload: string | null) => void>>();
  #listenQueue: Promise<void> = Promise.resolve();
  #closed = false;
  /** Notices on their way to the server. */
  readonly #sending = new Set<Promise<unknown>>();
  /** The channel only this client listens on, for barrier(); its waiters by token. */
  readonly #barrierChannel = `carebell_barrier_${this.#origin}`;
  readonly #barriers = new Map<string, () => void>();
  #barrierListening: Promise<unknown> | undefined;
  #barrierSeq = 0;

  constructor(url: string, options: { max?: number; applicationName?: string; connectTimeoutMs?: number } = {}) {
    this.#url = url;
    // A connection that cannot be made in 5 s fails (StoreBusyError) rather than holding an SOS's PUBACK indefinitely.
    this.#pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, application_name: options.applicationName ?? 'carebell', connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000 });
    // An idle connection that dies (the server restarted) is dropped from the pool, not thrown at the process.
    this.#pool.on('error', () => {});
    // A connection out of the pool (a transaction's, between two statements) is no longer heard by the
    // pool: the server ending it (a restart, 57P01) would be an unheard 'error' event, which ends the
    // process. Every connection keeps a listener of its own; the statement under way fails as usual
    // and the pool drops the connection when it comes back unusable.
    this.#pool.on('connect', (client) => void client.on('error', () => {}));
    this.#outside = PostgresClient.#on(this.#pool, (s) => this.#text(s));
  }

  #text(sql: string): string {
    let text = this.#sql.get(sql);
    if (text === undefined) this.#sql.set(sql, (text = numberedParameters(sql)));
    return text;
  }

  static #on(q: pg.Pool | pg.PoolClient, text: (sql: string) => string): SqlClient {
    const query = (sql: string, params: readonly unknown[]) => q.query(text(sql), params as unknown[]).catch(asStoreError);
    const client: SqlClient = {
      dialect: 'postgres',
      all: async <R>(sql: string, params: readonly unknown[] = []) => (await query(sql, params)).rows as R[],
      get: async <R>(sql: string, params: readonly unknown[] = []) => (await query(sql, params)).rows[0] as R | undefined,
      run: async (sql: string, params: readonly unknown[] = []) => ({ changes: (await query(sql, params)).rowCount ?? 0 }),
      transaction: (inner) => inner(client),
      close: async () => {},
    };
    return client;
  }

  all<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]> {
    return this.#outside.all<R>(sql, params);
  }
  get<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R | undefined> {
    return this.#outside.get<R>(sql, params);
  }
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }> {
    return this.#outside.run(sql, params);
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    const connection = await this.#pool.connect().catch(asStoreError);
    try {
      await connection.query('BEGIN').catch(asStoreError);
      try {
        const tx = PostgresClient.#on(connection, (s) => this.#text(s));
        // A notice sent inside the transaction is delivered when, and only if, it commits: no window
        // between the change and its announcement (a node killed there would leave the others unaware).
        tx.notify = async (channel, payload) => void (await connection.query('SELECT pg_notify($1, $2)', [channel, `${this.#origin} ${payload}`]).catch(asStoreError));
        const result = await fn(tx);
        await connection.query('COMMIT').catch(asStoreError);
        return result;
      } catch (err) {
        await connection.query('ROLLBACK').catch(() => {});
        throw err;
      }
    } finally {
      connection.release();
    }
  }

  async notify(channel: string, payload: string): Promise<void> {
    const sent = this.#pool.query('SELECT pg_notify($1, $2)', [channel, `${this.#origin} ${payload}`]);
    this.#sending.add(sent);
    try {
      await sent.catch(asStoreError);
    } finally {
      this.#sending.delete(sent);
    }
  }

  async noticesSent(): Promise<void> {
    await Promise.allSettled([...this.#sending]);
  }

  async barrier(timeoutMs = 2_000): Promise<void> {
    this.#barrierListening ??= this.listen(this.#barrierChannel, (token) => void (token !== null && this.#barriers.get(token)?.())).catch((err: unknown) => {
      this.#barrierListening = undefined;
      throw asStoreError(err);
    });
    await this.#barrierListening;
    const token = String(++this.#barrierSeq);
    let timer: NodeJS.Timeout | undefined;
    const heard = new Promise<void>((resolve) => {
      this.#barriers.set(token, resolve);
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    try {
      // Without this client's mark, so that its own listener hears it.
      await this.#pool.query('SELECT pg_notify($1, $2)', [this.#barrierChannel, `barrier ${token}`]).catch(asStoreError);
      await heard;
    } finally {
      clearTimeout(timer);
      this.#barriers.delete(token);
    }
  }

  async listen(channel: string, fn: (payload: string | null) => void): Promise<() => Promise<void>> {
    const listener = await this.#listening();
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      this.#handlers.set(channel, (handlers = new Set()));
      // One statement at a time on the listening connection (several tables start listening at once).
      const listen = this.#listenQueue.then(() => listener.query(`LISTEN ${pg.escapeIdentifier(channel)}`));
      this.#listenQueue = listen.then(
        () => undefined,
        () => undefined,
      );
      await listen;
    }
    handlers.add(fn);
    return async () => {
      handlers.delete(fn);
    };
  }

  #listening(): Promise<pg.Client> {
    if (this.#listener) return Promise.resolve(this.#listener);
    return (this.#connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.#url, application_name: 'carebell-listen' });
      client.on('notification', (m) => {
        const text = m.payload ?? '';
        const space = text.indexOf(' ');
        if (text.slice(0, space) === this.#origin) return; // this client's own
        // A handler that throws (a notice it cannot read) must not reach the connection's event emitter: that would end the process.
        for (const fn of this.#handlers.get(m.channel) ?? []) {
          try {
            fn(text.slice(space + 1));
          } catch {
            /* the handler's own problem; the next notice is heard as usual */
          }
        }
      });
      // Lost (the server restarted, the network): listen again, and tell every handler it may have missed changes.
      const lost = () => {
        if (this.#listener !== client) return;
        this.#listener = undefined;
        this.#connecting = undefined;
        this.#relisten();
      };
      client.on('error', lost);
      client.on('end', lost);
      try {
        await client.connect();
      } catch (err) {
        this.#connecting = undefined;
        throw err;
      }
      this.#listener = client;
      return client;
    })());
  }

  /** Every second until it works: a new listening connection, every channel again, and each handler told it may have missed changes. */
  #relisten(): void {
    if (this.#closed) return;
    const retry = setTimeout(() => {
      this.#listening()
        .then(async (again) => {
          for (const channel of this.#handlers.keys()) await again.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
          for (const handlers of this.#handlers.values()) for (const fn of handlers) fn(null);
        })
        .catch(() => {
          this.#listener?.end().catch(() => {});
          this.#listener = undefined;
          this.#connecting = undefined;
          this.#relisten();
        });
    }, 1_000);
    retry.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => {});
    await this.#pool.end();
  }
}
