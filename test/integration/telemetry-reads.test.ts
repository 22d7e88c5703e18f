import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type DeviceCredentials, type TestGateway } from '../helpers/gateway.ts';
import { Influxd } from '../helpers/influxd.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { seedTenants, type Tenants } from '../helpers/tenants.ts';

/**
 * Chart reads over the API: the same hour of readings, published over MQTT,
 * read back downsampled from the embedded store, from a real influxd, and
 * from the PostgreSQL database of a node without InfluxDB.
 */
for (const store of ['embedded SQLite', 'InfluxDB 1.x', 'PostgreSQL'] as const) {
  describe(`telemetry reads for charts (${store})`, () => {
    let influxd: Influxd | undefined;
    let pg: TestPostgres | undefined;
    let gw: TestGateway;
    let t: Tenants;
    let band: DeviceCredentials;
    let client: MqttClient;
    // A whole hour two hours ago, on a minute boundary: one heart-rate reading a minute, SpO2 every other minute.
    const base = Math.floor((Date.now() - 7_200_000) / 60_000) * 60_000;
    const range = `from=${new Date(base).toISOString()}&to=${new Date(base + 3_600_000).toISOString()}`;

    beforeAll(async () => {
      if (store === 'InfluxDB 1.x') {
        influxd = await Influxd.create();
        await influxd.start();
      }
      if (store === 'PostgreSQL') pg = await startPostgres();
      gw = await startGateway(influxd ? { config: { influxUrl: influxd.url('carebell_reads') } } : pg ? { config: { databaseUrl: pg.url } } : {});
      expect(gw.app.sink.name).toBe({ 'embedded SQLite': 'sqlite', 'InfluxDB 1.x': 'influx', PostgreSQL: 'postgres' }[store]);
      t = await seedTenants(gw);
      band = await gw.onboardDevice('carebell-vitals-band', t.residents.own, 'band-chart');
      client = await gw.connect(band);
      for (let i = 0; i < 60; i++) {
        const msg: Record<string, unknown> = { ts: base + i * 60_000, hr: 60 + i };
        if (i % 2 === 0) msg.spo2 = 90 + (i % 10);
        await client.publishAsync('devices/band-chart/telemetry', JSON.stringify(msg), { qos: 1 });
      }
      await gw.app.telemetry.flush();
    }, 60_000);

    afterAll(async () => {
      await client?.endAsync(true);
      await gw?.stop();
      await influxd?.destroy();
      await pg?.stop();
    });

    it('averages an hour into buckets with mean, min, max and count', async () => {
      const res = await gw.api('GET', `/api/v1/devices/band-chart/telemetry?${range}&points=10&kinds=heart_rate,spo2`, undefined, t.users.family.token);
      expect(res.status).toBe(200);
      expect(res.body.bucketSeconds).toBe(360);
      const hr = res.body.series.find((s: { kind: string }) => s.kind === 'heart_rate');
      expect(hr.points).toHaveLength(10);
      hr.points.forEach((p: { t: number; mean: number; min: number; max: number; n: number }, k: number) => {
        expect(p).toEqual({ t: base + k * 360_000, mean: 62.5 + 6 * k, min: 60 + 6 * k, max: 65 + 6 * k, n: 6 });
      });
      const spo2 = res.body.series.find((s: { kind: string }) => s.kind === 'spo2');
      expect(spo2.points.map((p: { n: number }) => p.n)).toEqual(Array(10).fill(3));
    });

    it('returns only the kinds asked for, and the readings of every device of a resident', async () => {
      const only = await gw.api('GET', `/api/v1/devices/band-chart/telemetry?${range}&kinds=spo2`);
      expect(only.body.series.map((s: { kind: string }) => s.kind)).toEqual(['spo2']);
      const resident = await gw.api('GET', `/api/v1/residents/${t.residents.own}/telemetry?${range}&points=60`);
      expect(resident.body.series.map((s: { deviceId: string; kind: string }) => `${s.deviceId}/${s.kind}`).sort()).toEqual(['band-chart/heart_rate', 'band-chart/spo2']);
      const hr = resident.body.series.find((s: { kind: string }) => s.kind === 'heart_rate');
      expect(hr.points).toHaveLength(60); // one-minute buckets: every reading as it was
      expect(hr.points[59]).toEqual({ t: base + 59 * 60_000, mean: 119, min: 119, max: 119, n: 1 });
    });

    it('refuses a reversed range and names the field; another family\'s resident is not found', async () => {
      const reversed = await gw.api('GET', `/api/v1/devices/band-chart/telemetry?from=${new Date(base).toISOString()}&to=${new Date(base - 1).toISOString()}`);
      expect(reversed.status).toBe(400);
      expect(reversed.body.error.field).toBe('from');
      expect((await gw.api('GET', `/api/v1/residents/${t.residents.other}/telemetry`, undefined, t.users.family.token)).status).toBe(404);
    });
  });
}
