import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../simulators/influxd.ts';

const run = promisify(execFile);

export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication, this machine only). */
  url: string;
  /** Shuts the server down (fast: sessions are ended), keeping its data: the database is out of reach. */
  halt(): Promise<void>;
  /** Starts it again on the same port and data. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** Debian's PostgreSQL binaries (the newest installed), or `CAREBELL_PG_BIN`. */
export function postgresBin(): string | null {
  if (process.env.CAREBELL_PG_BIN) return process.env.CAREBELL_PG_BIN;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}


/**
 * A throwaway PostgreSQL server for a test: `initdb` in a temp directory,
 * `pg_ctl start` on a free port of 127.0.0.1 (fsync off: the test's data need
 * not survive a power cut), stopped and removed by `stop()`. PostgreSQL will
 * not run as root, so as root it runs as the `postgres` user.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql), or set CAREBELL_PG_BIN');
  const dir = mkdtempSync(join(tmpdir(), 'carebell-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  // As the postgres user, without libfaketime (the suite's runs at 03:00 and 15:00 preload it): its shared
  // memory and semaphore belong to root, and a stale one left by a killed process of the same pid is refused
  // to another user ("sem_open failed ... Permission denied"). The server's own clock is never read: every
  // time carebell stores comes from its own clock, as a parameter.
  const as = (cmd: string, args: string[]) =>
    asRoot ? run('env', ['-u', 'LD_PRELOAD', '-u', 'FAKETIME_SHARED', 'runuser', '-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args);
  const data = join(dir, 'data');
  await as('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100`;
  const start = () => as('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async halt() {
      await as('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    async resume() {
      await start();
    },
    async stop() {
      await as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
