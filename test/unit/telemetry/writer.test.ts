import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/logger.ts';
import type { DeviceContext, Reading } from '../../../src/core/model.ts';
import type { TelemetryPoint, TelemetrySink } from '../../../src/telemetry/point.ts';
import { TelemetryWriter } from '../../../src/telemetry/writer.ts';

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

describe('telemetry writer', () => {
  it('writes a batch at once when it reaches the batch size, and the rest on flush', async () => {
    const sink = new RecordingSink();
    let stored = 0;
    const writer = new TelemetryWriter(sink, { log: silentLogger, flushMs: 60_000, maxBatch: 10, onStored: (n) => (stored += n) });
    const firstBatch = new Promise<void>((resolve) => {
      const original = sink.write.bind(sink);
      sink.write = async (p) => {
        await original(p);
        resolve();
      };
    });
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
});
