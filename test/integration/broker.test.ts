import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { connectRefused, startGateway, type DeviceCredentials, type TestGateway } from '../helpers/gateway.ts';
import { mosquittoPub } from '../helpers/processes.ts';

/** Real aedes over TCP, real mqtt.js and mosquitto_pub clients, real SQLite. */
describe('device broker over TCP', () => {
  let gw: TestGateway;
  let band: DeviceCredentials;
  let pendant: DeviceCredentials;
  let residentId: string;

  beforeAll(async () => {
    gw = await startGateway();
    ({ residentId } = await gw.seedResident());
    band = await gw.onboardDevice('carebell-vitals-band', residentId, 'band-0001');
    pendant = await gw.onboardDevice('carebell-sos-pendant', residentId);
  });
  afterAll(() => gw.stop());

  const refusals = async (action: string, reason: string): Promise<number> => {
    const metric = await gw.app.metrics.mqttRefusals.get();
    return metric.values.find((v) => v.labels.action === action && v.labels.reason === reason)?.value ?? 0;
  };

  it('issues credentials once, scoped to the device topics, and stores only a hash', async () => {
    expect(band.mqtt).toMatchObject({ clientId: 'band-0001', username: 'band-0001' });
    expect(band.mqtt.password.length).toBeGreaterThanOrEqual(40);
    expect(band.mqtt.topics.publish).toEqual(['devices/band-0001/telemetry', 'devices/band-0001/event', 'devices/band-0001/status']);
    expect(band.mqtt.topics.subscribe).toEqual(['devices/band-0001/command']);
    const stored = gw.app.db!.prepare('SELECT secret_hash FROM devices WHERE id = ?').pluck().get('band-0001') as string;
    expect(stored).toMatch(/^hmac-sha256\$[\w-]{22}\$[\w-]{43}$/); // a salted HMAC: random 256-bit secrets need no stretching
    expect(stored).not.toContain(band.mqtt.password);
    const detail = await gw.api('GET', '/api/v1/devices/band-0001');
    expect(JSON.stringify(detail.body)).not.toContain(band.mqtt.password);
  });

  it('stores telemetry published with mqtt.js at QoS 1', async () => {
    const client = await gw.connect(band);
    await client.publishAsync('devices/band-0001/telemetry', JSON.stringify({ ts: Date.now(), hr: 71, spo2: 98, bp: { sys: 131, dia: 84 }, battery: 80, worn: 'on' }), { qos: 1 });
    const rows = (await gw.readings('band-0001')).map(({ kind, value }) => ({ kind, value })).sort((a, b) => a.kind.localeCompare(b.kind));
    expect(rows).toEqual([
      { kind: 'battery', value: 80 },
      { kind: 'diastolic_bp', value: 84 },
      { kind: 'heart_rate', value: 71 },
      { kind: 'spo2', value: 98 },
      { kind: 'systolic_bp', value: 131 },
      { kind: 'worn', value: 1 },
    ]);
    const device = await gw.api('GET', '/api/v1/devices/band-0001');
    expect(device.body).toMatchObject({ online: true, battery: 80, provisioned: true, profile: 'carebell-vitals-band' });
    expect(Date.parse(device.body.lastSeen)).toBeGreaterThan(Date.now() - 60_000);
    await client.endAsync();
  });

  it('stores telemetry published by mosquitto_pub', async () => {
    const result = await mosquittoPub({
      port: gw.urls.mqttPort,
      id: pendant.id,
      password: pendant.mqtt.password,
      topic: `devices/${pendant.id}/telemetry`,
      message: JSON.stringify({ ts: Date.now(), battery: 66, rssi: -70 }),
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const rows = (await gw.readings(pendant.id)).map(({ kind, value }) => ({ kind, value })).sort((a, b) => a.kind.localeCompare(b.kind));
    expect(rows).toEqual([
      { kind: 'battery', value: 66 },
      { kind: 'signal_strength', value: -70 },
    ]);
  });

  it('accepts MQTT over WebSocket at /mqtt', async () => {
    const client = mqtt.connect(gw.urls.wsUrl, { clientId: band.id, username: band.id, password: band.mqtt.password, protocolVersion: 4, reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => (client.once('connect', () => resolve()), client.once('error', reject)));
    await client.publishAsync('devices/band-0001/telemetry', JSON.stringify({ ts: Date.now(), hr: 88 }), { qos: 1 });
    const hr = await gw.readings('band-0001', 'heart_rate');
    expect(hr.at(-1)?.value).toBe(88);
    await client.endAsync();
  });

  describe('authorisation matrix', () => {
    it('refuses a wrong password', async () => {
      const before = await refusals('connect', 'bad_password');
      const err = await connectRefused(gw.urls.mqttUrl, { clientId: band.id, username: band.id, password: 'not-the-secret' });
      expect(err.code).toBe(4); // bad user name or password [MQTT-3.2.2.3]
      expect(await refusals('connect', 'bad_password')).toBe(before + 1);
    });

    it('refuses an unknown device with the same answer as a wrong password', async () => {
      const before = await refusals('connect', 'unknown_device');
      const err = await connectRefused(gw.urls.mqttUrl, { clientId: 'ghost-1', username: 'ghost-1', password: 'whatever' });
      expect(err.code).toBe(4);
      expect(await refusals('connect', 'unknown_device')).toBe(before + 1);
    });

    it('refuses a connection without credentials, and a client id that is not the username', async () => {
      expect((await connectRefused(gw.urls.mqttUrl, { clientId: band.id })).code).toBe(4);
      const err = await connectRefused(gw.urls.mqttUrl, { clientId: 'someone-else', username: band.id, password: band.mqtt.password });
      expect(err.code).toBe(2);
      expect(await refusals('connect', 'client_id_mismatch')).toBeGreaterThanOrEqual(1);
    });

    it('disconnects a device publishing on another device\'s topic, and stores nothing', async () => {
      const client = await gw.connect(band);
      const refused = gw.waitFor('broker.refused', (r) => r.action === 'publish');
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      client.publish(`devices/${pendant.id}/event`, JSON.stringify({ ts: Date.now(), type: 'sos', seq: 1 }), { qos: 1 });
      expect(await refused).toMatchObject({ clientId: band.id, reason: 'foreign_topic', topic: `devices/${pendant.id}/event` });
      await closed;
      expect(gw.app.db!.prepare('SELECT count(*) FROM device_events WHERE device_id = ?').pluck().get(pendant.id)).toBe(0);
    });

    it('refuses $SYS publishes', async () => {
      const client = await gw.connect(band);
      const refused = gw.waitFor('broker.refused', (r) => r.action === 'publish' && r.reason === 'sys_topic');
      client.publish('$SYS/broker/uptime', 'x', { qos: 1 });
      await refused;
      client.end(true);
    });

    it('grants the own command topic and refuses wildcards over other devices, other devices\' topics and $SYS', async () => {
      const client = await gw.connect(band);
      const filters = ['devices/band-0001/command', 'devices/+/telemetry', '#', `devices/${pendant.id}/command`, '$SYS/#', 'devices/band-0001/#'];
      // mqtt.js rejects when any filter is refused; the SUBACK it carries has every grant, in order.
      const granted = await client.subscribeAsync(filters, { qos: 1 }).then(
        () => filters.map(() => 1),
        (err: { packet?: { granted?: number[] } }) => err.packet?.granted ?? [],
      );
      const byTopic = Object.fromEntries(filters.map((f, i) => [f, granted[i]]));
      expect(byTopic).toEqual({
        'devices/band-0001/command': 1,
        'devices/+/telemetry': 128,
        '#': 128,
        [`devices/${pendant.id}/command`]: 128,
        '$SYS/#': 128,
        'devices/band-0001/#': 1,
      });
      expect(await refusals('subscribe', 'wildcard_over_other_devices')).toBe(2);
      expect(await refusals('subscribe', 'foreign_topic')).toBe(1);
      expect(await refusals('subscribe', 'sys_topic')).toBe(1);
      // The granted subscription works: a command from the gateway reaches the device.
      const received = new Promise<string>((resolve) => client.once('message', (_t, payload) => resolve(payload.toString())));
      await gw.app.broker.sendCommand(gw.app.directory.get('band-0001')!, JSON.stringify({ cmd: 'help_coming' }));
      expect(JSON.parse(await received)).toEqual({ cmd: 'help_coming' });
      await client.endAsync();
    });
  });

  it('routes a device\'s uplinks through pub/sub only once the device subscribes to a filter that can match them', async () => {
    const echo = await gw.onboardDevice('carebell-vitals-band', residentId, 'band-echo');
    const topic = 'devices/band-echo/telemetry';
    const routed: string[] = [];
    const onPublish = (packet: { topic: string }) => void (packet.topic === topic && routed.push(packet.topic));
    gw.app.broker.aedes.on('publish', onPublish);
    const client = await gw.connect(echo);
    await client.subscribeAsync('devices/band-echo/command', { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ ts: Date.now(), hr: 61 }), { qos: 1 });
    expect((await gw.readings('band-echo', 'heart_rate')).map((r) => r.value)).toEqual([61]);
    expect(routed).toEqual([]); // ingested and acknowledged, with nobody to hear it

    // A retained uplink is kept for later subscribers, so it is routed.
    await client.publishAsync(topic, JSON.stringify({ ts: Date.now() + 1, hr: 62 }), { qos: 1, retain: true });
    expect(routed).toEqual([topic]);

    // Subscribed to its own wildcard, the device hears its own messages (and the retained one at once).
    const heard: number[] = [];
    client.on('message', (_t, payload) => heard.push(JSON.parse(payload.toString()).hr));
    const retained = new Promise<void>((resolve) => client.once('message', () => resolve()));
    await client.subscribeAsync('devices/band-echo/#', { qos: 1 });
    await retained;
    const echoed = new Promise<void>((resolve) => client.on('message', (_t, p) => JSON.parse(p.toString()).hr === 63 && resolve()));
    await client.publishAsync(topic, JSON.stringify({ ts: Date.now() + 2, hr: 63 }), { qos: 1 });
    await echoed;
    expect(heard).toEqual([62, 63]);
    expect((await gw.readings('band-echo', 'heart_rate')).map((r) => r.value)).toEqual([61, 62, 63]);
    gw.app.broker.aedes.off('publish', onPublish);
    await client.endAsync();
  });

  describe('online state', () => {
    it('goes online on CONNECT and offline on DISCONNECT', async () => {
      const connected = async () => (await gw.app.metrics.connectedDevices.get()).values[0]?.value ?? 0;
      const before = await connected();
      const online = gw.waitFor('device.status', (s) => s.deviceId === pendant.id && s.online);
      const client = await gw.connect(pendant);
      expect((await online).reason).toBe('connected');
      expect(await connected()).toBe(before + 1);
      expect((await gw.api('GET', `/api/v1/devices/${pendant.id}`)).body.online).toBe(true);
      const offline = gw.waitFor('device.status', (s) => s.deviceId === pendant.id && !s.online);
      await client.endAsync();
      expect((await offline).reason).toBe('disconnected');
      expect(await connected()).toBe(before);
      expect((await gw.api('GET', `/api/v1/devices/${pendant.id}`)).body.online).toBe(false);
    });

    it('publishes the last will of a device that vanishes, and marks it offline', async () => {
      const client = await gw.connect(pendant, { will: { topic: `devices/${pendant.id}/status`, payload: Buffer.from('{"online":false}'), qos: 1, retain: false } });
      const offline = gw.waitFor('device.status', (s) => s.deviceId === pendant.id && !s.online);
      (client as unknown as { stream: { destroy(): void } }).stream.destroy(); // the radio link drops without DISCONNECT
      await offline;
      expect((await gw.api('GET', `/api/v1/devices/${pendant.id}`)).body.online).toBe(false);
    });

    it('keeps a device online when a new session replaces an old one', async () => {
      const first = await gw.connect(pendant);
      const closedFirst = new Promise<void>((resolve) => first.once('close', () => resolve()));
      const second = await gw.connect(pendant);
      await closedFirst;
      expect(gw.app.directory.get(pendant.id)!.online).toBe(true);
      await second.endAsync();
    });
  });
});
