import { describe, expect, it } from 'vitest';
import { EventBus } from '../../../src/core/event-bus.ts';
import { silentLogger } from '../../../src/core/logger.ts';

describe('event bus', () => {
  it('runs every listener even when one throws, and counts the failure', () => {
    const bus = new EventBus(silentLogger);
    const seen: string[] = [];
    bus.on('device.status', (s) => seen.push(`a:${s.deviceId}`));
    bus.on('device.status', () => {
      throw new Error('listener bug');
    });
    bus.on('device.status', (s) => seen.push(`c:${s.deviceId}`));
    bus.emit('device.status', { deviceId: 'd1', online: true, lastSeen: 1, reason: 'connected' });
    expect(seen).toEqual(['a:d1', 'c:d1']);
    expect(bus.listenerErrors).toBe(1);
  });

  it('stops calling a listener once it is removed', () => {
    const bus = new EventBus(silentLogger);
    let calls = 0;
    const off = bus.on('deadletter.stored', () => calls++);
    bus.emit('deadletter.stored', { id: 1, deviceId: null, topic: 't', reason: 'r' });
    off();
    bus.emit('deadletter.stored', { id: 2, deviceId: null, topic: 't', reason: 'r' });
    expect(calls).toBe(1);
    expect(bus.listenerCount('deadletter.stored')).toBe(0);
  });
});
