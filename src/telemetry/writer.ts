import type { Logger } from '../core/logger.ts';
import { errorMessage } from '../core/errors.ts';
import type { TelemetryPoint, TelemetrySink } from './point.ts';

export interface TelemetryWriterOptions {
  log: Logger;
  /** Longest a point waits in memory before its batch is written. */
  flushMs: number;
  /** A batch this big is written at once. */
  maxBatch?: number;
  onStored?: (count: number) => void;
}

/**
 * The hot path only appends to an array; batches are written to the sink in
 * one transaction (SQLite) or one request (InfluxDB), one batch at a time.
 */
export class TelemetryWriter {
  readonly sink: TelemetrySink;
  readonly #log: Logger;
  readonly #flushMs: number;
  readonly #maxBatch: number;
  readonly #onStored: (count: number) => void;
  #buffer: TelemetryPoint[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  stored = 0;
  failedBatches = 0;

  constructor(sink: TelemetrySink, opts: TelemetryWriterOptions) {
    this.sink = sink;
    this.#log = opts.log;
    this.#flushMs = opts.flushMs;
    this.#maxBatch = opts.maxBatch ?? 5_000;
    this.#onStored = opts.onStored ?? (() => {});
  }

  get pending(): number {
    return this.#buffer.length;
  }

  push(points: TelemetryPoint[]): void {
    for (const p of points) this.#buffer.push(p);
    if (this.#buffer.length >= this.#maxBatch) this.#schedule(0);
    else this.#schedule(this.#flushMs);
  }

  #schedule(delay: number): void {
    if (this.#inFlight) return; // the running flush reschedules when it ends
    if (this.#timer) {
      if (delay > 0) return;
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#flushOnce();
    }, delay);
  }

  async #flushOnce(): Promise<void> {
    if (this.#inFlight || this.#buffer.length === 0) return this.#inFlight;
    const batch = this.#buffer.length > this.#maxBatch ? this.#buffer.splice(0, this.#maxBatch) : this.#buffer;
    if (batch === this.#buffer) this.#buffer = [];
    this.#inFlight = this.sink
      .write(batch)
      .then(
        () => {
          this.stored += batch.length;
          this.#onStored(batch.length);
        },
        (err) => {
          // Sinks spool on failure and should not reject; if one does, keep the points and retry.
          this.failedBatches++;
          this.#log.error({ err: errorMessage(err), sink: this.sink.name, points: batch.length }, 'telemetry batch failed; will retry');
          this.#buffer = batch.concat(this.#buffer);
        },
      )
      .finally(() => {
        this.#inFlight = undefined;
        if (this.#buffer.length > 0) this.#schedule(this.#buffer.length >= this.#maxBatch ? 0 : this.#flushMs);
      });
    return this.#inFlight;
  }

  /** Writes everything buffered now. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (let guard = 0; guard < 1000 && (this.#inFlight || this.#buffer.length > 0); guard++) {
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
