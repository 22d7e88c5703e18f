import { describe, expect, it } from 'vitest';
import { canPublish, canSubscribe } from '../../../src/broker/access.ts';
import { fillTopic, ownPrefix, topicMatches } from '../../../src/profiles/topics.ts';
import { loadProfileDirectory } from '../../../src/profiles/registry.ts';
import type { KnownDevice } from '../../../src/devices/directory.ts';

const profiles = loadProfileDirectory(new URL('../../../device-profiles/', import.meta.url).pathname);
const device = (id: string, profileId: string): KnownDevice => {
  const profile = profiles.get(profileId)!;
  return {
    id,
    profile,
    profileId,
    residentId: null,
    stationId: null,
    providerId: null,
    secretHash: '',
    decommissioned: false,
    online: false,
    lastSeen: null,
    battery: null,
    firstMessageAt: null,
    topics: new Map(),
    uplinks: new Set(profile.uplinkTopics(id)),
  };
};

describe('topic filters [MQTT-4.7]', () => {
  it.each([
    ['devices/+/telemetry', 'devices/d1/telemetry', true],
    ['devices/#', 'devices/d1/telemetry', true],
    ['devices/#', 'devices', true],
    ['devices/+', 'devices/d1/telemetry', false],
    ['devices/d1/telemetry', 'devices/d1/telemetry', true],
    ['devices/d1/telemetry', 'devices/d2/telemetry', false],
    ['#', '$SYS/uptime', false],
    ['+/uptime', '$SYS/uptime', false],
  ])('%s matches %s: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it('fills the device id and finds the literal prefix up to it', () => {
    expect(fillTopic('hx/{deviceId}/up', 'w1')).toBe('hx/w1/up');
    expect(ownPrefix('hx/{deviceId}/up', 'w1')).toEqual(['hx', 'w1']);
    expect(ownPrefix('static/topic', 'w1')).toBeNull();
  });
});

describe('device topic access', () => {
  const band = device('band-1', 'carebell-vitals-band');
  const watch = device('watch-1', 'huaxin-band-h7');

  it('lets a device publish only on its own uplink topics', () => {
    expect(canPublish(band, 'devices/band-1/telemetry')).toEqual({ allowed: true });
    expect(canPublish(band, 'devices/band-1/command')).toEqual({ allowed: false, reason: 'foreign_topic' });
    expect(canPublish(band, 'devices/band-2/telemetry')).toEqual({ allowed: false, reason: 'foreign_topic' });
    expect(canPublish(band, '$SYS/x')).toEqual({ allowed: false, reason: 'sys_topic' });
    expect(canPublish(watch, 'hx/watch-1/up')).toEqual({ allowed: true });
    expect(canPublish(watch, 'devices/watch-1/telemetry')).toEqual({ allowed: false, reason: 'foreign_topic' });
  });

  it.each([
    ['devices/band-1/command', true, undefined],
    ['devices/band-1/#', true, undefined],
    ['devices/band-1/+', true, undefined],
    ['devices/+/command', false, 'wildcard_over_other_devices'],
    ['devices/#', false, 'wildcard_over_other_devices'],
    ['+/band-1/command', false, 'wildcard_over_other_devices'],
    ['devices/band-10/command', false, 'foreign_topic'],
    ['devices/band-2/command', false, 'foreign_topic'],
    ['$SYS/#', false, 'sys_topic'],
  ])('subscribe %s: allowed %s', (filter, allowed, reason) => {
    expect(canSubscribe(band, filter)).toEqual(allowed ? { allowed } : { allowed, reason });
  });

  it('scopes a vendor topic layout the same way', () => {
    expect(canSubscribe(watch, 'hx/watch-1/down')).toEqual({ allowed: true });
    expect(canSubscribe(watch, 'hx/+/down')).toMatchObject({ allowed: false });
  });
});
