import { statfsSync } from 'node:fs';
import { errorMessage } from '../core/errors.ts';
import { isStorageUnavailable } from './storage-errors.ts';
import type { StorageStatus } from '../core/storage-status.ts';

export type { StorageStatus };

export interface StorageHealthDeps {
  dataDir: string;
  /** A small write to the data directory's store, tried while it is unwritable: success means it is writable again. */
  probe: (now: number) => void;
  now: () => number;
  /** Below this much free space telemetry is shed. */
  minFreeBytes: number;
  /** Told once per change (log line, metric, live stream). */
  onChange: (status: StorageStatus) => void;
}

/** Free and total bytes of the file system holding `path`, or nulls when it cannot be read. */
export function diskSpace(path: string): { free: number | null; total: number | null } {
  try {
    const s = statfsSync(path);
    return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
  } catch {
    return { free: null, total: null };
  }
}

export const formatBytes = (n: number | null): string =>
  n === null ? 'unknown' : n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1 << 10 ? `${(n / 1024).toFixed(0)} KiB` : `${n} B`;

/** Free space a full data directory needs again before it counts as writable. */
export const RECOVERY_FREE_BYTES = 1_048_576;

/**
 * Watches whether the data directory can be written. A write that fails for
 * lack of space (or an I/O error) anywhere is reported here; from then on
 * `check()` (run every few seconds) tries a small write until one succeeds,
 * and the gateway carries on by itself when space returns. Free space is read
 * each time too: under `minFreeBytes`, telemetry is shed first.
 */
export class StorageHealth {
  readonly #d: StorageHealthDeps;
  #status: StorageStatus;
  writeFailures = 0;
  shedPoints = 0;

  constructor(deps: StorageHealthDeps) {
    this.#d = deps;
    this.#status = { writable: true, lowSpace: false, freeBytes: null, totalBytes: null, reason: null, since: null, path: deps.dataDir };
  }

  get status(): StorageStatus {
    return this.#status;
  }

  /** True when telemetry should not be written now (low on space, or nothing can be written). */
  get shedTelemetry(): boolean {
    return this.#status.lowSpace || !this.#status.writable;
  }

  /** A write failed: if for lack of space or I/O, the directory is unwritable until a probe succeeds. Returns whether it was such an error. */
  failed(err: unknown): boolean {
    const cause = (err as { cause?: unknown } | null)?.cause ?? err;
    if (!isStorageUnavailable(cause) && !isStorageUnavailable(err)) return false;
    this.writeFailures++;
    if (this.#status.writable) this.#set({ writable: false, reason: errorMessage(cause), since: this.#d.now() });
    return true;
  }

  /** Reads the free space, and when unwritable tries a small write. Never throws. */
  check(): StorageStatus {
    const space = diskSpace(this.#d.dataDir);
    const lowSpace = space.free !== null && space.free < this.#d.minFreeBytes;
    let { writable, reason, since } = this.#status;
    // A nearly full disk can still take a small write now and then (into room the write-ahead log
    // already has); that is not a recovery: with less than RECOVERY_FREE_BYTES free it stays unwritable.
    const roomAgain = space.free === null || space.free >= RECOVERY_FREE_BYTES;
    if (!writable && roomAgain) {
      try {
        this.#d.probe(this.#d.now());
        writable = true;
        reason = null;
      } catch (err) {
        reason = errorMessage(err);
      }
    }
    if (!writable || lowSpace) since ??= this.#d.now();
    else since = null;
    const changed = writable !== this.#status.writable || lowSpace !== this.#status.lowSpace;
    const next = { ...this.#status, writable, lowSpace, reason, since, freeBytes: space.free, totalBytes: space.total };
    if (changed) this.#set(next);
    else this.#status = next;
    return this.#status;
  }

  #set(patch: Partial<StorageStatus>): void {
    this.#status = { ...this.#status, ...patch };
    if (patch.writable === false) {
      const space = diskSpace(this.#d.dataDir);
      this.#status.freeBytes = space.free;
      this.#status.totalBytes = space.total;
    }
    this.#d.onChange(this.#status);
  }

  /** One line for logs, /readyz and the console. */
  describe(): string {
    const s = this.#status;
    const space = `${formatBytes(s.freeBytes)} free of ${formatBytes(s.totalBytes)} in ${s.path}`;
    if (!s.writable) return `cannot write the data directory (${s.reason}); ${space}; device events are not acknowledged until it can`;
    if (s.lowSpace) return `low on space: ${space}; telemetry is not stored until ${formatBytes(this.#d.minFreeBytes)} are free`;
    return space;
  }
}
