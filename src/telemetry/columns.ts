/** A batch of readings as columns (dictionary-encoded ids, typed arrays), as the telemetry writer thread takes it. */
export interface ColumnBatch {
  devices: string[];
  kinds: string[];
  device: Uint32Array;
  kind: Uint16Array;
  ts: Float64Array;
  value: Float64Array;
}

/**
 * The longest time one stored chunk of a device's messages spans: a device
 * sending readings an hour or more apart (a backlog after being offline) gets
 * a chunk per hour, and a range query needs to look back no further than this.
 */
export const TELEMETRY_CHUNK_SPAN_MS = 3_600_000;

/**
 * Readings appended straight into typed columns as they arrive, with device
 * ids and kinds dictionary-encoded. The hot path keeps no reading objects
 * alive until the flush (they die young, in the cheap part of the garbage
 * collector), and the flush hands over four typed arrays instead of building
 * them from a second of buffered objects in one go.
 */
export class ColumnBuilder {
  #devices: string[] = [];
  #deviceIndex = new Map<string, number>();
  #kinds: string[] = [];
  #kindIndex = new Map<string, number>();
  #device: Uint32Array;
  #kind: Uint16Array;
  #ts: Float64Array;
  #value: Float64Array;
  #n = 0;

  constructor(capacity = 4096) {
    this.#device = new Uint32Array(capacity);
    this.#kind = new Uint16Array(capacity);
    this.#ts = new Float64Array(capacity);
    this.#value = new Float64Array(capacity);
  }

  get length(): number {
    return this.#n;
  }

  push(deviceId: string, kind: string, ts: number, value: number): void {
    if (this.#n === this.#ts.length) this.#grow();
    let d = this.#deviceIndex.get(deviceId);
    if (d === undefined) this.#deviceIndex.set(deviceId, (d = this.#devices.push(deviceId) - 1));
    let k = this.#kindIndex.get(kind);
    if (k === undefined) this.#kindIndex.set(kind, (k = this.#kinds.push(kind) - 1));
    const i = this.#n++;
    this.#device[i] = d;
    this.#kind[i] = k;
    this.#ts[i] = ts;
    this.#value[i] = value;
  }

  #grow(): void {
    const size = this.#ts.length * 2;
    const grow = <T extends Uint32Array | Uint16Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.#device = grow(this.#device, (n) => new Uint32Array(n));
    this.#kind = grow(this.#kind, (n) => new Uint16Array(n));
    this.#ts = grow(this.#ts, (n) => new Float64Array(n));
    this.#value = grow(this.#value, (n) => new Float64Array(n));
  }

  /** Everything pushed so far, as one batch (copied to its exact length); the builder starts empty again. */
  take(): ColumnBatch {
    const n = this.#n;
    const batch: ColumnBatch = {
      devices: this.#devices,
      kinds: this.#kinds,
      device: this.#device.slice(0, n),
      kind: this.#kind.slice(0, n),
      ts: this.#ts.slice(0, n),
      value: this.#value.slice(0, n),
    };
    this.#devices = [];
    this.#deviceIndex = new Map();
    this.#kinds = [];
    this.#kindIndex = new Map();
    this.#n = 0;
    return batch;
  }
}
