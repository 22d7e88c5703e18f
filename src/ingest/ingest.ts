import type { Clock } from '../core/clock.ts';
import type { EventBus } from '../core/event-bus.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { DeviceContext, DeviceEvent, Reading } from '../core/model.ts';
import type { Tx } from '../core/tx.ts';
import type { Decoded } from '../profiles/decoder.ts';
import { errorMessage } from '../core/errors.ts';
import { isStorageUnavailable, StorageUnavailableError } from '../store/storage-errors.ts';
import { StoreBusyError } from '../store/sql-client.ts';
import type { DeadLetterStore } from './dead-letter.ts';
import { newDeviceRate, type DeviceRate, type RateLimits } from './rate-limit.ts';
import type { DeviceDirectory, KnownDevice } from '../devices/directory.ts';

/**
 * The rules step (rules/evaluator.ts): runs a device's rules on what it sent
 * and applies their intents to the alarm core. For an event it runs inside
 * ingest's transaction and throws when the alarm change could not be
 * recorded, so the event is not recorded either and the device redelivers.
 */
export interface RuleStep {
  /** A promise when a rule's result had to be written (settles once written, never rejects); otherwise nothing. */
  onReadings(device: KnownDevice, readings: Reading[], receivedAt: number): Promise<void> | undefined;
  /** Inside ingest's transaction `tx`; rejects if an alarm change could not be written. */
  onEvent(device: KnownDevice, event: DeviceEvent, tx: Tx): Promise<void>;
}

export interface IngestDeps {
  directory: DeviceDirectory;
  rules: RuleStep;
  deadLetters: DeadLetterStore;
  /** The event log (store/device-events.ts): redeliveries recognised, events recorded. */
  events: { seenSince(deviceId: string, seq: number, since: number): Promise<boolean>; in(tx: Tx): { insert(e: DeviceEvent, receivedAt: number): Promise<void> } };
  bus: EventBus;
  clock: Clock;
  metrics: Metrics;
  log: Logger;
  /** Largest payload accepted when a profile does not set its own. */
  maxPayloadBytes: number;
  /** A repeated (device, seq) within this window is a redelivery of the same event. */
  dedupeWindowMs: number;
  /** Told of a failed write (a full disk), to report it and start probing for recovery. */
  storage?: { failed(err: unknown): boolean };
  /** Per-device message and event rates. */
  rateLimits: RateLimits;
  /** The care programmes' step: inside the event's transaction (a service button press becomes a request that commits with it). */
  care?: { onEvent(device: KnownDevice, event: DeviceEvent, tx: Tx): Promise<void> };
  /**
   * Where readings are stored (telemetry/writer.ts). With `wait`, a promise
   * that settles once they are written (it never rejects); nothing when they
   * were shed or nobody waits.
   */
  telemetry?: { push(device: DeviceContext, readings: Reading[], wait: boolean): Promise<void> | undefined };
  /** Runs a unit of work in one transaction (store/unit-of-work.ts, so alarms raised by an event commit with it). */
  transaction: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;
}

export interface IngestResult {
  outcome: 'accepted' | 'rejected' | 'duplicate' | 'dropped';
  readings: number;
  events: number;
  rejectedFields: number;
  /** Why a rejected message was refused (its dead letter's code). */
  code?: string;
}

interface Message {
  device: KnownDevice;
  topic: string;
  payload: Buffer;
  receivedAt: number;
  /** Sent by a session that a newer connection of the same device has replaced (e.g. its will). */
  superseded?: boolean;
  /** The MQTT QoS it came with: at 0 nobody waits for it to be stored (default 1: the device waits for its PUBACK). */
  qos?: number;
}

/**
 * message → the device's profile → readings and events → rules → alarms.
 * Steps, in order: checkRate, checkSize, findMessage, decode, dropRedelivery,
 * recordRejectedFields, evaluateReadings, recordEvents (each event and the
 * alarm changes its rules make, in one transaction), applyStatus. The alarm
 * core is called directly; the bus only hears what happened, after the fact
 * (readings for telemetry, recorded events), and its listeners cannot fail a
 * message. Whatever a device sends, this never throws but for a storage outage.
 */
export class Ingest {
  readonly #d: IngestDeps;
  readonly #rates = new Map<string, DeviceRate>();
  constructor(deps: IngestDeps) {
    this.#d = deps;
  }

  /**
   * Handles one message: at once when nothing of it needs writing (routine
   * telemetry), else a promise that settles once it is written (an event, an
   * alarm a reading raised); the broker acknowledges after that. Fails only
   * with StorageUnavailableError (the data directory cannot be written now):
   * the broker then withholds the PUBACK and the device redelivers. Whatever
   * else goes wrong is about this message, or a bug it found: the message is
   * dead-lettered with the reason and acknowledged, so a poison message can
   * never stall a device's session (and its SOS behind it).
   */
  handle(msg: Message): IngestResult | Promise<IngestResult> {
    let result: IngestResult | Promise<IngestResult>;
    try {
      result = this.#steps(msg);
    } catch (err) {
      return this.#failed(msg, err);
    }
    return result instanceof Promise ? result.catch((err: unknown) => this.#failed(msg, err)) : result;
  }

  #failed(msg: Message, err: unknown): IngestResult | Promise<IngestResult> {
    if (err instanceof StoreBusyError) {
      // The database was busy too long (or out of reach): not the disk, so no storage alarm; the device redelivers.
      this.#d.metrics.storageWriteFailures.inc();
      throw new StorageUnavailableError(`could not record the message now: ${err.message}`, { cause: err });
    }
    if (err instanceof StorageUnavailableError || isStorageUnavailable(err)) {
      this.#d.storage?.failed(err);
      this.#d.metrics.storageWriteFailures.inc();
      throw err instanceof StorageUnavailableError ? err : new StorageUnavailableError(`could not record the message: ${errorMessage(err)}`, { cause: err });
    }
    this.#d.metrics.ingestFailures.inc();
    this.#d.log.error({ err, deviceId: msg.device.id, topic: msg.topic }, 'message could not be processed; dead-lettered');
    return this.#reject(msg, 'processing_failed', `the gateway could not process this message: ${errorMessage(err)}`);
  }

  #steps(msg: Message): IngestResult | Promise<IngestResult> {
    const { directory, metrics } = this.#d;
    const { device, topic, payload, receivedAt } = msg;
    const byProfile = metrics.hot.messagesByProfile;
    byProfile.set(device.profile.id, (byProfile.get(device.profile.id) ?? 0) + 1);
    directory.heard(device, receivedAt);

    // checkRate: over its message rate, a device's messages are dropped (counted, one dead letter
    // an episode) unless they carry events within its event rate; nothing is written per dropped message.
    const rate = this.#rateOf(device.id, receivedAt);
    const withinRate = rate.messages.take(receivedAt);
    if (withinRate && rate.dropped > 0) return this.#endDropEpisode(msg, rate).then(() => this.#withinRate(msg, rate, withinRate));
    return this.#withinRate(msg, rate, withinRate);
  }

  /** The steps after checkRate: checkSize, findMessage, decode, then the readings or the events. */
  #withinRate(msg: Message, rate: DeviceRate, withinRate: boolean): IngestResult | Promise<IngestResult> {
    const { directory } = this.#d;
    const { device, topic, payload, receivedAt } = msg;

    // checkSize
    const limit = device.profile.maxPayloadBytes ?? this.#d.maxPayloadBytes;
    if (payload.length > limit) return this.#refuse(msg, rate, withinRate, 'too_large', `payload is ${payload.length} bytes; the limit for ${device.profile.id} is ${limit}`);

    // findMessage
    const spec = directory.messageFor(device, topic);
    if (!spec) return this.#refuse(msg, rate, withinRate, 'unknown_topic', `profile ${device.profile.id} has no message on topic ${topic}`);

    // decode
    let outcome;
    try {
      outcome = spec.decode(payload, receivedAt, device.id);
    } catch (err) {
      // A decoder bug must not stop ingest: the message is kept for a fix and replay.
      this.#d.log.error({ err, deviceId: device.id, topic }, 'decoder failed');
      return this.#refuse(msg, rate, withinRate, 'decoder_error', `decoder failed: ${(err as Error).message}`);
    }
    if (!outcome.ok) return this.#refuse(msg, rate, withinRate, outcome.code, outcome.reason);
    const decoded = outcome.decoded;
    if (!withinRate && (decoded.events.length === 0 || !rate.events.take(receivedAt))) return this.#drop(msg, rate);

    if (decoded.events.length > 0) return this.#withEvents(msg, decoded);
    const kept = this.#recordRejectedFields(msg, decoded);
    const written = this.#evaluateReadings(device, decoded, receivedAt);
    const stored = this.#storeReadings(msg, decoded);
    if (kept || written || stored) return Promise.all([kept, written, stored]).then(() => this.#accepted(msg, decoded));
    return this.#accepted(msg, decoded);
  }

  /** A message that cannot be taken: to the dead-letter with its reason, or only counted when its device is over its rate. */
  #refuse(msg: Message, rate: DeviceRate, withinRate: boolean, code: string, reason: string): IngestResult | Promise<IngestResult> {
    return withinRate ? this.#reject(msg, code, reason) : this.#drop(msg, rate);
  }

  /** A message with events: dropRedelivery, then the readings and each event with the alarm changes it makes. */
  async #withEvents(msg: Message, decoded: Decoded): Promise<IngestResult> {
    const { device, receivedAt } = msg;
    // dropRedelivery: [MQTT-4.3.2] QoS 1 may deliver twice; a repeated (device, seq) is one event.
    const seq = decoded.events.find((e) => e.seq !== undefined)?.seq;
    if (seq !== undefined && (await this.#d.events.seenSince(device.id, seq, receivedAt - this.#d.dedupeWindowMs))) {
      this.#d.metrics.duplicateEvents.inc();
      return { outcome: 'duplicate', readings: 0, events: 0, rejectedFields: 0 };
    }
    await this.#recordRejectedFields(msg, decoded);
    await this.#evaluateReadings(device, decoded, receivedAt);
    // The events do not wait for the telemetry batch; the acknowledgement does.
    const stored = this.#storeReadings(msg, decoded);
    await this.#recordEvents(device, decoded, receivedAt);
    if (stored) await stored;
    return this.#accepted(msg, decoded);
  }

  #accepted(msg: Message, decoded: Decoded): IngestResult {
    this.#applyStatus(msg, decoded);
    return { outcome: 'accepted', readings: decoded.readings.length, events: decoded.events.length, rejectedFields: decoded.rejected.length };
  }

  /** recordRejectedFields: the rest of the message still counts. A promise only when there were some to keep. */
  #recordRejectedFields(msg: Message, decoded: Decoded): Promise<unknown> | undefined {
    const { device, topic, payload, receivedAt } = msg;
    if (decoded.rejected.length > 0) {
      return this.#d.deadLetters.put({
        deviceId: device.id,
        topic,
        payload,
        code: decoded.rejected[0]!.code,
        reason: decoded.rejected.map((r) => r.reason).join('; '),
        partial: true,
        receivedAt,
      });
    }
    return undefined;
  }

  /**
   * evaluateReadings: the rules see them first, then the bus (telemetry, the
   * live stream). An alarm a reading raises commits on its own; the promise
   * (only when there was something to write) settles once it has.
   */
  #evaluateReadings(device: KnownDevice, decoded: Decoded, receivedAt: number): Promise<void> | undefined {
    // The decoder built them as Readings already (device id, canonical unit, time).
    const readings: Reading[] = decoded.readings;
    if (readings.length === 0) return undefined;
    for (const r of readings) if (r.kind === 'battery') this.#d.directory.setBattery(device, r.value);
    this.#d.metrics.hot.readings += readings.length;
    const t0 = performance.now();
    let written;
    try {
      written = this.#d.rules.onReadings(device, readings, receivedAt);
    } finally {
      this.#ruleTime(t0);
    }
    this.#d.bus.emit('device.readings', { device, readings, receivedAt });
    return written;
  }

  /** storeReadings: a promise when the device waits for them to be written (QoS 1), settled once they are. */
  #storeReadings(msg: Message, decoded: Decoded): Promise<void> | undefined {
    if (decoded.readings.length === 0 || !this.#d.telemetry) return undefined;
    return this.#d.telemetry.push(msg.device, decoded.readings, (msg.qos ?? 1) > 0);
  }

  /**
   * recordEvents: each event is recorded in one transaction with the alarm
   * changes its rules make. If the alarm cannot be recorded, the event is not
   * either: the error reaches the broker (no PUBACK) and the redelivery is
   * handled fresh. Once committed, the bus hears of it.
   */
  async #recordEvents(device: KnownDevice, decoded: Decoded, receivedAt: number): Promise<void> {
    for (const e of decoded.events) {
      const event: DeviceEvent = { deviceId: device.id, type: e.type, ts: decoded.ts };
      if (e.seq !== undefined) event.seq = e.seq;
      await this.#d.transaction(async (tx) => {
        await this.#d.events.in(tx).insert(event, receivedAt);
        const t0 = performance.now();
        try {
          await this.#d.rules.onEvent(device, event, tx);
        } finally {
          this.#ruleTime(t0);
        }
        await this.#d.care?.onEvent(device, event, tx);
      });
      this.#d.metrics.deviceEvents.inc({ type: e.type });
      this.#d.bus.emit('device.event', { device, event });
    }
  }

  /** Rule time is summed here and exported when /metrics is scraped: no per-message metric call, no closure. */
  #ruleTime(t0: number): void {
    const timing = this.#d.metrics.ruleTime.message;
    timing.seconds += (performance.now() - t0) / 1000;
    timing.count++;
  }

  #applyStatus(msg: Message, decoded: Decoded): void {
    // A late will from a replaced session must not mark the live session offline.
    if (decoded.online === undefined || msg.superseded) return;
    this.#d.directory.setOnline(msg.device, decoded.online, 'status_message');
  }

  /** The broker closed a device's connection over a packet too large to read: kept as a dead letter without bytes. */
  recordRefusedPacket(device: KnownDevice, reason: string, at: number): void {
    this.#d.deadLetters.put({ deviceId: device.id, topic: '', payload: Buffer.alloc(0), code: 'packet_too_large', reason, partial: false, receivedAt: at }).catch((err: unknown) => {
      this.#d.log.warn({ err, deviceId: device.id }, 'could not record a refused packet');
    });
  }

  #rateOf(deviceId: string, now: number): DeviceRate {
    let rate = this.#rates.get(deviceId);
    if (!rate) this.#rates.set(deviceId, (rate = newDeviceRate(this.#d.rateLimits, now)));
    return rate;
  }

  /** A message over the device's rate: counted; the first of an episode is kept as a dead letter. */
  #drop(msg: Message, rate: DeviceRate): IngestResult | Promise<IngestResult> {
    this.#d.metrics.rateLimited.inc();
    const dropped: IngestResult = { outcome: 'dropped', readings: 0, events: 0, rejectedFields: 0 };
    if (rate.dropped++ === 0) {
      rate.droppedSince = msg.receivedAt;
      const l = this.#d.rateLimits;
      return this.#reject(
        msg,
        'rate_limited',
        `device over its rate (${l.messagesPerSecond} messages/s in bursts of ${l.messageBurst}; events ${l.eventsPerSecond}/s in bursts of ${l.eventBurst}): this message and the next ones are dropped and counted until it slows down`,
      ).then(() => dropped);
    }
    return dropped;
  }

  #endDropEpisode(msg: Message, rate: DeviceRate): Promise<unknown> {
    const reason = `${rate.dropped} messages over the rate limit dropped from ${new Date(rate.droppedSince).toISOString()} to ${new Date(msg.receivedAt).toISOString()}`;
    rate.dropped = 0;
    return this.#d.deadLetters.put({ deviceId: msg.device.id, topic: msg.topic, payload: Buffer.alloc(0), code: 'rate_limited', reason, partial: false, receivedAt: msg.receivedAt });
  }

  /** Kept as a dead letter; acknowledged once it is written. */
  async #reject(msg: Message, code: string, reason: string): Promise<IngestResult> {
    await this.#d.deadLetters.put({ deviceId: msg.device.id, topic: msg.topic, payload: msg.payload, code, reason, partial: false, receivedAt: msg.receivedAt });
    return { outcome: 'rejected', readings: 0, events: 0, rejectedFields: 0, code };
  }
}
