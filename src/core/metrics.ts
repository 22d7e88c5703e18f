import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** The gateway's Prometheus metrics, on a registry of its own (several apps can live in one test process). */
export interface RuleTiming {
  count: number;
  seconds: number;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  const ruleTime: Record<'message' | 'tick', RuleTiming> = { message: { count: 0, seconds: 0 }, tick: { count: 0, seconds: 0 } };
  /**
   * Counters bumped for every device message are plain numbers, copied into
   * prom-client when /metrics is scraped: prom-client hashes labels on every inc().
   */
  const hot = { readings: 0, messagesByProfile: new Map<string, number>() };
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'carebell_process_' });
  const m = {
    registry,
    mqttRefusals: new Counter({
      name: 'carebell_mqtt_refusals_total',
      help: 'MQTT connects, publishes and subscribes refused, by action and reason',
      labelNames: ['action', 'reason'] as const,
      registers: [registry],
    }),
    connectedDevices: new Gauge({ name: 'carebell_connected_devices', help: 'Devices connected to the broker now', registers: [registry] }),
    hot,
    messagesIn: new Counter({
      name: 'carebell_messages_in_total',
      help: 'Device messages received, by profile',
      labelNames: ['profile'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [profile, n] of hot.messagesByProfile) this.inc({ profile }, n);
      },
    }),
    readings: new Counter({
      name: 'carebell_readings_total',
      help: 'Readings accepted',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(hot.readings);
      },
    }),
    deviceEvents: new Counter({
      name: 'carebell_device_events_total',
      help: 'Device events accepted, by type',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    duplicateEvents: new Counter({
      name: 'carebell_duplicate_events_total',
      help: 'Events dropped as redeliveries of an event already accepted (same device and seq)',
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'carebell_dead_letters_total',
      help: 'Messages or fields dead-lettered, by reason code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    rateLimited: new Counter({ name: 'carebell_rate_limited_total', help: 'Device messages dropped because their device was over its message rate', registers: [registry] }),
    sseDropped: new Counter({ name: 'carebell_sse_slow_readers_dropped_total', help: 'Live-stream clients dropped for leaving too much unread (they resume with Last-Event-ID)', labelNames: ['stream'] as const, registers: [registry] }),
    storageWritable: new Gauge({ name: 'carebell_storage_writable', help: '1 while the data directory takes writes; 0 while it does not (full disk, I/O error)', registers: [registry] }),
    storageLowSpace: new Gauge({ name: 'carebell_storage_low_space', help: '1 while free space is under CAREBELL_MIN_FREE_MB (telemetry is shed)', registers: [registry] }),
    storageWriteFailures: new Counter({ name: 'carebell_storage_write_failures_total', help: 'Writes that failed for lack of space or an I/O error', registers: [registry] }),
    telemetryShed: new Counter({ name: 'carebell_telemetry_shed_total', help: 'Readings not stored to keep room for events and alarms (low space or an unwritable disk)', registers: [registry] }),
    ingestFailures: new Counter({
      name: 'carebell_ingest_failures_total',
      help: 'Messages the gateway could not record (not acknowledged, so the device redelivers)',
      registers: [registry],
    }),
    notificationAttempts: new Counter({
      name: 'carebell_notification_attempts_total',
      help: 'Notification delivery attempts, by channel and result',
      labelNames: ['channel', 'result'] as const,
      registers: [registry],
    }),
    alarmsRaised: new Counter({ name: 'carebell_alarms_raised_total', help: 'Alarms raised, by type and severity', labelNames: ['type', 'severity'] as const, registers: [registry] }),
    notificationFailures: new Counter({
      name: 'carebell_notification_failures_total',
      help: 'Notification failures: an attempt refused, retries given up, or a ladder step with targets that have no channel',
      registers: [registry],
    }),
    ruleTime,
    telemetryStored: new Counter({ name: 'carebell_telemetry_points_stored_total', help: 'Telemetry points written to the sink', registers: [registry] }),
    telemetryRejected: new Counter({ name: 'carebell_telemetry_rejected_total', help: 'Telemetry points the server refused for good (kept in the spool\'s rejected/ folder with the reason)', registers: [registry] }),
    telemetrySpool: new Gauge({ name: 'carebell_telemetry_spool_points', help: 'Telemetry points spooled on disk for an unreachable server', registers: [registry] }),
  };
  for (const [name, help, pick] of [
    ['carebell_rule_evaluation_seconds_total', 'Time spent evaluating alarm rules, by trigger (message: a device message; tick: the periodic time-driven pass)', (t: RuleTiming) => t.seconds],
    ['carebell_rule_evaluations_total', 'Rule evaluation passes, by trigger', (t: RuleTiming) => t.count],
  ] as const) {
    new Counter({
      name,
      help,
      labelNames: ['trigger'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const trigger of ['message', 'tick'] as const) this.inc({ trigger }, pick(ruleTime[trigger]));
      },
    });
  }
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
