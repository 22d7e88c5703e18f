import type { Clock } from '../core/clock.ts';
import type { EventBus } from '../core/event-bus.ts';
import type { Logger } from '../core/logger.ts';
import { errorMessage } from '../core/errors.ts';
import type { Alarm } from '../core/alarm.ts';
import type { DeviceDirectory } from '../devices/directory.ts';
import type { TelemetryPoint, TelemetrySink } from './point.ts';

/**
 * The operational series written next to readings when telemetry goes to
 * InfluxDB, so Grafana can chart the service itself (grafana/dashboards):
 *
 * - `carebell.alarm`: one point per lifecycle step of an alarm (raised,
 *   repeated, escalated, notify_failed, acknowledged, resolved), tagged event,
 *   type, severity, station, station_name, resident, device (and outcome when
 *   resolved). Acknowledgements carry `ack_seconds`, `within_60s` and
 *   `within_180s` (0/1), the telecare answer-time targets; resolutions carry
 *   `resolve_seconds`; escalations carry `level`.
 * - `carebell.device_state`: a snapshot of every device each minute: `online`,
 *   `silent` (nothing heard for 3 heartbeats), `never_heard`,
 *   `last_seen_age_s` and `battery` when known.
 * - `carebell.dead_letter`: rejected messages counted per device and profile
 *   over each flush (`count`), so a burst of bad payloads is never collapsed.
 *
 * The names sit under `carebell.` so they never mix with reading kinds.
 */
export const OPERATION_MEASUREMENTS = {
  alarm: 'carebell.alarm',
  deviceState: 'carebell.device_state',
  deadLetter: 'carebell.dead_letter',
} as const;

/** A device counts as silent once this many heartbeat intervals pass without a message. */
export const SILENT_AFTER_HEARTBEATS = 3;

export interface OperationsRecorderDeps {
  bus: EventBus;
  sink: TelemetrySink;
  directory: DeviceDirectory;
  stationName: (stationId: string) => string | undefined;
  clock: Clock;
  log: Logger;
  /** How often buffered points are written. 0 = only on flush() (tests). */
  flushMs: number;
  /** How often every device's state is sampled. 0 = only on snapshot() (tests). */
  snapshotMs: number;
}

export class OperationsRecorder {
  readonly #deps: OperationsRecorderDeps;
  #points: TelemetryPoint[] = [];
  readonly #deadLetters = new Map<string, { deviceId: string; profileId: string; residentId: string | null; stationId: string | null; count: number }>();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #off: Array<() => void> = [];
  #writing: Promise<void> = Promise.resolve();

  constructor(deps: OperationsRecorderDeps) {
    this.#deps = deps;
    const { bus } = deps;
    this.#off.push(
      bus.on('alarm.raised', ({ alarm }) => this.#alarm(alarm, 'raised', alarm.raisedAt, {})),
      bus.on('alarm.updated', ({ alarm, change }) => this.#alarmChange(alarm, change)),
      bus.on('deadletter.stored', ({ deviceId }) => this.#deadLetter(deviceId)),
    );
    if (deps.flushMs > 0) this.#every(deps.flushMs, () => void this.flush());
    if (deps.snapshotMs > 0) this.#every(deps.snapshotMs, () => this.snapshot());
  }

  #every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.#timers.push(timer);
  }

  #alarmChange(alarm: Alarm, change: string): void {
    const now = alarm.updatedAt;
    switch (change) {
      case 'repeated':
        return this.#alarm(alarm, 'repeated', now, { count: alarm.count });
      case 'escalated':
        return this.#alarm(alarm, 'escalated', now, { level: alarm.escalationLevel });
      case 'notify_failed':
        return this.#alarm(alarm, 'notify_failed', now, {});
      case 'acknowledged': {
        const at = alarm.acknowledgedAt ?? now;
        const seconds = (at - alarm.raisedAt) / 1000;
        return this.#alarm(alarm, 'acknowledged', at, { ack_seconds: seconds, within_60s: seconds <= 60 ? 1 : 0, within_180s: seconds <= 180 ? 1 : 0 });
      }
      case 'resolved':
      case 'auto_cleared':
      case 'cancelled_by_resident': {
        if (alarm.state !== 'resolved') return;
        const at = alarm.resolvedAt ?? now;
        return this.#alarm(alarm, 'resolved', at, { resolve_seconds: (at - alarm.raisedAt) / 1000 }, { outcome: alarm.outcome ?? change });
      }
    }
  }

  #alarm(alarm: Alarm, event: string, ts: number, fields: Record<string, number>, extraTags: Record<string, string> = {}): void {
    const tags: Record<string, string> = { event, type: alarm.type, severity: alarm.severity, ...extraTags };
    if (alarm.stationId) tags.station_name = this.#deps.stationName(alarm.stationId) ?? alarm.stationId;
    const profileId = alarm.deviceId ? (this.#deps.directory.get(alarm.deviceId)?.profile.id ?? 'unknown') : 'none';
    this.#points.push({
      deviceId: alarm.deviceId ?? 'none',
      kind: OPERATION_MEASUREMENTS.alarm,
      value: 1,
      ts,
      residentId: alarm.residentId,
      stationId: alarm.stationId,
      profileId,
      tags,
      fields,
    });
  }

  #deadLetter(deviceId: string | null): void {
    const key = deviceId ?? '';
    let entry = this.#deadLetters.get(key);
    if (!entry) {
      const device = deviceId ? this.#deps.directory.get(deviceId) : undefined;
      entry = {
        deviceId: deviceId ?? 'unknown',
        profileId: device?.profile.id ?? 'unknown',
        residentId: device?.residentId ?? null,
        stationId: device?.stationId ?? null,
        count: 0,
      };
      this.#deadLetters.set(key, entry);
    }
    entry.count++;
  }

  /** Samples every registered device's state now. */
  snapshot(): void {
    const now = this.#deps.clock.now();
    for (const d of this.#deps.directory.all()) {
      if (d.decommissioned) continue;
      const fields: Record<string, number> = {
        online: d.online ? 1 : 0,
        never_heard: d.lastSeen === null ? 1 : 0,
        silent: d.lastSeen !== null && now - d.lastSeen > SILENT_AFTER_HEARTBEATS * d.profile.profile.heartbeatSeconds * 1000 ? 1 : 0,
      };
      if (d.lastSeen !== null) fields.last_seen_age_s = Math.max(0, Math.round((now - d.lastSeen) / 1000));
      if (d.battery !== null) fields.battery = d.battery;
      this.#points.push({
        deviceId: d.id,
        kind: OPERATION_MEASUREMENTS.deviceState,
        value: fields.online!,
        ts: now,
        residentId: d.residentId,
        stationId: d.stationId,
        profileId: d.profile.id,
        fields,
      });
    }
  }

  /** Writes what is buffered. The sink spools when InfluxDB is away, so nothing is lost. */
  flush(): Promise<void> {
    const now = this.#deps.clock.now();
    for (const e of this.#deadLetters.values()) {
      this.#points.push({ deviceId: e.deviceId, kind: OPERATION_MEASUREMENTS.deadLetter, value: e.count, ts: now, residentId: e.residentId, stationId: e.stationId, profileId: e.profileId, fields: { count: e.count } });
    }
    this.#deadLetters.clear();
    if (this.#points.length === 0) return this.#writing;
    const points = this.#points;
    this.#points = [];
    this.#writing = this.#writing.then(() =>
      this.#deps.sink.write(points).catch((err) => this.#deps.log.error({ err: errorMessage(err), points: points.length }, 'operational points not written')),
    );
    return this.#writing;
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    for (const off of this.#off) off();
    await this.flush();
  }
}
