import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/logger.ts';
import type { DeviceContext, Reading } from '../../../src/core/model.ts';
import type { TelemetryPoint, TelemetrySink } from '../../../src/telemetry/point.ts';
import { TelemetryWriter } from '../../../src/telemetry/writer.ts';
import type { ColumnBatch } from '../../../src/telemetry/columns.ts';

const device: DeviceContext = { id: 'd1', profileId: 'p', residentId: 'r1', stationId: 's1', providerId: null };
const readings = (n: number, from = 0): Reading[] =>
  Array.from({ length: n }, (_, i) => ({ deviceId: 'd1', kind: 'heart_rate', value: 60 + from + i, unit: 'bpm', ts: 1000 + from + i }));

/** A sink that records batches and can be told to fail. */
class RecordingSink implements TelemetrySink {
  readonly name = 'recording';
  batches: TelemetryPoint[][] = [];
  failNext = 0;
  async write(points: TelemetryPoint[]) {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('sink down');
    }
    this.batches.push(points);
  }
  async query() {
    return [];
  }
  async series() {
    return [];
  }
  backlog() {
    return 0;
  }
  async close() {}
}

/** Resolves once the sink has taken its next batch. */
function nextWrite(sink: RecordingSink): Promise<void> {
  return new Promise<void>((resolve) => {
    const original = sink.write.bind(sink);
    sink.write = async (p) => {
      await original(p);
      resolve();
    };
  });
}

/** A sink whose writes end when the test says: each write's batch size, and a release per write. */
class GatedSink extends RecordingSink {
  readonly gates: Array<(fail?: boolean) => void> = [];
  #started: Array<() => void> = [];
  override async write(points: TelemetryPoint[]) {
    const fail = await new Promise<boolean | undefined>((resolve) => {
      this.gates.push(resolve);
      this.#started.splice(0).forEach((r) => r());
    });
    if (fail) throw new Error('sink down');
    this.batches.push(points);
  }
  /** Resolves once `n` writes have started. */
  started(n: number): Promise<void> {
    return this.gates.length >= n ? Promise.resolve() : new Promise<void>((r) => this.#started.push(() => void this.started(n).then(r)));
  }
}

/** Whether a promise has settled by now (after the microtasks queued so far). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise<void>((r) => setImmediate(r));
  return done;
}

describe('telemetry writer: readings a device waits for (group commit)', () => {
  it('settles a waiting push only once its batch is written, without waiting for the flush interval', async () => {
    const sink = new GatedSink();
    const writer = new TelemetryWriter(sink, { log: silentLogger, flushMs: 60_000 });
    const stored = writer.push(device, readings(2), true)!;
    await sink.started(1); // written at once, not a minute later
    expect(await settled(stored)).toBe(false); // the write has not ended: the device is not acknowledged yet
    sink.gates[0]!();
    await stored;
    expect(sink.batches.map((b) => b.length)).toEqual([2]);
    expect(writer.stored).toBe(2);
    await writer.close();
  });

  it('gathers what arrives during a write into the next one, and settles each push with its own batch', async () => {
    const sink = new GatedSink();
    const writer = new TelemetryWriter(sink, { log: silentLogger, flushMs: 60_000 });
    const first = writer.push(device, readings(1), true)!;
    await sink.started(1);
    const second = writer.push(device, readings(2, 1), true)!;
    const third = writer.push(device, readings(3, 3), true)!;
    writer.push(device, readings(1, 6)); // QoS 0: rides along with the next write
    await new Promise<void>((r) => setImmediate(r));
    expect(sink.gates).toHaveLength(1); // one write at a time
    sink.gates[0]!();
    await first;
    expect(await settled(second)).toBe(false);
    await sink.started(2);
    sink.gates[1]!();
    await Promise.all([second, third]);
    expect(sink.batches.map((b) => b.length)).toEqual([1, 6]);
    await writer.close();
  });

  it('releases the waiters of a failed write (a failing store must not hold a device) and writes the readings again', async () => {
    const sink = new GatedSink();
    const writer = new TelemetryWriter(sink, { log: silentLogger, flushMs: 60_000 });
    const stored = writer.push(device, readings(2), true)!;
    await sink.started(1);
    sink.gates[0]!(true);
    await stored;
    expect(writer.failedBatches).toBe(1);
    expect(writer.pending).toBe(2);
    const retried = writer.flush();
    await sink.started(2);
    sink.gates[1]!();
    await retried;
    expect(sink.batches.flat().map((p) => p.value)).toEqual([60, 61]);
    await writer.close();
  });

  it('acknowledges after maxWaitMs when the store hangs (a device\'s session, and its SOS behind it, is not held), and writes when the store answers', async () => {
    const sink = new GatedSink();
    const writer = new TelemetryWriter(sink, { log: silentLogger, flushMs: 60_000, maxWaitMs: 30 });
    const first = writer.push(device, readings(1), true)!;
    await sink.started(1);
    const second = writer.push(device, readings(1, 1), true)!; // gathered behind the hung write
    await Promise.all([first, second]); // settle although the store has not answered
    expect(writer.lateBatches).toBe(2);
    expect(sink.batches).toEqual([]);
    sink.gates[0]!();
    await sink.started(2);
    sink.gates[1]!();
    await writer.flush();
    expect(sink.batches.flat().map((p) => p.value)).toEqual([60, 61]);
    await writer.close();
  });

  it('gives nothing to wait for when the readings are shed, or when nobody waits', async () => {
    const sink = new RecordingSink();
    let shed = true;
    const writer = new TelemetryWriter(sink, { log: silentLogger, flushMs: 60_000, shed: () => shed });
    expect(writer.push(device, readings(2), true)).toBeUndefined();
    expect(writer.shedPoints).toBe(2);
    shed = false;
    expect(writer.push(device, readings(2))).toBeUndefined();
    await new Promise<void>((r) => setImmediate(r));
    expect(sink.batches).toEqual([]); // QoS 0 waits for the interval
    await writer.close();
    expect(sink.batches.map((b) => b.length)).toEqual([2]);
  });
});

describe('telemetry writer', () => {
  it('writes a batch at once when it reaches the batch size, and the rest on flush', async () => {
    const sink = new RecordingSink();
    let stored = 0;
    const writer = new TelemetryWriter(sink, { log: silentLogger, flushMs: 60_000, maxBatch: 10, onStored: (n) => (stored += n) });
    const firstBatch = nextWrite(sink);
    writer.push(device, readings(6));
    writer.push(device, readings(6, 6)); // 12 ≥ 10: written without waiting for the interval
    await firstBatch;
    expect(sink.batches[0]!.length).toBe(12);
    writer.push(device, readings(3, 12));
    expect(writer.pending).toBe(3);
    await writer.flush();
    expect(sink.batches.map((b) => b.length)).toEqual([12, 3]);
    expect(stored).toBe(15);
    expect(sink.batches[1]![0]).toEqual({ deviceId: 'd1', kind: 'heart_rate', value: 72, ts: 1012, residentId: 'r1', stationId: 's1', profileId: 'p' });
    await writer.close();
  });

  it('takes the batch size a sink asks for when none is given', async () => {
    const sink = Object.assign(new RecordingSink(), { batchSize: 4 });
    const writer = new TelemetryWriter(sink, { log: silentLogger, flushMs: 60_000 });
    const written = nextWrite(sink);
    writer.push(device, readings(3));
    expect(writer.pending).toBe(3);
    writer.push(device, readings(1, 3)); // 4: the sink's batch size, written without waiting a minute
    await written;
    expect(sink.batches.map((b) => b.length)).toEqual([4]);
    await writer.close();
  });

  it('keeps readings that a sink failed to take and writes them on the next flush, in order', async () => {
    const sink = new RecordingSink();
    sink.failNext = 1;
    const writer = new TelemetryWriter(sink, { log: silentLogger, flushMs: 60_000 });
    writer.push(device, readings(2));
    await writer.flush();
    expect(writer.failedBatches).toBe(1);
    expect(sink.batches.flat().map((p) => p.value)).toEqual([60, 61]);
    await writer.close();
  });

  it('for a sink that takes columns, builds them as readings arrive, and writes a failed batch again, once', async () => {
    const batches: ColumnBatch[] = [];
    let failNext = 1;
    const sink: TelemetrySink = {
      name: 'columns',
      write: async () => {
        throw new Error('the writer should use columns');
      },
      writeColumns: async (b) => {
        if (failNext-- > 0) throw new Error('sink down');
        batches.push(b);
      },
      query: async () => [],
      series: async () => [],
      backlog: () => 0,
      close: async () => {},
    };
    const writer = new TelemetryWriter(sink, { log: silentLogger, flushMs: 60_000 });
    const band: DeviceContext = { ...device, id: 'd2' };
    writer.push(device, readings(2));
    writer.push(band, [{ deviceId: 'd2', kind: 'spo2', value: 97, unit: '%', ts: 5000 }]);
    await writer.flush(); // the first attempt fails; the batch is kept and written again
    expect(writer.failedBatches).toBe(1);
    expect(batches.map((b) => b.ts.length)).toEqual([3]);
    writer.push(device, readings(1, 2));
    await writer.flush();
    const rows = batches.flatMap((b) => Array.from(b.ts, (ts, i) => `${b.devices[b.device[i]!]}/${b.kinds[b.kind[i]!]}@${ts}=${b.value[i]}`));
    expect(rows).toEqual(['d1/heart_rate@1000=60', 'd1/heart_rate@1001=61', 'd2/spo2@5000=97', 'd1/heart_rate@1002=62']);
    expect(batches.map((b) => b.ts.length)).toEqual([3, 1]);
    expect(writer.stored).toBe(4);
    expect(writer.pending).toBe(0);
    await writer.close();
  });
});
