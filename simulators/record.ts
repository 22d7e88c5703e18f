import { readFileSync } from 'node:fs';
import type { ProfileRegistry } from '../src/profiles/registry.ts';
import type { SimAction } from './behaviour.ts';
import { encode } from './encode.ts';
import { readSse } from '../src/core/sse-reader.ts';

/** One line of a recording (JSONL): a device message as the gateway received it. */
export interface RecordedMessage {
  /** Gateway time it arrived, epoch ms. */
  at: number;
  deviceId: string;
  profile: string;
  topic: string;
  /** The bytes, base64. */
  payload: string;
}

/**
 * Reads a gateway's live traffic (GET /api/v1/traffic, admin) and hands each
 * message on, until `signal` aborts or the gateway closes the stream.
 * Resolves once the gateway confirms the tap is in place (`ready`) through
 * `onReady`, so a caller can start the traffic it wants captured.
 */
export async function recordTraffic(opts: { apiUrl: string; token: string; signal: AbortSignal; onMessage: (m: RecordedMessage) => void; onReady?: () => void }): Promise<void> {
  const res = await fetch(`${opts.apiUrl}/api/v1/traffic`, { headers: { authorization: `Bearer ${opts.token}`, accept: 'text/event-stream' }, signal: opts.signal });
  if (!res.ok || !res.body) throw new Error(`GET /api/v1/traffic answered ${res.status}: ${await res.text()}`);
  try {
    await readSse(res.body, (e) => {
      if (e === 'heartbeat') return;
      if (e.event === 'ready') opts.onReady?.();
      else if (e.event === 'message') opts.onMessage(e.data as RecordedMessage);
    });
  } catch (err) {
    if (!opts.signal.aborted) throw err;
  }
}

export function readRecording(file: string): RecordedMessage[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l, i) => {
      try {
        return JSON.parse(l) as RecordedMessage;
      } catch (err) {
        throw new Error(`${file}:${i + 1}: ${(err as Error).message}`);
      }
    });
}

/**
 * A recording as actions on a new timeline starting at `start`: each message
 * at the same distance from the first, and its device timestamp moved by the
 * same amount (decoded with the device's profile and encoded again, so a
 * binary frame's checksum stays right). A payload the profile cannot decode
 * is replayed byte for byte: the malformed message was part of the incident.
 */
export function replayActions(recording: RecordedMessage[], start: number, profiles: ProfileRegistry): SimAction[] {
  const t0 = recording[0]?.at ?? start;
  const shift = start - t0;
  return recording.map((m) => {
    const payload = Buffer.from(m.payload, 'base64');
    const at = m.at + shift;
    const profile = profiles.get(m.profile);
    const message = profile?.messageFor(m.deviceId, m.topic);
    const decoded = message?.decode(payload, m.at);
    if (!profile || !message || !decoded?.ok || decoded.decoded.rejected.length > 0) return { at, kind: 'publish', deviceId: m.deviceId, topic: m.topic, payload, what: 'replay (as recorded)' };
    const d = decoded.decoded;
    const seq = d.events.find((e) => e.seq !== undefined)?.seq;
    const again = encode(
      profile.profile,
      m.deviceId,
      {
        ts: d.ts + shift,
        readings: Object.fromEntries(d.readings.map((r) => [r.kind, r.value])),
        events: d.events.map((e) => e.type),
        ...(seq !== undefined ? { seq } : {}),
        ...(d.online !== undefined ? { online: d.online } : {}),
      },
      message.spec,
    );
    return { at, kind: 'publish', deviceId: m.deviceId, topic: again.topic, payload: again.payload, what: 'replay' };
  });
}
