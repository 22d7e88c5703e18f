import type { Logger } from '../core/logger.ts';
import { errorMessage } from '../core/errors.ts';
import { DiskSpool } from './spool.ts';
import type { Series, SeriesQuery, StoredReading, TelemetryPoint, TelemetryQuery, TelemetrySink } from './point.ts';

/** Points in one replay request: InfluxDB's documented sweet spot is 5,000–10,000 a write. */
export const REPLAY_POINTS = 5_000;

/**
 * The server refused the points themselves (InfluxDB's 400: a point it cannot
 * parse, a field of another type than before): sending them again cannot
 * help. The batch is set aside on disk with the reason, never retried for
 * ever in front of everything after it.
 */
export class RejectedPointsError extends Error {
  override readonly name = 'RejectedPointsError';
}

/** The part of a remote time-series server the gateway needs. */
export interface RemoteWriter {
  readonly name: string;
  write(points: TelemetryPoint[]): Promise<void>;
  query(q: TelemetryQuery): Promise<StoredReading[]>;
  series(q: SeriesQuery): Promise<Series[]>;
  /** Where the gateway keeps the readings' retention itself (PostgreSQL); InfluxDB has its own. */
  pruneBefore?(cutoff: number): Promise<number>;
  close(): Promise<void>;
}

export interface RemoteSinkOptions {
  spoolDir: string;
  log: Logger;
  retryMinMs?: number;
  retryMaxMs?: number;
  onBacklogChange?: (points: number) => void;
  /** Told of points the server refused for good (kept in the spool's `rejected/` folder with the reason). */
  onRejected?: (points: number) => void;
  /**
   * Longest a batch waits for the server before it is spooled (default 1 s).
   * Devices wait for their readings to be written, so a server that hangs
   * must not hold them: the batch goes to the disk, and if the server took it
   * after all, the replay writes the same points again (harmless).
   */
  ackWithinMs?: number;
}

/**
 * Writes to a remote server and never loses a point: a batch the server does
 * not accept goes to the disk spool, and while anything is spooled, new batches
 * queue behind it so order is kept. A drain loop with backoff replays the spool
 * when the server is back. Re-sending a batch whose acknowledgement was lost is
 * harmless: InfluxDB keeps one point per series and timestamp.
 */
export class SpoolingRemoteSink implements TelemetrySink {
  readonly name: string;
  readonly #writer: RemoteWriter;
  readonly #spool: DiskSpool;
  readonly #log: Logger;
  readonly #retryMin: number;
  readonly #retryMax: number;
  readonly #onBacklog: (n: number) => void;
  readonly #onRejected: (n: number) => void;
  readonly #ackWithin: number;
  #retryDelay: number;
  #timer: NodeJS.Timeout | undefined;
  #draining: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #closed = false;
  writeFailures = 0;
  rejectedPoints = 0;

  constructor(writer: RemoteWriter, opts: RemoteSinkOptions) {
    this.name = writer.name;
    this.#writer = writer;
    this.#spool = new DiskSpool(opts.spoolDir);
    this.#log = opts.log;
    this.#retryMin = opts.retryMinMs ?? 500;
    this.#retryMax = opts.retryMaxMs ?? 30_000;
    this.#retryDelay = this.#retryMin;
    this.#onBacklog = opts.onBacklogChange ?? (() => {});
    this.#ackWithin = opts.ackWithinMs ?? 1_000;
    this.#onRejected = opts.onRejected ?? (() => {});
    if (this.#spool.size > 0) {
      this.#log.info({ sink: this.name, points: this.#spool.size }, 'spooled telemetry found; replaying');
      this.#scheduleDrain(0);
    }
    this.#onBacklog(this.#spool.size);
  }

  async write(points: TelemetryPoint[]): Promise<void> {
    if (points.length === 0) return;
    if (this.#spool.size > 0 || this.#draining) {
      this.#spool.append(points);
      this.#onBacklog(this.#spool.size);
      this.#scheduleDrain(this.#draining ? this.#retryDelay : 0);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const sent = this.#writer.write(points).then(
      () => undefined,
      (err: unknown) => {
        if (err instanceof RejectedPointsError) {
          this.#rejected(points, err);
          return undefined;
        }
        this.writeFailures++;
        return errorMessage(err);
      },
    );
    const slow = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${this.#ackWithin} ms`), this.#ackWithin)));
    const failure = await Promise.race([sent, slow]);
    clearTimeout(timer);
    if (failure === undefined) return;
    this.#spool.append(points);
    this.#onBacklog(this.#spool.size);
    this.#log.warn({ sink: this.name, err: failure, spooled: this.#spool.size }, 'telemetry server unreachable; spooling to disk');
    this.#scheduleDrain(this.#retryDelay);
  }

  query(q: TelemetryQuery): Promise<StoredReading[]> {
    return this.#writer.query(q);
  }

  series(q: SeriesQuery): Promise<Series[]> {
    return this.#writer.series(q);
  }

  backlog(): number {
    return this.#spool.size;
  }

  /** The server's retention where the gateway keeps it (PostgreSQL); InfluxDB keeps its own: nothing to do. */
  async pruneBefore(cutoff: number): Promise<number> {
    return (await this.#writer.pruneBefore?.(cutoff)) ?? 0;
  }

  /** Resolves when the spool is empty (or the sink closes). For tests and shutdown. */
  async drained(): Promise<void> {
    while (this.#spool.size > 0 && !this.#closed) {
      if (!this.#draining) this.#scheduleDrain(0);
      await (this.#draining ?? new Promise((r) => setTimeout(r, 20)));
    }
  }

  #scheduleDrain(delay: number): void {
    if (this.#closed || this.#timer || this.#draining) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#draining = this.#drain().finally(() => {
        this.#draining = undefined;
      });
    }, delay);
    this.#timer.unref();
  }

  async #drain(): Promise<void> {
    while (!this.#closed) {
      // Many small batches (an outage under load) go back in requests of up to REPLAY_POINTS.
      const batch = this.#spool.peek(REPLAY_POINTS);
      if (!batch) {
        this.#retryDelay = this.#retryMin;
        this.#onBacklog(0);
        this.#log.info({ sink: this.name }, 'telemetry spool replayed');
        return;
      }
      try {
        try {
          await this.#writer.write(batch.points);
        } catch (err) {
          if (!(err instanceof RejectedPointsError)) throw err;
          this.#rejected(batch.points, err);
        }
        this.#spool.remove(batch.files);
        this.#onBacklog(this.#spool.size);
        this.#retryDelay = this.#retryMin;
      } catch (err) {
        this.writeFailures++;
        this.#log.debug({ sink: this.name, err: errorMessage(err) }, 'telemetry server still unreachable');
        // Exponential backoff with jitter, so many gateways do not return in step.
        this.#retryDelay = Math.min(this.#retryMax, this.#retryDelay * 2);
        const delay = this.#retryDelay * (0.5 + Math.random() / 2);
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#timer = setTimeout(() => {
            this.#timer = undefined;
            this.#wake = undefined;
            resolve();
          }, delay);
          this.#timer.unref();
        });
      }
    }
  }

  /** Points the server refused for good: kept on disk with the reason, logged and counted; the rest goes on. */
  #rejected(points: TelemetryPoint[], err: RejectedPointsError): void {
    this.rejectedPoints += points.length;
    const file = this.#spool.reject(points, err.message);
    this.#onRejected(points.length);
    this.#log.error({ sink: this.name, err: err.message.slice(0, 500), points: points.length, file }, 'telemetry server refused these points; kept aside, not retried');
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wake?.();
    await this.#draining;
    await this.#writer.close();
  }
}
