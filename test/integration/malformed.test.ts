import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { StoreBusyError } from '../../src/store/sql-client.ts';
import { startGateway, type DeviceCredentials, type TestGateway } from '../helpers/gateway.ts';

/**
 * Whatever a device sends, the gateway stays up, keeps the bad bytes with a
 * reason, and other devices are unaffected.
 */
describe('malformed device input', () => {
  let gw: TestGateway;
  let band: DeviceCredentials;
  let smoke: DeviceCredentials;
  let healthy: DeviceCredentials;
  let bandClient: MqttClient;
  let smokeClient: MqttClient;
  let healthyClient: MqttClient;

  beforeAll(async () => {
    // A burst of 200 from one device is over the default rate (hardening.test.ts covers that); here every message is read.
    gw = await startGateway({ config: { deviceBurst: 1_000 } });
    const { residentId } = await gw.seedResident();
    band = await gw.onboardDevice('carebell-vitals-band', residentId, 'band-bad');
    smoke = await gw.onboardDevice('anxin-smoke-sd3', residentId, 'smoke-bad');
    healthy = await gw.onboardDevice('carebell-vitals-band', residentId, 'band-good');
    bandClient = await gw.connect(band);
    smokeClient = await gw.connect(smoke);
    healthyClient = await gw.connect(healthy);
  });
  afterAll(() => gw.stop());

  const deadLetters = async (deviceId: string) => (await gw.api('GET', `/api/v1/dead-letters?deviceId=${deviceId}&limit=1000`)).body as any[];

  /** Publishes at QoS 1: when the PUBACK arrives, ingest has handled the message. */
  const send = (client: MqttClient, topic: string, payload: Buffer | string) => client.publishAsync(topic, payload, { qos: 1 });

  it('dead-letters random bytes with the raw payload and a reason', async () => {
    const junk = randomBytes(64);
    await send(bandClient, 'devices/band-bad/telemetry', junk);
    const [dl] = await deadLetters('band-bad');
    expect(dl).toMatchObject({ deviceId: 'band-bad', topic: 'devices/band-bad/telemetry', code: 'not_json', partial: false, payloadSize: 64 });
    expect(dl.reason).toMatch(/not valid JSON/);
    expect(Buffer.from(dl.payloadBase64, 'base64').equals(junk)).toBe(true);
    expect(Date.parse(dl.receivedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('dead-letters truncated JSON', async () => {
    await send(bandClient, 'devices/band-bad/telemetry', '{"ts": 1767225590000, "hr": 7');
    const [dl] = await deadLetters('band-bad');
    expect(dl).toMatchObject({ code: 'not_json', payloadText: '{"ts": 1767225590000, "hr": 7' });
  });

  it('dead-letters wrong types field by field and keeps the valid fields', async () => {
    await send(bandClient, 'devices/band-bad/telemetry', JSON.stringify({ ts: Date.now(), hr: 'fast', spo2: 97, bp: { sys: true, dia: 80 } }));
    const [dl] = await deadLetters('band-bad');
    expect(dl).toMatchObject({ code: 'invalid_field', partial: true });
    expect(dl.reason).toContain('heart_rate (hr)');
    expect(dl.reason).toContain('systolic_bp (bp.sys)');
    const kinds = (await gw.readings('band-bad')).map((r) => r.kind).sort();
    expect(kinds).toEqual(['diastolic_bp', 'spo2']);
  });

  it('dead-letters out-of-range values with the range in the reason', async () => {
    await send(bandClient, 'devices/band-bad/telemetry', JSON.stringify({ ts: Date.now(), hr: 400, temp: 52.5 }));
    const [dl] = await deadLetters('band-bad');
    expect(dl.code).toBe('out_of_range');
    expect(dl.reason).toContain('heart_rate (hr): 400 bpm is outside 20..250');
    expect(dl.reason).toContain('body_temperature (temp): 52.5 °C is outside 30..43');
  });

  it('dead-letters an oversized payload, keeping its size', async () => {
    const big = Buffer.alloc(60_000, 0x41); // over the profile's 16 KB, within the packet limit (4 × the largest payload)
    await send(bandClient, 'devices/band-bad/telemetry', big);
    const [dl] = await deadLetters('band-bad');
    expect(dl).toMatchObject({ code: 'too_large', payloadSize: 60_000 });
    expect(dl.reason).toContain('60000 bytes');
  });

  it('dead-letters a binary frame with a bad checksum, and a frame of the wrong length', async () => {
    const frame = Buffer.from('a50112015c00e7fc', 'hex');
    frame[4] = 0x10; // battery changed in transit
    await send(smokeClient, 'devices/smoke-bad/raw', frame);
    let [dl] = await deadLetters('smoke-bad');
    expect(dl.code).toBe('bad_checksum');
    await send(smokeClient, 'devices/smoke-bad/raw', Buffer.from('a501', 'hex'));
    [dl] = await deadLetters('smoke-bad');
    expect(dl).toMatchObject({ code: 'bad_length', reason: 'frame is 2 bytes, expected 8' });
  });

  it('still raises the event of a message whose other fields are bad', async () => {
    const event = gw.waitFor('device.event', (e) => e.event.deviceId === 'band-bad');
    await send(bandClient, 'devices/band-bad/event', JSON.stringify({ ts: 'yesterday', type: 'sos', seq: 9 }));
    expect((await event).event).toMatchObject({ type: 'sos', seq: 9 });
    const [dl] = await deadLetters('band-bad');
    expect(dl).toMatchObject({ code: 'bad_timestamp', partial: true });
  });

  it('survives a burst of garbage from one device while another is stored normally', async () => {
    const before = (await deadLetters('band-bad')).length;
    const garbage = Array.from({ length: 200 }, (_, i) => send(bandClient, 'devices/band-bad/telemetry', i % 2 ? randomBytes(i + 1) : `{"hr":${'9'.repeat(i)}`));
    const base = Date.now() - 60_000;
    const good = Array.from({ length: 50 }, (_, i) => send(healthyClient, 'devices/band-good/telemetry', JSON.stringify({ ts: base + i * 1000, hr: 60 + (i % 30) })));
    await Promise.all([...garbage, ...good]);
    expect(await gw.readings('band-good', 'heart_rate')).toHaveLength(50);
    expect((await deadLetters('band-bad')).length).toBe(before + 200);
    expect((await deadLetters('band-good')).length).toBe(0);
    expect((await gw.api('GET', '/healthz', undefined, null)).status).toBe(200);
    expect(bandClient.connected).toBe(true);
  });

  it('counts dead letters by reason in /metrics', async () => {
    const metrics = await gw.api('GET', '/metrics', undefined, null);
    expect(metrics.body).toMatch(/carebell_dead_letters_total\{code="not_json"\} \d+/);
    expect(metrics.body).toMatch(/carebell_dead_letters_total\{code="too_large"\} 1/);
  });
});

describe('a storage failure while recording an event', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.stop());

  it('withholds the PUBACK, so the device redelivers and the event is recorded once', async () => {
    const { residentId } = await gw.seedResident();
    const pendant = await gw.onboardDevice('carebell-sos-pendant', residentId, 'sos-fault');
    // Fault injection at the storage boundary: the first insert fails as a full disk would.
    const events = gw.app.repos.events;
    const inTransaction = events.in.bind(events);
    let failures = 0;
    events.in = (tx) => {
      const repo = inTransaction(tx);
      const insert = repo.insert.bind(repo);
      repo.insert = async (e, at) => {
        if (failures++ === 0) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
        return insert(e, at);
      };
      return repo;
    };
    const client = await gw.connect(pendant, { reconnectPeriod: 50 });
    const recorded = gw.waitFor('device.event', (e) => e.event.deviceId === 'sos-fault');
    const dropped = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const acked = client.publishAsync('devices/sos-fault/event', JSON.stringify({ ts: Date.now(), type: 'sos', seq: 5 }), { qos: 1 });
    await dropped; // no PUBACK: the gateway closed the connection
    expect((await recorded).event).toMatchObject({ type: 'sos', seq: 5 });
    await acked; // redelivered after the reconnect, and acknowledged this time
    expect(gw.app.db!.prepare("SELECT count(*) FROM device_events WHERE device_id = 'sos-fault'").pluck().get()).toBe(1);
    expect((await gw.app.metrics.ingestFailures.get()).values[0]?.value).toBe(1);
    await client.endAsync();
  });

});

describe('a database busy too long while recording an event', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.stop());

  it('a database busy too long is not a full disk: the PUBACK is withheld, the device redelivers, and no storage alarm goes up', async () => {
    const { residentId } = await gw.seedResident();
    const pendant = await gw.onboardDevice('carebell-sos-pendant', residentId, 'sos-busy');
    const events = gw.app.repos.events;
    const inTransaction = events.in.bind(events);
    let failures = 0;
    events.in = (tx) => {
      const repo = inTransaction(tx);
      const insert = repo.insert.bind(repo);
      repo.insert = async (e, at) => {
        if (e.deviceId === 'sos-busy' && failures++ === 0) throw new StoreBusyError('waited 10000 ms for the database');
        return insert(e, at);
      };
      return repo;
    };
    const client = await gw.connect(pendant, { reconnectPeriod: 50 });
    const raised = gw.waitFor('alarm.raised', (a) => a.alarm.deviceId === 'sos-busy');
    const dropped = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const acked = client.publishAsync('devices/sos-busy/event', JSON.stringify({ ts: Date.now(), type: 'sos', seq: 7 }), { qos: 1 });
    await dropped; // not acknowledged, not dead-lettered
    expect((await raised).alarm.type).toBe('sos'); // the redelivery raised it
    await acked;
    expect(gw.app.db!.prepare("SELECT count(*) FROM dead_letters WHERE device_id = 'sos-busy'").pluck().get()).toBe(0);
    const ready = await fetch(`${gw.urls.httpUrl}/readyz`);
    expect(((await ready.json()) as { checks: { storage: { ok: boolean } } }).checks.storage.ok).toBe(true);
    await client.endAsync();
  });
});
