import type { EventBus } from '../core/event-bus.ts';
import type { Alarm } from '../alarms/model.ts';
import { alarmView } from './views.ts';

export interface LiveEvent {
  id: number;
  event: 'alarm.raised' | 'alarm.updated' | 'device.status' | 'gateway.storage';
  /** For every staff member whatever their scope (the gateway's own state), not for families. */
  staff?: boolean;
  data: unknown;
  /** For scoping: the alarm's or device's station, resident and device. */
  stationId: string | null;
  residentId: string | null;
  deviceId: string | null;
}

type Subscriber = (e: LiveEvent) => void;

/**
 * The live stream behind GET /stream: alarm and device events from the bus,
 * numbered, with the last `capacity` kept so a client reconnecting with
 * Last-Event-ID gets what it missed.
 */
export class LiveStream {
  readonly #buffer: LiveEvent[] = [];
  readonly #subscribers = new Set<Subscriber>();
  readonly #capacity: number;
  #nextId = 1;

  constructor(bus: EventBus, opts: { capacity?: number; stationOf?: (deviceId: string) => { stationId: string | null; residentId: string | null } } = {}) {
    this.#capacity = opts.capacity ?? 2_000;
    const alarmEvent = (event: 'alarm.raised' | 'alarm.updated', alarm: Alarm, extra: Record<string, unknown> = {}) =>
      this.#publish(event, { ...alarmView(alarm), ...extra }, alarm.stationId, alarm.residentId, alarm.deviceId);
    bus.on('alarm.raised', ({ alarm }) => alarmEvent('alarm.raised', alarm));
    bus.on('alarm.updated', ({ alarm, change }) => alarmEvent('alarm.updated', alarm, { change }));
    bus.on('alarm.console', ({ alarm, stationId, event, step }) => alarmEvent('alarm.updated', alarm, { change: 'console_alert', console: { stationId, event, step } }));
    // The console says so when the gateway cannot store what devices send (a full disk).
    bus.on('storage.changed', (st) => this.#publish('gateway.storage', { writable: st.writable, lowSpace: st.lowSpace, freeBytes: st.freeBytes, reason: st.reason, since: st.since === null ? null : new Date(st.since).toISOString() }, null, null, null, true));
    bus.on('device.status', (s) => {
      const where = opts.stationOf?.(s.deviceId) ?? { stationId: null, residentId: null };
      this.#publish('device.status', { deviceId: s.deviceId, online: s.online, lastSeen: new Date(s.lastSeen).toISOString(), reason: s.reason }, where.stationId, where.residentId, s.deviceId);
    });
  }

  #publish(event: LiveEvent['event'], data: unknown, stationId: string | null, residentId: string | null, deviceId: string | null, staff = false): void {
    const e: LiveEvent = { id: this.#nextId++, event, data, stationId, residentId, deviceId, ...(staff ? { staff } : {}) };
    this.#buffer.push(e);
    if (this.#buffer.length > this.#capacity) this.#buffer.shift();
    for (const s of this.#subscribers) s(e);
  }

  /** Events after `lastId` still in the buffer, or undefined when the gap is too old to replay. */
  since(lastId: number): LiveEvent[] | undefined {
    const oldest = this.#buffer[0]?.id ?? this.#nextId;
    if (lastId + 1 < oldest) return undefined;
    return this.#buffer.filter((e) => e.id > lastId);
  }

  subscribe(fn: Subscriber): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }
}
