import type { Logger } from '../core/logger.ts';
import { errorMessage } from '../core/errors.ts';
import { toPoints, type ReadingBatch, type TelemetrySink } from './point.ts';
import type { DeviceContext, Reading } from '../core/model.ts';
import { ColumnBuilder } from './columns.ts';
import type { ColumnBatch } from './columns.ts';

export interface TelemetryWriterOptions {
  log: Logger;
  /** Longest a point waits in memory before its batch is written. */
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
}

/**
 * The hot path only appends (to typed columns for the embedded store, to an
 * array for InfluxDB); batches are written to the sink in one transaction
 * (SQLite) or one request (InfluxDB), one batch at a time.
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
  shedPoints = 0;
  #buffer: ReadingBatch[] = [];
  /** For sinks that take columns: readings go straight in; failed batches wait in #retry, written first. */
  readonly #columns: ColumnBuilder | undefined;
  #retry: ColumnBatch[] = [];
  #points = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerImmediate = false;
  #inFlight: Promise<void> | undefined;
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
    this.#columns = sink.writeColumns ? new ColumnBuilder() : undefined;
  }

  /** Readings waiting in memory. */
  get pending(): number {
    return this.#points;
  }

  /** The hot path: keeps a reference to the message's readings, nothing more. */
  push(device: DeviceContext, readings: Reading[]): void {
    // A sink that keeps failing (a full disk) must not grow memory for ever either.
    if (this.#points >= this.#maxPendingPoints || this.#shed()) return this.#dropped(readings.length);
    const columns = this.#columns;
    if (columns) for (let i = 0; i < readings.length; i++) columns.push(readings[i]!.deviceId, readings[i]!.kind, readings[i]!.ts, readings[i]!.value);
    else this.#buffer.push({ device, readings });
    this.#points += readings.length;
    this.#schedule(this.#points >= this.#maxBatch);
  }

  #dropped(points: number): void {
    this.shedPoints += points;
    this.#onShed(points);
  }

  #schedule(now: boolean): void {
    if (this.#inFlight) return; // the running flush reschedules when it ends
    if (this.#timer) {
      if (!now || this.#timerImmediate) return;
      clearTimeout(this.#timer);
    }
    this.#timerImmediate = now;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        void this.#flushOnce();
      },
      now ? 0 : this.#flushMs,
    );
  }

  #take(): { batches: ReadingBatch[]; points: number } {
    let points = 0;
    let n = 0;
    while (n < this.#buffer.length && points < this.#maxBatch) points += this.#buffer[n++]!.readings.length;
    const batches = n === this.#buffer.length ? this.#buffer : this.#buffer.slice(0, n);
    this.#buffer = n === this.#buffer.length ? [] : this.#buffer.slice(n);
    this.#points -= points;
    return { batches, points };
  }

  #hasPending(): boolean {
    return this.#buffer.length > 0 || this.#retry.length > 0 || (this.#columns?.length ?? 0) > 0;
  }

  async #flushOnce(): Promise<void> {
    if (this.#inFlight || !this.#hasPending()) return this.#inFlight;
    let write: Promise<void>;
    let points: number;
    let undo: () => void;
    if (this.#columns) {
      const batch = this.#retry.shift() ?? this.#columns.take();
      points = batch.ts.length;
      this.#points -= points;
      write = this.sink.writeColumns!(batch);
      undo = () => this.#retry.unshift(batch);
    } else {
      const taken = this.#take();
      points = taken.points;
      write = this.sink.write(toPoints(taken.batches));
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
        if (this.#hasPending()) this.#schedule(this.#points >= this.#maxBatch);
      });
    return this.#inFlight;
  }

  /** Writes everything buffered now. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (let guard = 0; guard < 1000 && (this.#inFlight || this.#hasPending()); guard++) {
      if (this.#inFlight) await this.#inFlight;
      else await this.#flushOnce();
    }
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.#timer) clearTimeout(this.#timer);
    await this.sink.close();
  }
}
