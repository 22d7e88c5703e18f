import type { EventBus } from '../core/event-bus.ts';
import type { Alarm } from '../core/alarm.ts';
import { alarmView, iso, serviceRequestView } from './views.ts';

export interface LiveEvent {
  id: number;
  event: 'alarm.raised' | 'alarm.updated' | 'device.status' | 'device.test' | 'service.request' | 'gateway.storage';
  /** For every staff member whatever their scope (the gateway's own state), not for families. */
  staff?: boolean;
  data: unknown;
  /** For scoping: the alarm's or device's station, resident and device. */
  stationId: string | null;
  residentId: string | null;
  deviceId: string | null;
}

/** Writes an event to one client; true when it was written (in the client's scope, and the client still reads). */
type Subscriber = (e: LiveEvent) => boolean | void;

export interface SubscribeOptions {
  /** The station whose duty console this client is (an operator logged in at that station); null: not a console. */
  consoleOf?: string | null;
}

/**
 * The live stream behind GET /stream: alarm and device events from the bus,
 * numbered, with the last `capacity` kept so a client reconnecting with
 * Last-Event-ID gets what it missed.
 */
export class LiveStream {
  readonly #buffer: LiveEvent[] = [];
  /** Subscriber → the station it is a console of (null: none). */
  readonly #subscribers = new Map<Subscriber, string | null>();
  readonly #capacity: number;
  #nextId = 1;

  constructor(
    bus: EventBus,
    opts: { capacity?: number; stationOf?: (deviceId: string) => { stationId: string | null; residentId: string | null }; names?: { resident(id: string): string | undefined; provider(id: string): string | undefined } } = {},
  ) {
    this.#capacity = opts.capacity ?? 2_000;
    const alarmEvent = (event: 'alarm.raised' | 'alarm.updated', alarm: Alarm, extra: Record<string, unknown> = {}) =>
      this.#publish(event, { ...alarmView(alarm), ...extra }, alarm.stationId, alarm.residentId, alarm.deviceId);
    bus.on('alarm.raised', ({ alarm }) => alarmEvent('alarm.raised', alarm));
    bus.on('alarm.updated', ({ alarm, change }) => alarmEvent('alarm.updated', alarm, { change }));
    // The console says so when the gateway cannot store what devices send (a full disk).
    bus.on('storage.changed', (st) => this.#publish('gateway.storage', { writable: st.writable, lowSpace: st.lowSpace, freeBytes: st.freeBytes, reason: st.reason, since: st.since === null ? null : new Date(st.since).toISOString() }, null, null, null, true));
    bus.on('device.status', (s) => {
      const where = opts.stationOf?.(s.deviceId) ?? { stationId: null, residentId: null };
      this.#publish('device.status', { deviceId: s.deviceId, online: s.online, lastSeen: new Date(s.lastSeen).toISOString(), reason: s.reason }, where.stationId, where.residentId, s.deviceId);
    });
    // A button test is shown at once ("test received"), never as an alarm.
    bus.on('device.event', ({ device, event }) => {
      if (event.type !== 'test') return;
      const stationId = device.stationId ?? opts.stationOf?.(device.id).stationId ?? null;
      this.#publish('device.test', { deviceId: device.id, profileId: device.profileId, residentId: device.residentId, residentName: device.residentId ? (opts.names?.resident(device.residentId) ?? null) : null, at: iso(event.ts) }, stationId, device.residentId, device.id);
    });
    bus.on('service.request', ({ request, change }) =>
      this.#publish('service.request', { ...serviceRequestView(request, { resident: opts.names?.resident(request.residentId), provider: request.providerId ? opts.names?.provider(request.providerId) : undefined }), change }, request.stationId, request.residentId, request.deviceId),
    );
  }

  /**
   * An alarm's change that another node committed (api/live-relay.ts): to
   * this node's clients as if raised here, so every node's stream shows every
   * alarm in its caller's scope.
   */
  fromAnotherNode(event: 'alarm.raised' | 'alarm.updated', alarm: Alarm, change?: string): void {
    this.#publish(event, { ...alarmView(alarm), ...(change !== undefined ? { change } : {}) }, alarm.stationId, alarm.residentId, alarm.deviceId);
  }

  /** Numbers, buffers and writes an event; returns how many consoles of `consoleOf` it was written to. */
  #publish(event: LiveEvent['event'], data: unknown, stationId: string | null, residentId: string | null, deviceId: string | null, staff = false, consoleOf?: string): number {
    const e: LiveEvent = { id: this.#nextId++, event, data, stationId, residentId, deviceId, ...(staff ? { staff } : {}) };
    this.#buffer.push(e);
    if (this.#buffer.length > this.#capacity) this.#buffer.shift();
    let consoles = 0;
    for (const [s, station] of this.#subscribers) if (s(e) === true && consoleOf !== undefined && station === consoleOf) consoles++;
    return consoles;
  }

  /**
   * An alert for a station's duty console (escalation step or reminder): an
   * `alarm.updated` event (`change: console_alert`) to every client that sees
   * the alarm. Returns how many consoles of that station it was written to:
   * zero means no one is watching there, a failed delivery.
   */
  alertConsoles(alarm: Alarm, stationId: string, event: string, step: number): number {
    return this.#publish('alarm.updated', { ...alarmView(alarm), change: 'console_alert', console: { stationId, event, step } }, alarm.stationId, alarm.residentId, alarm.deviceId, false, stationId);
  }

  /** Open consoles per station: operators logged in and connected to the stream. */
  consoles(): Map<string, number> {
    const out = new Map<string, number>();
    for (const station of this.#subscribers.values()) if (station !== null) out.set(station, (out.get(station) ?? 0) + 1);
    return out;
  }

  /** Events after `lastId` still in the buffer, or undefined when the gap is too old to replay. */
  since(lastId: number): LiveEvent[] | undefined {
    const oldest = this.#buffer[0]?.id ?? this.#nextId;
    if (lastId + 1 < oldest) return undefined;
    return this.#buffer.filter((e) => e.id > lastId);
  }

  subscribe(fn: Subscriber, opts: SubscribeOptions = {}): () => void {
    this.#subscribers.set(fn, opts.consoleOf ?? null);
    return () => this.#subscribers.delete(fn);
  }
}
