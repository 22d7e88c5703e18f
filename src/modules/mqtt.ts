import type { Config } from '../config/config.ts';
import { DeviceBroker, defaultBrokerLimits, type BrokerLimits } from '../broker/broker.ts';
import type { ProfileRegistry } from '../profiles/registry.ts';
import type { DevicesModule } from './devices.ts';
import type { IngestModule } from './ingest.ts';
import type { Basics, Closes } from './module.ts';

/**
 * The broker's limits from the settings. A PUBLISH may declare up to four times
 * the largest payload any profile accepts (plus its topic): a payload over its
 * profile's limit but under this is still read, dead-lettered and acknowledged;
 * beyond it, the connection is closed before the bytes are buffered.
 */
export function brokerLimits(config: Config, profiles: ProfileRegistry): BrokerLimits {
  const largest = Math.max(config.maxPayloadBytes, ...profiles.all().map((p) => p.maxPayloadBytes ?? 0));
  return {
    ...defaultBrokerLimits,
    packets: { connectBytes: config.mqttMaxConnectBytes, publishBytes: 4 * largest + 1_024, otherBytes: 16_384 },
    connectTimeoutMs: config.mqttConnectTimeoutMs,
    maxRetainedBytes: config.mqttMaxRetainedBytes,
  };
}

export interface MqttModule extends Closes {
  broker: DeviceBroker;
}

/** The devices' MQTT broker (aedes); it opens no socket until listen.ts. */
export async function mqttModule(
  needs: Basics & { config: Config; profiles: ProfileRegistry; devices: DevicesModule; ingest: IngestModule; /** Before a device's CONNACK (several nodes: take the device). */ admit?: ((deviceId: string) => Promise<void>) | undefined },
): Promise<MqttModule> {
  const { config, profiles, devices, ingest, bus, clock, metrics, log } = needs;
  const broker = await DeviceBroker.create({ directory: devices.directory, ingest: ingest.ingest, bus, clock, metrics, log, limits: brokerLimits(config, profiles), ...(needs.admit ? { admit: needs.admit } : {}) });
  return { broker, close: () => broker.close() };
}
