import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRefused, startGateway, type DeviceCredentials, type TestGateway } from '../helpers/gateway.ts';
import { run } from '../helpers/processes.ts';

/** MQTT over TLS with a certificate made by openssl for 127.0.0.1. */
describe('mqtts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'carebell-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  let gw: TestGateway;
  let pendant: DeviceCredentials;

  beforeAll(async () => {
    const made = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=carebell-test', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert]);
    expect(made.code, made.stderr).toBe(0);
    gw = await startGateway({ config: { mqttTlsCert: cert, mqttTlsKey: key, mqttTlsPort: 0 } });
    const { residentId } = await gw.seedResident();
    pendant = await gw.onboardDevice('carebell-sos-pendant', residentId, 'sos-tls');
  });
  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts a device over TLS with its credentials and stores what it sends', async () => {
    expect(gw.urls.mqttsUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const client = await mqtt.connectAsync(gw.urls.mqttsUrl!, { ca: readFileSync(cert), clientId: 'sos-tls', username: 'sos-tls', password: pendant.mqtt.password, protocolVersion: 4, reconnectPeriod: 0 });
    await client.publishAsync('devices/sos-tls/telemetry', JSON.stringify({ ts: Date.now(), battery: 77 }), { qos: 1 });
    expect((await gw.readings('sos-tls', 'battery')).map((r) => r.value)).toEqual([77]);
    await client.endAsync();
  });

  it('works with mosquitto_pub verifying the certificate', async () => {
    const result = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(gw.urls.mqttsPort), '--cafile', cert, '-V', 'mqttv311', '-i', 'sos-tls', '-u', 'sos-tls', '-P', pendant.mqtt.password, '-q', '1', '-t', 'devices/sos-tls/telemetry', '-m', JSON.stringify({ ts: Date.now() + 1, battery: 76 })]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect((await gw.readings('sos-tls', 'battery')).map((r) => r.value)).toEqual([77, 76]);
  });

  it('still refuses a wrong secret, and a client that does not trust the certificate', async () => {
    const err = await connectRefused(gw.urls.mqttsUrl!, { ca: readFileSync(cert), clientId: 'sos-tls', username: 'sos-tls', password: 'wrong' });
    expect(err.code).toBe(4);
    const untrusted = await connectRefused(gw.urls.mqttsUrl!, { clientId: 'sos-tls', username: 'sos-tls', password: pendant.mqtt.password });
    expect(untrusted.message).toMatch(/self[- ]signed|certificate/i);
  });
});

/** HTTPS for the API, the console and MQTT over WebSocket, with the same kind of certificate. */
describe('https', () => {
  const dir = mkdtempSync(join(tmpdir(), 'carebell-https-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  let gw: TestGateway;

  beforeAll(async () => {
    const made = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=carebell-test', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert]);
    expect(made.code, made.stderr).toBe(0);
    gw = await startGateway({ config: { httpTlsCert: cert, httpTlsKey: key } });
  });
  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, ca?: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
      const req = httpsRequest(`${gw.urls.httpUrl}${path}`, { ca, headers: { authorization: `Bearer ${gw.app.config.adminToken}` } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('serves the API over HTTPS with HSTS, to a client that trusts the certificate', async () => {
    expect(gw.urls.httpUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(gw.urls.wsUrl).toMatch(/^wss:\/\//);
    const res = await get('/api/v1/profiles', readFileSync(cert));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).length).toBeGreaterThan(5);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
    await expect(get('/healthz')).rejects.toThrow(/self[- ]signed|certificate/i);
  });

  it('carries MQTT over secure WebSocket', async () => {
    const o = gw.app.onboarding;
    const district = await o.createStation({ name: 'D', level: 'district' });
    const street = await o.createStation({ name: 'S', level: 'street', parentId: district.id });
    const community = await o.createStation({ name: 'C', level: 'community', parentId: street.id });
    const resident = await o.createResident({ name: 'R', address: 'A', stationId: community.id, livesAlone: false, capabilityLevel: 1, contacts: [] });
    const device = await o.createDevice({ profile: 'carebell-sos-pendant', residentId: resident.id, id: 'sos-wss' });
    const client = await mqtt.connectAsync(gw.urls.wsUrl, { ca: readFileSync(cert), clientId: device.id, username: device.id, password: device.mqtt.password, protocolVersion: 4, reconnectPeriod: 0 });
    await client.publishAsync('devices/sos-wss/telemetry', JSON.stringify({ ts: Date.now(), battery: 64 }), { qos: 1 });
    expect((await gw.readings('sos-wss', 'battery')).map((r) => r.value)).toEqual([64]);
    await client.endAsync();
  });
});
