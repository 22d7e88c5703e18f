import type { EventBus } from '../core/event-bus.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { errorMessage } from '../core/errors.ts';
import type { DeadLetterRepository } from '../store/dead-letters.ts';
import { isStorageUnavailable, StorageUnavailableError } from '../store/storage-errors.ts';
import { StoreBusyError } from '../store/sql-client.ts';

/** Payload bytes kept for an oversized message: enough to see what it was. */
export const DEAD_LETTER_SAMPLE_BYTES = 65_536;

export interface DeadLetterDeps {
  repo: DeadLetterRepository;
  bus: EventBus;
  metrics: Metrics;
  log: Logger;
}

/**
 * Stores a rejected message (or the rejected fields of an accepted one) with its
 * raw bytes, topic, device, reason and time; counts it; logs it. Rejects only
 * when the store cannot be written (a full disk, the database out of reach):
 * the message is then not acknowledged, so it is not lost. Any other failure
 * to store is logged.
 */
export class DeadLetterStore {
  readonly #deps: DeadLetterDeps;
  constructor(deps: DeadLetterDeps) {
    this.#deps = deps;
  }

  async put(entry: { deviceId: string | null; topic: string; payload: Buffer; code: string; reason: string; partial: boolean; receivedAt: number }): Promise<number | undefined> {
    const { repo, bus, metrics, log } = this.#deps;
    metrics.deadLetters.inc({ code: entry.code });
    const sample = entry.payload.length > DEAD_LETTER_SAMPLE_BYTES ? entry.payload.subarray(0, DEAD_LETTER_SAMPLE_BYTES) : entry.payload;
    log.warn({ deviceId: entry.deviceId, topic: entry.topic, code: entry.code, reason: entry.reason, partial: entry.partial, bytes: entry.payload.length }, 'message dead-lettered');
    try {
      const id = await repo.insert({ ...entry, payload: Buffer.from(sample), payloadSize: entry.payload.length });
      bus.emit('deadletter.stored', { id, deviceId: entry.deviceId, topic: entry.topic, reason: entry.reason });
      return id;
    } catch (err) {
      if (isStorageUnavailable(err) || err instanceof StoreBusyError) throw new StorageUnavailableError(`could not store a dead letter: ${errorMessage(err)}`, { cause: err });
      log.error({ err, deviceId: entry.deviceId, topic: entry.topic }, 'could not store dead letter');
      return undefined;
    }
  }
}
