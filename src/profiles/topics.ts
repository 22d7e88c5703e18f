/**
 * Topic patterns of device profiles ("devices/{deviceId}/telemetry") and MQTT
 * filter matching, per MQTT 3.1.1 section 4.7.
 */
export const DEVICE_ID_PLACEHOLDER = '{deviceId}';

/** Device ids are one MQTT topic level: no separators, wildcards or spaces. */
export const deviceIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export const fillTopic = (pattern: string, deviceId: string): string =>
  pattern.split(DEVICE_ID_PLACEHOLDER).join(deviceId);

/** Does `filter` (which may hold + and #) match the concrete `topic`? */
export function topicMatches(filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1] a filter starting with a wildcard does not match $ topics.
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * The literal topic levels up to and including the device-id level: a filter
 * that starts with exactly these levels can only ever see this device's topics.
 */
export function ownPrefix(pattern: string, deviceId: string): string[] | null {
  const levels = pattern.split('/');
  const at = levels.indexOf(DEVICE_ID_PLACEHOLDER);
  if (at === -1) return null;
  return levels.slice(0, at + 1).map((l) => (l === DEVICE_ID_PLACEHOLDER ? deviceId : l));
}
