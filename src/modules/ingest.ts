import type { Config } from '../config/config.ts';
import { DeadLetterStore } from '../ingest/dead-letter.ts';
import { Ingest } from '../ingest/ingest.ts';
import type { AlarmCoreModule } from './alarm-core.ts';
import type { CareModule } from './care.ts';
import type { DevicesModule } from './devices.ts';
import type { Basics } from './module.ts';
import type { StorageModule } from './storage.ts';
import type { TelemetryModule } from './telemetry.ts';

/** QoS 1 redeliveries come within minutes; an hour is a wide margin that still tolerates 8-bit seq counters. */
export const EVENT_DEDUPE_WINDOW_MS = 3_600_000;

export interface IngestModule {
  ingest: Ingest;
  deadLetters: DeadLetterStore;
}

/** Messages in: decode, dedupe, record, evaluate, apply (ingest/ingest.ts). */
export function ingestModule(needs: Basics & { config: Config; storage: StorageModule; devices: DevicesModule; core: AlarmCoreModule; care: CareModule; telemetry: TelemetryModule }): IngestModule {
  const { config, storage, devices, core, care, telemetry, bus, clock, metrics, log } = needs;
  const deadLetters = new DeadLetterStore({ repo: storage.repos.deadLetters, bus, metrics, log });
  const ingest = new Ingest({
    directory: devices.directory,
    rules: core.evaluator,
    deadLetters,
    events: storage.repos.events,
    bus,
    clock,
    metrics,
    log,
    maxPayloadBytes: config.maxPayloadBytes,
    rateLimits: { messagesPerSecond: config.deviceRate, messageBurst: config.deviceBurst, eventsPerSecond: config.deviceEventRate, eventBurst: config.deviceEventBurst },
    dedupeWindowMs: EVENT_DEDUPE_WINDOW_MS,
    storage: storage.health,
    care,
    telemetry: telemetry.writer,
    transaction: (fn) => storage.uow.transaction(fn),
  });
  return { ingest, deadLetters };
}
