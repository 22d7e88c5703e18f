import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { startGateway, type DeviceCredentials, type TestGateway } from '../helpers/gateway.ts';
import { Influxd } from '../helpers/influxd.ts';
import { RejectedPointsError, type SpoolingRemoteSink } from '../../src/telemetry/remote-sink.ts';
import { InfluxV1Writer } from '../../src/telemetry/influx-v1.ts';

/** The gateway writing to a real influxd, which is stopped and restarted under it. */
describe('InfluxDB 1.x telemetry sink', () => {
  let influxd: Influxd;
  let gw: TestGateway;
  let dataDir: string;
  let band: DeviceCredentials;
  let client: MqttClient;
  let influx: InfluxDB;
  const base = Date.now() - 3_600_000;
  let sent = 0;

  const gatewayOptions = () => ({
    config: { influxUrl: influxd.url('carebell_test') },
    telemetry: { retryMinMs: 20, retryMaxMs: 200 },
    dataDir,
  });

  /** Publishes n heart-rate readings with distinct timestamps, each acknowledged (QoS 1). */
  const publish = async (c: MqttClient, n: number) => {
    for (let i = 0; i < n; i++) {
      sent++;
      await c.publishAsync('devices/band-influx/telemetry', JSON.stringify({ ts: base + sent * 1000, hr: 50 + (sent % 100) }), { qos: 1 });
    }
  };

  const countInInflux = async (): Promise<number> => {
    const rows = await influx.query<{ count: number }>(`SELECT count(value) AS count FROM heart_rate WHERE device = 'band-influx'`);
    return rows[0]?.count ?? 0;
  };

  beforeAll(async () => {
    influxd = await Influxd.create();
    await influxd.start();
    dataDir = join(influxd.dir, 'gateway');
    gw = await startGateway(gatewayOptions());
    const { residentId } = await gw.seedResident();
    band = await gw.onboardDevice('carebell-vitals-band', residentId, 'band-influx');
    client = await gw.connect(band);
    influx = new InfluxDB({ host: '127.0.0.1', port: influxd.port, database: 'carebell_test' });
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await influxd?.destroy();
  });

  it('writes readings as one measurement per kind, tagged device, resident, station and profile', async () => {
    await client.publishAsync('devices/band-influx/telemetry', JSON.stringify({ ts: base, hr: 72, spo2: 96, bp: { sys: 125, dia: 80 } }), { qos: 1 });
    await gw.app.telemetry.flush();
    const measurements = await influx.getMeasurements();
    expect(measurements.sort()).toEqual(['diastolic_bp', 'heart_rate', 'spo2', 'systolic_bp']);
    const rows = await influx.query<{ value: number; device: string; resident: string; station: string; profile: string; time: Date }>(
      `SELECT value, device, resident, station, profile FROM spo2`,
    );
    expect(rows).toHaveLength(1);
    const device = gw.app.directory.get('band-influx')!;
    expect(rows[0]).toMatchObject({ value: 96, device: 'band-influx', resident: device.residentId, station: device.stationId, profile: 'carebell-vitals-band' });
    expect(new Date(rows[0]!.time).getTime()).toBe(base);
    // The gateway reads back through the same sink.
    const back = await gw.app.sink.query({ deviceId: 'band-influx', kind: 'spo2', from: base - 1, to: base + 1 });
    expect(back).toEqual([{ kind: 'spo2', ts: base, value: 96 }]);
    await influx.dropMeasurement('heart_rate');
  });

  it('writes a point whose time has a fraction of a millisecond (a simulated clock), which InfluxDB would refuse as it is', async () => {
    const writer = new InfluxV1Writer(influxd.url('carebell_test'));
    await writer.write([{ deviceId: 'band-fraction', kind: 'spo2', value: 95, ts: base + 0.6, residentId: null, stationId: null, profileId: 'carebell-vitals-band' }]);
    const rows = await influx.query<{ time: Date }>(`SELECT value FROM spo2 WHERE device = 'band-fraction'`);
    expect(rows.map((r) => new Date(r.time).getTime())).toEqual([base + 1]);
    // A point InfluxDB refuses for good is said so, not taken for an outage (the sink sets it aside, never retries it).
    const conflict = writer.write([{ deviceId: 'band-fraction', kind: 'spo2', value: 95, ts: base + 5, residentId: null, stationId: null, profileId: 'p', fields: { value: 'text' as unknown as number } }]);
    await expect(conflict).rejects.toBeInstanceOf(RejectedPointsError);
    await writer.close();
  });

  it('writes in batches', async () => {
    await publish(client, 40);
    await gw.app.telemetry.flush();
    expect(await countInInflux()).toBe(40);
  });

  it('spools while influxd is down and delivers every point exactly once when it returns', async () => {
    await influxd.stop();
    await publish(client, 30);
    await gw.app.telemetry.flush();
    const sink = gw.app.sink as SpoolingRemoteSink;
    expect(sink.backlog()).toBe(30);
    expect(readdirSync(join(dataDir, 'spool', 'influx')).length).toBeGreaterThan(0);
    const health = await gw.api('GET', '/healthz', undefined, null);
    expect(health.body.checks.telemetry.detail).toBe('30 points spooled for influx');

    // More readings arrive while it is still down: they queue behind the spool.
    await publish(client, 5);
    await gw.app.telemetry.flush();
    expect(sink.backlog()).toBe(35);

    await influxd.start();
    await sink.drained();
    expect(sink.backlog()).toBe(0);
    expect(await countInInflux()).toBe(75);
    const values = await influx.query<{ value: number; time: Date }>(`SELECT value FROM heart_rate WHERE device = 'band-influx' ORDER BY time`);
    expect(values.map((v) => new Date(v.time).getTime())).toEqual(Array.from({ length: 75 }, (_, i) => base + (i + 1) * 1000));
  });

  it('keeps the spool across a gateway restart and replays it on start', async () => {
    await influxd.stop();
    await publish(client, 10);
    await client.endAsync();
    await gw.app.close(); // flushes the 10 points into the spool
    expect(readdirSync(join(dataDir, 'spool', 'influx')).length).toBeGreaterThan(0);

    await influxd.start();
    gw = await startGateway(gatewayOptions());
    const sink = gw.app.sink as SpoolingRemoteSink;
    await sink.drained();
    expect(await countInInflux()).toBe(85);
    expect(readdirSync(join(dataDir, 'spool', 'influx'))).toEqual([]);
  });
});

describe('a throwaway influxd for tests and the soak', () => {
  it('starts on other ports when another process took the one it was given before it could bind it', async () => {
    const influxd = await Influxd.create();
    const taken = influxd.port;
    // Another process binds the port between create() and start(), as a test beside this one may.
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(taken, '127.0.0.1', resolve));
    try {
      await influxd.start();
      expect(influxd.port).not.toBe(taken);
      const ping = await fetch(`http://127.0.0.1:${influxd.port}/ping`);
      expect(ping.status).toBe(204);
    } finally {
      await influxd.destroy();
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
