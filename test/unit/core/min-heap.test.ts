import { describe, expect, it } from 'vitest';
import { MinHeap } from '../../../src/core/min-heap.ts';

describe('min-heap', () => {
  it('gives its items back earliest first, however they were pushed and popped in between', () => {
    let x = 7;
    const random = () => ((x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
    const heap = new MinHeap<{ at: number }>((i) => i.at);
    const mirror: number[] = [];
    for (let round = 0; round < 2_000; round++) {
      if (random() < 0.6) {
        const at = Math.floor(random() * 500); // ties on purpose
        heap.push({ at });
        mirror.push(at);
      } else {
        mirror.sort((a, b) => a - b);
        expect(heap.peek()?.at).toBe(mirror[0]);
        expect(heap.pop()?.at).toBe(mirror.shift());
      }
      expect(heap.size).toBe(mirror.length);
    }
    mirror.sort((a, b) => a - b);
    const rest: number[] = [];
    for (let item = heap.pop(); item !== undefined; item = heap.pop()) rest.push(item.at);
    expect(rest).toEqual(mirror);
    expect(heap.pop()).toBeUndefined();
    heap.push({ at: 1 });
    heap.clear();
    expect(heap.size).toBe(0);
  });
});
