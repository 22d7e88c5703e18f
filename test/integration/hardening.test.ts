import { connect as tcpConnect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { hashSecret, LEGACY_DEVICE_SECRET_COST } from '../../src/core/secrets.ts';
import { startGateway, connectRefused, type DeviceCredentials, type TestGateway } from '../helpers/gateway.ts';
import { openStream } from '../helpers/sse.ts';
import { PASSWORD, seedTenants } from '../helpers/tenants.ts';

/** A raw TCP connection to the broker: resolves when the server closes it. */
function rawSocket(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1', () => resolve({ socket, closed: new Promise((done) => socket.once('close', () => done())) }));
    socket.once('error', reject);
    socket.on('error', () => {});
  });
}

/** A fixed header declaring `length` bytes for packet `type` [MQTT-2.2]. */
function header(type: number, length: number): Buffer {
  const bytes = [type << 4];
  let n = length;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.from(bytes);
}

const refusals = async (gw: TestGateway, action: string, reason: string) =>
  (await gw.app.metrics.mqttRefusals.get()).values.find((v) => v.labels.action === action && v.labels.reason === reason)?.value ?? 0;

describe('MQTT packet limits, before anything is buffered', () => {
  let gw: TestGateway;
  let band: DeviceCredentials;
  beforeAll(async () => {
    gw = await startGateway();
    const { residentId } = await gw.seedResident();
    band = await gw.onboardDevice('carebell-vitals-band', residentId, 'band-limits');
  });
  afterAll(() => gw.stop());

  it('closes a connection whose CONNECT declares 255 MB, after reading only its header', async () => {
    const before = await refusals(gw, 'packet', 'packet_too_large');
    const { socket, closed } = await rawSocket(gw.urls.mqttPort);
    socket.write(Buffer.concat([header(1, 268_435_455), Buffer.alloc(1_024, 0x41)])); // the largest length MQTT can declare
    await closed; // without the rest of the 255 MB
    expect(await refusals(gw, 'packet', 'packet_too_large')).toBe(before + 1);
  });

  it('closes a connection whose first packet is not CONNECT', async () => {
    const { socket, closed } = await rawSocket(gw.urls.mqttPort);
    socket.write(mqttPacket.generate({ cmd: 'publish', topic: 'devices/band-limits/telemetry', payload: Buffer.from('{}'), qos: 0, retain: false, dup: false }));
    await closed;
    expect(await refusals(gw, 'packet', 'not_connect_first')).toBe(1);
  });

  it('a logged-in device declaring a 100 MB PUBLISH is disconnected, and its dead letters say why', async () => {
    const client = await gw.connect(band);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const stream = (client as unknown as { stream: Socket }).stream;
    stream.write(Buffer.concat([header(3, 100 * 1_048_576), Buffer.alloc(512, 0x42)]));
    await closed;
    const letters = (await gw.api('GET', '/api/v1/dead-letters?deviceId=band-limits')).body as Array<{ code: string; reason: string; payloadSize: number }>;
    expect(letters[0]).toMatchObject({ code: 'packet_too_large', payloadSize: 0 });
    expect(letters[0]!.reason).toMatch(/^PUBLISH declares 104857600 bytes; the limit is \d+; the connection was closed before reading it$/);
    // The device comes back and is served as usual.
    const again = await gw.connect(band);
    await again.publishAsync('devices/band-limits/telemetry', JSON.stringify({ ts: Date.now(), hr: 70 }), { qos: 1 });
    expect((await gw.readings('band-limits', 'heart_rate')).map((r) => r.value)).toEqual([70]);
    await again.endAsync();
  });

  it('ingests a large retained uplink but does not keep it; a small one is kept', async () => {
    const client = await gw.connect(band);
    await client.publishAsync('devices/band-limits/status', JSON.stringify({ ts: Date.now(), online: true, note: 'x'.repeat(4_000) }), { qos: 1, retain: true });
    expect(await refusals(gw, 'publish', 'retained_too_large')).toBe(1);
    const retained = async () => {
      const found: string[] = [];
      const persistence = (gw.app.broker.aedes as unknown as { persistence: { createRetainedStreamCombi(p: string[]): AsyncIterable<{ payload: Buffer }> } }).persistence;
      for await (const packet of persistence.createRetainedStreamCombi(['devices/band-limits/#'])) found.push(packet.payload.toString());
      return found;
    };
    expect(await retained()).toEqual([]);
    await client.publishAsync('devices/band-limits/status', '{"online":true}', { qos: 1, retain: true });
    expect(await retained()).toEqual(['{"online":true}']);
    await client.endAsync();
  });
});

describe('per-device message rate', () => {
  const clock = new ManualClock(Date.parse('2026-11-20T10:00:00+08:00'));
  let gw: TestGateway;
  let pendant: DeviceCredentials;
  let other: DeviceCredentials;
  let residentId: string;
  beforeAll(async () => {
    gw = await startGateway({ clock, config: { deviceRate: 20, deviceBurst: 50, deviceEventRate: 2, deviceEventBurst: 5 }, alarms: { tickMs: 0 } });
    ({ residentId } = await gw.seedResident());
    pendant = await gw.onboardDevice('carebell-sos-pendant', residentId, 'pendant-flood');
    other = await gw.onboardDevice('carebell-sos-pendant', residentId, 'pendant-calm');
  });
  afterAll(() => gw.stop());

  const letters = async (deviceId: string) => ((await gw.api('GET', `/api/v1/dead-letters?deviceId=${deviceId}&limit=100`)).body as Array<{ code: string; reason: string }>).filter((d) => d.code === 'rate_limited');

  it('drops a flood over the rate (acknowledged, counted, one dead letter), lets an SOS inside it through, and leaves other devices alone', async () => {
    const flood = await gw.connect(pendant, { clean: false });
    const telemetry = (i: number) => flood.publishAsync('devices/pendant-flood/telemetry', JSON.stringify({ ts: clock.now(), battery: 50 + (i % 40) }), { qos: 1 });
    // The clock stands still: the bucket does not refill, so exactly the burst gets through.
    await Promise.all(Array.from({ length: 300 }, (_, i) => telemetry(i)));
    expect((await gw.app.metrics.rateLimited.get()).values[0]?.value).toBe(250);
    expect(await letters('pendant-flood')).toHaveLength(1);
    expect((await letters('pendant-flood'))[0]!.reason).toMatch(/^device over its rate \(20 messages\/s in bursts of 50; events 2\/s in bursts of 5\)/);
    // Over its message rate but within its event rate: the SOS is not lost.
    const raised = gw.waitFor('alarm.raised', (a) => a.alarm.deviceId === 'pendant-flood' && a.alarm.type === 'sos');
    await flood.publishAsync('devices/pendant-flood/event', JSON.stringify({ ts: clock.now(), type: 'sos', seq: 1 }), { qos: 1 });
    await raised;
    expect(flood.connected).toBe(true);
    // Another device is not slowed by the first one's flood.
    const calm = await gw.connect(other);
    const calmRaised = gw.waitFor('alarm.raised', (a) => a.alarm.deviceId === 'pendant-calm');
    await calm.publishAsync('devices/pendant-calm/event', JSON.stringify({ ts: clock.now(), type: 'sos', seq: 1 }), { qos: 1 });
    await calmRaised;
    // A minute later the device is within its rate again: the episode is summed up in one more dead letter.
    clock.advance(60_000);
    await telemetry(0);
    const after = await letters('pendant-flood');
    expect(after).toHaveLength(2);
    expect(after[0]!.reason).toMatch(/^250 messages over the rate limit dropped from 2026-11-20T02:00:00\.000Z to 2026-11-20T02:01:00\.000Z$/);
    await Promise.all([flood.endAsync(), calm.endAsync()]);
  });
});

describe('logins under attack', () => {
  let gw: TestGateway;
  let pendant: DeviceCredentials;
  beforeAll(async () => {
    gw = await startGateway({ config: { trustProxy: '127.0.0.1' } });
    const { residentId } = await gw.seedResident();
    pendant = await gw.onboardDevice('carebell-sos-pendant', residentId, 'pendant-guessed');
  });
  afterAll(() => gw.stop());

  it('a device secret stored by an older gateway (scrypt) still works, and is stored as a salted HMAC from its next login on', async () => {
    const device = gw.app.directory.get(pendant.id)!;
    await gw.app.directory.replaceSecretHash(device, await hashSecret(pendant.mqtt.password, LEGACY_DEVICE_SECRET_COST));
    const stored = () => gw.app.db!.prepare('SELECT secret_hash FROM devices WHERE id = ?').pluck().get(pendant.id) as string;
    expect(stored()).toMatch(/^scrypt\$4096\$/);
    expect((await connectRefused(gw.urls.mqttUrl, { clientId: pendant.id, username: pendant.id, password: 'not-it' })).code).toBe(4);
    expect(stored()).toMatch(/^scrypt\$/); // a wrong secret changes nothing
    const client = await gw.connect(pendant);
    await client.endAsync();
    expect(stored()).toMatch(/^hmac-sha256\$/);
    const again = await gw.connect(pendant);
    await again.endAsync();
  });

  it('wrong MQTT secrets beyond the limit are answered late; the right secret still gets in at once', async () => {
    const wrong = () => connectRefused(gw.urls.mqttUrl, { clientId: pendant.id, username: pendant.id, password: 'guess', connectTimeout: 30_000 });
    for (let i = 0; i < 5; i++) expect((await wrong()).code).toBe(4);
    expect(gw.app.broker.loginsHeld).toBe(0);
    const held = wrong(); // the sixth: held back
    await expect.poll(() => gw.app.broker.loginsHeld).toBe(1);
    const client = await gw.connect(pendant);
    expect(client.connected).toBe(true);
    expect(gw.app.broker.loginsHeld).toBe(1); // the guess is still waiting for its answer
    expect((await held).code).toBe(4);
    await client.endAsync();
  });

  it('HTTP: a username guessed from one address is refused there, and its owner still logs in from another', async () => {
    await seedTenants(gw);
    const login = (password: string, from: string) =>
      fetch(`${gw.urls.httpUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': from }, body: JSON.stringify({ username: 'operator.own', password }) });
    for (let i = 0; i < 5; i++) expect((await login(`guess ${i}`, '203.0.113.9')).status).toBe(401);
    const refused = await login(PASSWORD, '203.0.113.9');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await login(PASSWORD, '198.51.100.20')).status).toBe(200); // the station's PC
  });
});

describe('live streams and revoked logins', () => {
  const clock = new ManualClock(Date.parse('2026-11-20T10:00:00+08:00'));
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ clock, config: { loginTtlHours: 1 } });
  });
  afterAll(() => gw.stop());

  let users = 0;
  /** A fresh admin account and its login, so each case can revoke its own. */
  const newLogin = async () => {
    const username = `watcher.${++users}`;
    const created = await gw.api('POST', '/api/v1/users', { username, password: PASSWORD, role: 'admin' });
    expect(created.status).toBe(201);
    const token = (await gw.api('POST', '/api/v1/auth/login', { username, password: PASSWORD }, null)).body.token as string;
    return { token, userId: created.body.id as string };
  };
  const status = (deviceId: string) => gw.app.bus.emit('device.status', { deviceId, online: true, lastSeen: clock.now(), reason: 'connected' });
  const ended = (stream: Awaited<ReturnType<typeof openStream>>) => stream.next((e) => e.event === 'session.ended');

  for (const [what, reason, revoke] of [
    ['logout', 'logged out', async (token: string) => void (await gw.api('POST', '/api/v1/auth/logout', undefined, token))],
    ['a password change', 'password changed', async (token: string) => void (await gw.api('PUT', '/api/v1/auth/password', { password: 'a-new-password-123' }, token))],
    ['the account disabled', 'account disabled', async (_token: string, userId: string) => void (await gw.api('POST', `/api/v1/users/${userId}/disable`))],
  ] as const) {
    it(`ends the stream on ${what}, and sends nothing after`, async () => {
      const { token, userId } = await newLogin();
      const stream = await openStream(`${gw.urls.httpUrl}/api/v1/stream`, token);
      status('while-valid');
      await stream.next((e) => e.event === 'device.status');
      await revoke(token, userId);
      expect((await ended(stream)).data).toEqual({ reason });
      await stream.done;
      const count = stream.events.length;
      status('after-revocation');
      expect(stream.events.length).toBe(count);
      expect((await gw.api('GET', '/api/v1/stream', undefined, token)).status).toBe(401);
    });
  }

  it('ends the stream when the login expires', async () => {
    const { token } = await newLogin();
    const stream = await openStream(`${gw.urls.httpUrl}/api/v1/stream`, token);
    status('before-expiry');
    await stream.next((e) => e.event === 'device.status' && (e.data as { deviceId: string }).deviceId === 'before-expiry');
    clock.advance(3_600_000);
    status('after-expiry');
    expect((await ended(stream)).data).toEqual({ reason: 'login expired' });
    await stream.done;
    expect(stream.events.some((e) => (e.data as { deviceId?: string }).deviceId === 'after-expiry')).toBe(false);
  });

  it('drops a client that stops reading once 8 MB wait for it; a reader that keeps up is not dropped', async () => {
    const { token } = await newLogin();
    const stuck = await fetch(`${gw.urls.httpUrl}/api/v1/stream`, { headers: { authorization: `Bearer ${gw.app.config.adminToken}` } });
    const reader = stuck.body!.getReader(); // never read
    const healthy = await openStream(`${gw.urls.httpUrl}/api/v1/stream`, token);
    const dropped = async () => (await gw.app.metrics.sseDropped.get()).values.find((v) => v.labels.stream === 'live')?.value ?? 0;
    const before = await dropped();
    const padding = 'x'.repeat(1_000);
    // About 16 MB of events, in slices the event loop can breathe between: the healthy reader keeps up.
    for (let slice = 0; slice < 160 && (await dropped()) === before; slice++) {
      for (let i = 0; i < 100; i++) gw.app.bus.emit('device.status', { deviceId: `flood-${padding}`, online: true, lastSeen: clock.now(), reason: 'connected' });
      await new Promise((r) => setImmediate(r));
    }
    expect(await dropped()).toBe(before + 1);
    expect(healthy.events.length).toBeGreaterThan(1_000);
    await healthy.close();
    await reader.cancel().catch(() => {});
  });
});

describe('HTTP security headers', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.stop());

  it('on the console page and on the API: no framing, no sniffing, no referrer, a CSP without inline script', async () => {
    for (const path of ['/', '/api/v1/profiles', '/healthz', '/console/app.js']) {
      const res = await fetch(`${gw.urls.httpUrl}${path}`, { headers: { authorization: `Bearer ${gw.app.config.adminToken}` } });
      await res.arrayBuffer();
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(res.headers.get('strict-transport-security'), `${path} over plain HTTP`).toBeNull();
    }
  });
});

describe('ids a caller may not see', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.stop());

  it('a provider registering another provider\'s device id learns nothing about that device', async () => {
    const t = await seedTenants(gw);
    const provider = t.users.provider.token;
    const res = await gw.api('POST', '/api/v1/devices', { profile: 'carebell-sos-pendant', residentId: t.residents.own, id: t.devices.other.id }, provider);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toBe(`device id ${t.devices.other.id} cannot be used; choose another, or leave id out and one is made`);
    expect((await gw.api('GET', `/api/v1/devices/${t.devices.other.id}`, undefined, provider)).status).toBe(404);
    // Its own device's id: it may see that device, so it is told plainly.
    const own = await gw.api('POST', '/api/v1/devices', { profile: 'carebell-sos-pendant', residentId: t.residents.own, id: t.devices.own.id }, provider);
    expect(own.status).toBe(409);
    expect(own.body.error.message).toBe(`device ${t.devices.own.id} is already registered`);
  });
});
