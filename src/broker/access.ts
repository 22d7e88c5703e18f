import type { KnownDevice } from '../devices/directory.ts';

/**
 * Topic access for devices: a device may publish only on its profile's uplink
 * topics, filled with its own id, and subscribe only to filters that can never
 * match another device's topics.
 */
export type AccessDecision = { allowed: true } | { allowed: false; reason: string };

const ALLOWED: AccessDecision = { allowed: true };

export function canPublish(device: KnownDevice, topic: string): AccessDecision {
  if (topic.startsWith('$')) return { allowed: false, reason: 'sys_topic' };
  return device.uplinks.has(topic) ? ALLOWED : { allowed: false, reason: 'foreign_topic' };
}

export function canSubscribe(device: KnownDevice, filter: string): AccessDecision {
  if (filter.startsWith('$')) return { allowed: false, reason: 'sys_topic' };
  if (device.profile.downlinkTopic(device.id) === filter) return { allowed: true };
  if (device.uplinks.has(filter)) return { allowed: true };
  // A wildcard filter is safe when the levels up to and including the device's
  // own id are literal: e.g. devices/D1/# may only ever match devices/D1/...
  const levels = filter.split('/');
  for (const prefix of device.profile.ownPrefixes(device.id)) {
    if (levels.length < prefix.length) continue;
    if (prefix.every((p, i) => levels[i] === p) && !levels.slice(0, prefix.length).some((l) => l === '+' || l === '#')) {
      return { allowed: true };
    }
  }
  const wildcard = filter.includes('+') || filter.includes('#');
  return { allowed: false, reason: wildcard ? 'wildcard_over_other_devices' : 'foreign_topic' };
}

