import { describe, expect, it } from 'vitest';
import { ColumnBuilder } from '../../../src/telemetry/columns.ts';

describe('column builder', () => {
  it('grows past its first capacity, dictionary-encodes ids and kinds, and starts empty after take()', () => {
    const b = new ColumnBuilder(2);
    for (let i = 0; i < 5; i++) b.push(`d${i % 2}`, i % 2 ? 'spo2' : 'heart_rate', 1000 + i, 60 + i);
    const batch = b.take();
    expect(batch.devices).toEqual(['d0', 'd1']);
    expect(batch.kinds).toEqual(['heart_rate', 'spo2']);
    expect(Array.from(batch.device)).toEqual([0, 1, 0, 1, 0]);
    expect(Array.from(batch.kind)).toEqual([0, 1, 0, 1, 0]);
    expect(Array.from(batch.ts)).toEqual([1000, 1001, 1002, 1003, 1004]);
    expect(Array.from(batch.value)).toEqual([60, 61, 62, 63, 64]);
    expect(b.length).toBe(0);
    b.push('d9', 'battery', 1, 50);
    expect(b.take().devices).toEqual(['d9']);
  });
});
