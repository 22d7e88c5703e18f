import type { Logger } from './logger.ts';
import type { DeviceContext, DeviceEvent, DeviceStatusChange, Reading } from './model.ts';
import type { Alarm, TimelineKind } from './alarm.ts';
import type { StorageStatus } from './storage-status.ts';
import type { ServiceRequest, ServiceStep } from './service-request.ts';

/** Every event the gateway raises internally, by name, with its payload. */
export interface BusEvents {
  /** Readings decoded from one accepted message, received by the gateway at `receivedAt`. */
  'device.readings': { device: DeviceContext; readings: Reading[]; receivedAt: number };
  /** A device event that is not a duplicate of one already seen. */
  'device.event': { device: DeviceContext; event: DeviceEvent };
  'device.status': DeviceStatusChange;
  'deadletter.stored': { id: number; deviceId: string | null; topic: string; reason: string };
  /** A new alarm, after its transaction committed. */
  'alarm.raised': { alarm: Alarm };
  /** Any later change to an alarm (repeat, escalation, acknowledgement, resolution …). */
  'alarm.updated': { alarm: Alarm; change: TimelineKind };
  /** A service request was made or moved on, after its transaction committed. */
  'service.request': { request: ServiceRequest; change: 'created' | 'pressed_again' | ServiceStep };
  /** The data directory became unwritable or low on space, or recovered. */
  'storage.changed': StorageStatus;
  /** Logins that stopped being valid: a token (its SHA-256 digest) or every token of a user. */
  'session.revoked': { tokenDigest?: string; userId?: string; reason: string };
  'broker.refused': { action: 'connect' | 'publish' | 'subscribe' | 'packet'; clientId: string; reason: string; topic?: string };
}

export type BusEventName = keyof BusEvents;
type Listener<K extends BusEventName> = (payload: BusEvents[K]) => void;

/**
 * A typed, synchronous event bus. Each listener is isolated: one that throws is
 * logged and counted, and the others still run (zigbee2mqtt's lesson).
 */
export class EventBus {
  readonly #listeners = new Map<BusEventName, Set<Listener<never>>>();
  readonly #log: Logger;
  listenerErrors = 0;

  constructor(log: Logger) {
    this.#log = log;
  }

  on<K extends BusEventName>(name: K, listener: Listener<K>): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<K extends BusEventName>(name: K, payload: BusEvents[K]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as Listener<K>)(payload);
      } catch (err) {
        this.listenerErrors++;
        this.#log.error({ err, event: name }, 'event listener failed');
      }
    }
  }

  listenerCount(name: BusEventName): number {
    return this.#listeners.get(name)?.size ?? 0;
  }
}
