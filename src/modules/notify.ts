import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Gauge } from 'prom-client';
import type { Config } from '../config/config.ts';
import type { Logger } from '../core/logger.ts';
import { newSecret } from '../core/secrets.ts';
import { AlarmEngine } from '../alarms/engine.ts';
import { LiveStream } from '../api/live.ts';
import { ConsoleRelay } from '../api/live-relay.ts';
import { OutboxWorker, type RetryPolicy } from '../notify/worker.ts';
import { consoleChannel } from '../notify/channels/console.ts';
import { webhookChannel } from '../notify/channels/webhook.ts';
import { mqttChannel } from '../notify/channels/mqtt.ts';
import { CommandRelay } from '../notify/channels/command-relay.ts';
import type { AlarmCoreModule } from './alarm-core.ts';
import type { DevicesModule } from './devices.ts';
import type { Basics, Closes } from './module.ts';
import type { MqttModule } from './mqtt.ts';
import type { StorageModule } from './storage.ts';

/**
 * The key that signs webhooks when CAREBELL_WEBHOOK_SECRET is not set: made
 * once per installation and kept in the data directory (readable by the owner only).
 */
function installationSecret(dataDir: string, log: Logger): string {
  const file = join(dataDir, 'webhook-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = newSecret();
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  log.info({ file }, 'CAREBELL_WEBHOOK_SECRET is not set: webhooks are signed with a key made for this installation');
  return secret;
}

export interface NotifyOptions {
  retry?: RetryPolicy;
  /** The engine's timer; 0 = no timer (the test drives time). */
  tickMs?: number;
}

export interface NotifyModule extends Closes {
  /** The live stream: alarm and device events for SSE clients, and the duty consoles connected to it. */
  live: LiveStream;
  /** Console alerts across nodes (started by the app once listening is possible). */
  consoles: ConsoleRelay;
  /** Device commands across nodes (started by the app once listening is possible). */
  commands: CommandRelay;
  outbox: OutboxWorker;
  engine: AlarmEngine;
  webhookSecret: string;
}

/** Reaching people: the live stream to duty consoles, webhooks, device commands, and the engine that drives the ladder's time. */
export function notifyModule(needs: Basics & { config: Config; storage: StorageModule; devices: DevicesModule; core: AlarmCoreModule; mqtt: MqttModule; options?: NotifyOptions | undefined }): NotifyModule {
  const { config, storage, devices, core, mqtt, bus, clock, log, metrics } = needs;
  const { repos } = storage;
  const webhookSecret = config.webhookSecret ?? installationSecret(config.dataDir, log);
  const live = new LiveStream(bus, {
    stationOf: (deviceId) => {
      const d = devices.directory.get(deviceId);
      return { stationId: d?.stationId ?? null, residentId: d?.residentId ?? null };
    },
    names: { resident: (id) => repos.residents.get(id)?.name, provider: (id) => repos.providers.get(id)?.name },
  });
  // With several nodes, a console alert reaches (and counts) the station's consoles on every node.
  const consoles = new ConsoleRelay({ sql: storage.sql, live, alarms: repos.alarms, log });
  // With several nodes, a command reaches the device on the node that holds it.
  const commands = new CommandRelay({
    sql: storage.sql,
    local: {
      isConnected: (id) => mqtt.broker.isConnected(id),
      send: async (id, payload) => {
        const device = devices.directory.get(id);
        if (!device) throw new Error(`device ${id} is not registered`);
        await mqtt.broker.sendCommand(device, payload);
      },
    },
    owner: (id) => repos.deviceOwners.owner(id),
    node: config.nodeId,
    log,
  });
  const outbox = new OutboxWorker({
    node: config.nodeId,
    outbox: repos.outbox,
    alarms: repos.alarms,
    service: core.alarms,
    residents: repos.residents,
    channels: [consoleChannel(consoles), webhookChannel({ secret: webhookSecret }), mqttChannel({ commands, directory: devices.directory })],
    clock,
    log,
    ...(needs.options?.retry ? { retry: needs.options.retry } : {}),
    onAttempt: (channel, ok) => metrics.notificationAttempts.inc({ channel, result: ok ? 'delivered' : 'failed' }),
  });
  const engine = new AlarmEngine({ service: core.alarms, evaluator: core.evaluator, worker: outbox, log, tickTiming: metrics.ruleTime.tick });
  new Gauge({
    name: 'carebell_consoles_open',
    help: 'Duty consoles connected to the live stream (operators logged in), by station',
    labelNames: ['station'] as const,
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const [station, n] of live.consoles()) this.set({ station }, n);
    },
  });
  new Gauge({
    name: 'carebell_outbox_pending',
    help: 'Notifications owed and not yet delivered',
    registers: [metrics.registry],
    async collect() {
      this.set(await repos.outbox.pendingCount());
    },
  });
  const tickMs = needs.options?.tickMs ?? 1_000;
  if (tickMs > 0) engine.start(tickMs);
  return {
    consoles,
    commands,
    live,
    outbox,
    engine,
    webhookSecret,
    // Deliveries under way finish; the rest waits in the outbox for the next start.
    close: () => engine.stop(),
  };
}
