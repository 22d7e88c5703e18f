import type { Logger } from '../core/logger.ts';
import { errorMessage } from '../core/errors.ts';
import { toPoints, type ReadingBatch, type TelemetrySink } from './point.ts';
import type { DeviceContext, Reading } from '../core/model.ts';
import { ColumnBuilder } from './columns.ts';
import type { ColumnBatch } from './columns.ts';

export interface TelemetryWriterOptions {
  log: Logger;
  /**
   * Longest a reading nobody waits for (QoS 0) stays in memory before its
   * batch is written. Readings a device waits for go with the next write.
   */
  flushMs: number;
  /**
   * A batch this big is written at once (default: the sink's `batchSize`, else
   * 16,384 readings). Under load this bounds how long the newest readings wait to
   * be stored; larger batches cost the embedded store less per message (a
   * device's messages in a batch share a row).
   */
  maxBatch?: number;
  onStored?: (count: number) => void;
  /**
   * True while telemetry must give way (the disk is low on space or cannot be
   * written): readings are dropped at once and counted, so a full disk keeps
   * its last room for device events and alarms.
   */
  shed?: () => boolean;
  onShed?: (count: number) => void;
  /** Readings waiting in memory at most (a sink that keeps failing); beyond this new readings are shed. Default: 16 batches. */
  maxPendingPoints?: number;
  /**
   * Longest a device waits for its readings to be written (default 1 s): a
   * store that hangs (a stalled disk) must not hold devices' sessions, and
   * their SOS behind them. Past it the message is acknowledged and its
   * readings are written when the store answers.
   */
  maxWaitMs?: number;
}

/** Settles the callers waiting for one batch: when it is written, or `maxWaitMs` after the first of them came (`late`). */
interface Waiters {
  promise: Promise<void>;
  release: () => void;
}

function waiters(maxWaitMs: number, late: () => void): Waiters {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  const timer = setTimeout(() => {
    late();
    resolve();
  }, maxWaitMs);
  timer.unref();
  return {
    promise,
    release: () => {
      clearTimeout(timer);
      resolve();
    },
  };
}

/**
 * The hot path only appends (to typed columns for the embedded store, to an
 * array for InfluxDB); batches are written to the sink in one transaction
 * (SQLite) or one request (InfluxDB), one batch at a time.
 *
 * Group commit: a device's QoS 1 message is acknowledged once its readings are
 * written, so a gateway killed with SIGKILL loses no reading it acknowledged.
 * Such readings are written as soon as the write before them ends, with
 * whatever else has gathered meanwhile: under load batches grow, and a
 * message waits about one write, never a timer. Readings nobody waits for
 * (QoS 0) are written every `flushMs`, or with the next batch. A write that
 * fails releases its waiters (the readings stay in memory and are retried):
 * a failing telemetry store must never hold a device's session, and its SOS
 * behind it.
 */
export class TelemetryWriter {
  readonly sink: TelemetrySink;
  readonly #log: Logger;
  readonly #flushMs: number;
  readonly #maxBatch: number;
  readonly #onStored: (count: number) => void;
  readonly #shed: () => boolean;
  readonly #onShed: (count: number) => void;
  readonly #maxPendingPoints: number;
  readonly #maxWaitMs: number;
  shedPoints = 0;
  /** Batches whose devices were acknowledged before the write ended (it took longer than maxWaitMs). */
  lateBatches = 0;
  #buffer: ReadingBatch[] = [];
  /** For sinks that take columns: readings go straight in; failed batches wait in #retry, written first. */
  readonly #columns: ColumnBuilder | undefined;
  #retry: ColumnBatch[] = [];
  #points = 0;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #inFlight: Promise<void> | undefined;
  /** Callers waiting for the readings gathered since the last batch was taken. */
  #gathering: Waiters | undefined;
  stored = 0;
  failedBatches = 0;

  constructor(sink: TelemetrySink, opts: TelemetryWriterOptions) {
    this.sink = sink;
    this.#log = opts.log;
    this.#flushMs = opts.flushMs;
    this.#maxBatch = opts.maxBatch ?? sink.batchSize ?? 16_384;
    this.#onStored = opts.onStored ?? (() => {});
    this.#shed = opts.shed ?? (() => false);
    this.#onShed = opts.onShed ?? (() => {});
    this.#maxPendingPoints = opts.maxPendingPoints ?? 16 * this.#maxBatch;
    this.#maxWaitMs = opts.maxWaitMs ?? 1_000;
    this.#columns = sink.writeColumns ? new ColumnBuilder() : undefined;
  }

  /** Readings waiting in memory. */
  get pending(): number {
    return this.#points;
  }

  /**
   * The hot path: appends the message's readings. With `wait`, returns a
   * promise that settles once they are written (or their write failed and
   * they wait in memory for a retry); it never rejects. Nothing to wait for
   * when the readings were shed.
   */
  push(device: DeviceContext, readings: Reading[], wait = false): Promise<void> | undefined {
    // A sink that keeps failing (a full disk) must not grow memory for ever either.
    if (this.#points >= this.#maxPendingPoints || this.#shed()) {
      this.#dropped(readings.length);
      return undefined;
    }
    const columns = this.#columns;
    if (columns) for (let i = 0; i < readings.length; i++) columns.push(readings[i]!.deviceId, readings[i]!.kind, readings[i]!.ts, readings[i]!.value);
    else this.#buffer.push({ device, readings });
    this.#points += readings.length;
    if (!wait) {
      this.#schedule(this.#points >= this.#maxBatch);
      return undefined;
    }
    const gathering = (this.#gathering ??= waiters(this.#maxWaitMs, () => this.lateBatches++));
    this.#schedule(true);
    return gathering.promise;
  }

  #dropped(points: number): void {
    this.shedPoints += points;
    this.#onShed(points);
  }

  /** `now`: write once this turn of the event loop ends (a full batch, or someone waits); else within flushMs. */
  #schedule(now: boolean): void {
    if (this.#inFlight || this.#immediate) return; // the running flush reschedules when it ends
    if (this.#timer) {
      if (!now) return;
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (now) {
      this.#immediate = setImmediate(() => {
        this.#immediate = undefined;
        void this.#flushOnce();
      });
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#flushOnce();
    }, this.#flushMs);
  }

  #take(): { batches: ReadingBatch[]; points: number; all: boolean } {
    let points = 0;
    let n = 0;
    while (n < this.#buffer.length && points < this.#maxBatch) points += this.#buffer[n++]!.readings.length;
    const all = n === this.#buffer.length;
    const batches = all ? this.#buffer : this.#buffer.slice(0, n);
    this.#buffer = all ? [] : this.#buffer.slice(n);
    this.#points -= points;
    return { batches, points, all };
  }

  /** The waiters of everything gathered so far, when the batch being taken holds all of it. */
  #takeWaiters(all: boolean): Waiters | undefined {
    if (!all) return undefined;
    const w = this.#gathering;
    this.#gathering = undefined;
    return w;
  }

  #hasPending(): boolean {
    return this.#buffer.length > 0 || this.#retry.length > 0 || (this.#columns?.length ?? 0) > 0;
  }

  async #flushOnce(): Promise<void> {
    if (this.#inFlight || !this.#hasPending()) return this.#inFlight;
    let write: Promise<void>;
    let points: number;
    let undo: () => void;
    let waiting: Waiters | undefined;
    if (this.#columns) {
      const retry = this.#retry.shift();
      const batch = retry ?? this.#columns.take();
      if (!retry) waiting = this.#takeWaiters(true);
      points = batch.ts.length;
      this.#points -= points;
      write = this.#write(() => this.sink.writeColumns!(batch));
      undo = () => this.#retry.unshift(batch);
    } else {
      const taken = this.#take();
      waiting = this.#takeWaiters(taken.all);
      points = taken.points;
      write = this.#write(() => this.sink.write(toPoints(taken.batches)));
      undo = () => (this.#buffer = taken.batches.concat(this.#buffer));
    }
    this.#inFlight = write
      .then(
        () => {
          this.stored += points;
          this.#onStored(points);
        },
        (err) => {
          // Sinks spool on failure and should not reject; if one does, keep the readings and retry.
          this.failedBatches++;
          this.#log.error({ err: errorMessage(err), sink: this.sink.name, points }, 'telemetry batch failed; will retry');
          undo();
          this.#points += points;
        },
      )
      .finally(() => {
        this.#inFlight = undefined;
        waiting?.release();
        if (this.#hasPending()) this.#schedule(this.#points >= this.#maxBatch || this.#gathering !== undefined);
      });
    return this.#inFlight;
  }

  /** A sink that throws instead of rejecting is a failed write all the same. */
  #write(write: () => Promise<void>): Promise<void> {
    try {
      return write();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Writes everything buffered now. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    for (let guard = 0; guard < 1000 && (this.#inFlight || this.#hasPending()); guard++) {
      if (this.#inFlight) await this.#inFlight;
      else await this.#flushOnce();
    }
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#gathering?.release(); // nothing left unwritten (or the sink refused it to the end)
    await this.sink.close();
  }
}
