import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

/** Changing what was created: stations, residents who leave the programme, accounts. Real gateway, real MQTT. */
describe('administration through the API', () => {
  let gw: TestGateway;
  let ids: Awaited<ReturnType<TestGateway['seedResident']>>;

  beforeAll(async () => {
    gw = await startGateway();
    ids = await gw.seedResident();
  });
  afterAll(() => gw?.stop());

  it('renames a station and sets or removes its webhook; an empty change names the field', async () => {
    const renamed = await gw.api('PATCH', `/api/v1/stations/${ids.communityId}`, { name: '江汉社区养老服务站（新址）', webhookUrl: 'http://127.0.0.1:9/hook' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: '江汉社区养老服务站（新址）', webhookUrl: 'http://127.0.0.1:9/hook' });
    expect((await gw.api('PATCH', `/api/v1/stations/${ids.communityId}`, { webhookUrl: null })).body).toMatchObject({ name: '江汉社区养老服务站（新址）', webhookUrl: null });
    const empty = await gw.api('PATCH', `/api/v1/stations/${ids.communityId}`, {});
    expect(empty.status).toBe(400);
    expect(empty.body.error.field).toBe('name');
    expect((await gw.api('PATCH', '/api/v1/stations/stn_nope', { name: 'x' })).status).toBe(404);
  });

  it('a resident who leaves is out of the lists with the reason, their devices stop working, and their alarms stay', async () => {
    const resident = (await gw.api('POST', '/api/v1/residents', { name: '刘桂香', address: '江汉路 30 号', stationId: ids.communityId, livesAlone: true, capabilityLevel: 3, contacts: [] })).body;
    const pendant = await gw.onboardDevice('carebell-sos-pendant', resident.id, 'pendant-leaver');
    const client = await gw.connect(pendant);
    const raised = gw.waitFor('alarm.raised', (e) => e.alarm.deviceId === 'pendant-leaver');
    await client.publishAsync('devices/pendant-leaver/event', JSON.stringify({ ts: Date.now(), type: 'sos', seq: 1 }), { qos: 1 });
    const alarm = (await raised).alarm;
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));

    const left = await gw.api('POST', `/api/v1/residents/${resident.id}/deactivate`, { reason: 'moved_to_care_home', note: '入住福寿养老院' });
    expect(left.status).toBe(200);
    expect(left.body).toMatchObject({ active: false, deactivation: { reason: 'moved_to_care_home', note: '入住福寿养老院', by: expect.stringMatching(/^admin:/) }, devicesDecommissioned: ['pendant-leaver'] });
    await closed; // the device's connection is closed at once
    client.end(true);
    // Its credentials no longer work.
    const retry = mqtt.connect(gw.urls.mqttUrl, { clientId: pendant.mqtt.clientId, username: pendant.mqtt.username, password: pendant.mqtt.password, protocolVersion: 4, reconnectPeriod: 0 });
    const refused = await new Promise<string>((resolve) => {
      retry.once('error', (err) => resolve(err.message));
      retry.once('connect', () => resolve('connected'));
    });
    retry.end(true);
    expect(refused).not.toBe('connected');

    const active = (await gw.api('GET', '/api/v1/residents')).body.map((r: { id: string }) => r.id);
    expect(active).not.toContain(resident.id);
    expect(active).toContain(ids.residentId);
    const inactive = (await gw.api('GET', '/api/v1/residents?include=inactive')).body;
    expect(inactive.map((r: { id: string }) => r.id)).toEqual([resident.id]);
    // History kept: the resident, the alarm and its timeline are still there; the open alarm is for staff to close.
    expect((await gw.api('GET', `/api/v1/residents/${resident.id}`)).body).toMatchObject({ name: '刘桂香', active: false });
    const kept = (await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body;
    expect(kept).toMatchObject({ id: alarm.id, state: 'open' });
    expect((await gw.api('POST', `/api/v1/alarms/${alarm.id}/resolve`, { outcome: 'other', note: '已入住养老院' })).status).toBe(200);

    const again = await gw.api('POST', `/api/v1/residents/${resident.id}/deactivate`, { reason: 'died' });
    expect(again.status).toBe(409);
    const bad = await gw.api('POST', `/api/v1/residents/${ids.residentId}/deactivate`, { reason: 'bored' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('reason');
  });

  it('renames, disables and enables an account, and gives it a new password that ends its logins', async () => {
    const user = (await gw.api('POST', '/api/v1/users', { username: 'nurse.li', password: 'first password 123', role: 'operator', stationId: ids.communityId })).body;
    const login = (password: string) => gw.api('POST', '/api/v1/auth/login', { username: 'nurse.li', password }, null);
    const token = (await login('first password 123')).body.token as string;

    expect((await gw.api('PATCH', `/api/v1/users/${user.id}`, { displayName: '李护士' })).body).toMatchObject({ username: 'nurse.li', displayName: '李护士' });

    await gw.api('POST', `/api/v1/users/${user.id}/disable`);
    expect((await login('first password 123')).status).toBe(401);
    expect((await gw.api('POST', `/api/v1/users/${user.id}/enable`)).status).toBe(200);
    expect((await login('first password 123')).status).toBe(200);

    const reset = await gw.api('POST', `/api/v1/users/${user.id}/password`);
    expect(reset.status).toBe(200);
    expect(reset.body.username).toBe('nurse.li');
    expect(reset.body.password).toMatch(/^\S{20}$/);
    expect((await gw.api('GET', '/api/v1/auth/me', undefined, token)).status).toBe(401);
    expect((await login('first password 123')).status).toBe(401);
    expect((await login(reset.body.password)).status).toBe(200);
  });
});
