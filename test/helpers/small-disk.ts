import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A small file system of its own (a tmpfs in a private mount namespace, no
 * root needed: `unshare -rm`), to fill up and free again. A holder process
 * keeps the namespace alive, so gateway processes can be started in it one
 * after another (`spawn`) and see the same disk; the test reaches the files
 * through the holder's /proc/<pid>/root.
 */
export interface SmallDisk {
  /** The mount point, as the processes inside see it. */
  dir: string;
  /** A path inside, as this (outside) process reaches it. */
  outside(path: string): string;
  spawn(command: string, args: string[], opts: SpawnOptions): ChildProcess;
  /** Writes a filler file until the disk is full; returns the bytes written. */
  fill(): number;
  /** Deletes the filler. */
  free(): void;
  close(): Promise<void>;
}

export async function smallDisk(sizeMb: number): Promise<SmallDisk> {
  const dir = mkdtempSync(join(tmpdir(), 'carebell-disk-'));
  const holder = spawn('unshare', ['-rm', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=${sizeMb}m carebell-test "$0" && echo mounted && exec sleep 3600`, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  holder.stderr!.on('data', (c) => (err += c));
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.on('data', (c) => String(c).includes('mounted') && resolve());
    holder.once('exit', (code) => reject(new Error(`could not mount a tmpfs in a user namespace (exit ${code}): ${err}`)));
  });
  const outside = (path: string) => `/proc/${holder.pid}/root${path}`;
  const filler = join(dir, 'filler');
  return {
    dir,
    outside,
    spawn: (command, args, opts) => spawn('nsenter', ['-t', String(holder.pid), '-U', '-m', '--preserve-credentials', `--wd=${String(opts.cwd ?? process.cwd())}`, '--', command, ...args], opts),
    fill() {
      const fd = openSync(outside(filler), 'a');
      const chunk = Buffer.alloc(1 << 20);
      let written = 0;
      try {
        for (let size = chunk.length; size >= 512; ) {
          try {
            written += writeSync(fd, chunk, 0, size);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
            size >>= 1; // the last megabyte in smaller pieces, to the last block
          }
        }
      } finally {
        closeSync(fd);
      }
      return written;
    },
    free() {
      unlinkSync(outside(filler));
    },
    async close() {
      holder.kill('SIGKILL');
      await new Promise((r) => (holder.exitCode !== null ? r(null) : holder.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
