import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

describe('onboarding API', () => {
  let gw: TestGateway;
  let ids: Awaited<ReturnType<TestGateway['seedResident']>>;

  beforeAll(async () => {
    gw = await startGateway();
    ids = await gw.seedResident();
  });
  afterAll(() => gw.stop());

  describe('authentication', () => {
    it('answers 401 without a token and with a wrong one', async () => {
      const none = await gw.api('GET', '/api/v1/stations', undefined, null);
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('unauthorized');
      expect((await gw.api('GET', '/api/v1/stations', undefined, 'wrong-token-wrong-token')).status).toBe(401);
    });

    it('accepts a token issued by the gateway, stored hashed', async () => {
      await gw.app.repos.tokens.insert('issued-token-abcdefghijklmnop', 'automation', 'admin', Date.now());
      expect((await gw.api('GET', '/api/v1/stations', undefined, 'issued-token-abcdefghijklmnop')).status).toBe(200);
      const stored = gw.app.db!.prepare("SELECT token_hash FROM api_tokens WHERE label = 'automation'").pluck().get();
      expect(stored).toMatch(/^[0-9a-f]{64}$/);
    });

    it('leaves health and metrics open for probes and scrapers', async () => {
      const health = await gw.api('GET', '/healthz', undefined, null);
      expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
      const metrics = await gw.api('GET', '/metrics', undefined, null);
      expect(metrics.status).toBe(200);
      expect(metrics.body).toContain('carebell_connected_devices');
    });
  });

  describe('stations', () => {
    it('builds the district → street → community tree', async () => {
      const list = (await gw.api('GET', '/api/v1/stations')).body;
      const community = list.find((s: any) => s.id === ids.communityId);
      expect(community).toMatchObject({ level: 'community', parentId: ids.streetId });
      expect(gw.app.repos.stations.chain(ids.communityId).map((s) => s.level)).toEqual(['community', 'street', 'district']);
    });

    it.each([
      [{ name: 'x', level: 'province' }, 'level'],
      [{ level: 'district' }, 'name'],
      [{ name: 'x', level: 'district', webhookUrl: 'ftp://nope' }, 'webhookUrl'],
      [{ name: 'x', level: 'street' }, 'parentId'],
      [{ name: 'x', level: 'street', parentId: 'stn_missing' }, 'parentId'],
      [{ name: 'x', level: 'community', parentId: 'DISTRICT' }, 'parentId'],
      [{ name: 'x', level: 'district', extra: 1 }, 'extra'],
    ])('answers 400 naming the field for %j', async (body, field) => {
      const payload = JSON.parse(JSON.stringify(body).replace('DISTRICT', ids.districtId));
      const res = await gw.api('POST', '/api/v1/stations', payload);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      if (field) {
        expect(res.body.error.field).toBe(field);
        expect(res.body.error.message).toContain(field);
      }
    });

    it('says which check failed, so a console can say it in its user\'s language', async () => {
      const refused = async (body: object) => (await gw.api('POST', '/api/v1/stations', body)).body.error;
      expect(await refused({ level: 'district' })).toMatchObject({ field: 'name', rule: 'required' });
      expect(await refused({ name: '', level: 'district' })).toMatchObject({ field: 'name', rule: 'too_small', limit: 1 });
      expect(await refused({ name: 'x', level: 'province' })).toMatchObject({ field: 'level', rule: 'invalid_value' });
      expect(await refused({ name: 'x', level: 'district', extra: 1 })).toMatchObject({ field: 'extra', rule: 'unknown_field' });
      const phone = await gw.api('POST', '/api/v1/residents', { name: '张桂兰', address: '长河路 8 号', stationId: ids.communityId, livesAlone: true, capabilityLevel: 1, contacts: [{ name: '张伟', relation: 'son', phone: '13800138000', priority: 1 }, { name: '李娜', relation: 'daughter', phone: '12345', priority: 2 }] });
      expect(phone.body.error).toMatchObject({ field: 'contacts.1.phone', rule: 'phone' });
    });

    it('answers 400 for a body that is not JSON, and 404 for an unknown station', async () => {
      const res = await gw.api('POST', '/api/v1/stations', '{"name": ');
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      const missing = await gw.api('GET', '/api/v1/stations/stn_nope');
      expect(missing).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    });
  });

  describe('residents', () => {
    it('keeps contacts in priority order', async () => {
      const res = await gw.api('POST', '/api/v1/residents', {
        name: '张桂兰',
        address: '长河路 8 号',
        stationId: ids.communityId,
        livesAlone: false,
        capabilityLevel: 3,
        contacts: [
          { name: '张伟', relation: 'son', phone: '13900000002', priority: 2, webhookUrl: 'http://127.0.0.1:9/hook' },
          { name: '张丽', relation: 'daughter', phone: '+86 139 0000 0001', priority: 1 },
        ],
      });
      expect(res.status).toBe(201);
      const got = (await gw.api('GET', `/api/v1/residents/${res.body.id}`)).body;
      expect(got.contacts.map((c: any) => c.name)).toEqual(['张丽', '张伟']);
      expect(got).toMatchObject({ capabilityLevel: 3, livesAlone: false, timezone: 'Asia/Shanghai', devices: [] });
    });

    it.each([
      [{ capabilityLevel: 7 }, 'capabilityLevel'],
      [{ contacts: [{ name: 'a', relation: 'son', phone: 'call me', priority: 1 }] }, 'contacts.0.phone'],
      [{ stationId: 'STREET' }, 'stationId'],
      [{ timezone: 'Mars/Olympus' }, 'timezone'],
      [{ contacts: [{ name: 'a', relation: 'son', phone: '13900000001', priority: 1 }, { name: 'b', relation: 'son', phone: '13900000002', priority: 1 }] }, 'contacts'],
    ])('answers 400 naming the field for %j', async (patch, field) => {
      const body = { name: '测试', address: '某路 1 号', stationId: ids.communityId, livesAlone: true, capabilityLevel: 1, contacts: [], ...patch };
      if (body.stationId === 'STREET') body.stationId = ids.streetId;
      const res = await gw.api('POST', '/api/v1/residents', body);
      expect(res.status).toBe(400);
      expect(res.body.error.field).toBe(field);
    });
  });

  describe('devices', () => {
    it('lists devices with their status and provisioning state', async () => {
      await gw.onboardDevice('carebell-door-contact', ids.residentId, 'door-api-1');
      const list = (await gw.api('GET', `/api/v1/devices?residentId=${ids.residentId}`)).body;
      expect(list).toEqual([
        expect.objectContaining({ id: 'door-api-1', profile: 'carebell-door-contact', online: false, lastSeen: null, battery: null, provisioned: false, stationId: ids.communityId }),
      ]);
      const resident = (await gw.api('GET', `/api/v1/residents/${ids.residentId}`)).body;
      expect(resident.devices).toEqual(['door-api-1']);
    });

    it.each([
      [{ profile: 'no-such-profile' }, 400, 'profile'],
      [{ residentId: 'res_missing' }, 400, 'residentId'],
      [{ id: 'has/slash' }, 400, 'id'],
      [{ id: 'dev+wild' }, 400, 'id'],
      [{ id: 'door-api-1' }, 409, undefined],
    ])('refuses %j', async (patch, status, field) => {
      const res = await gw.api('POST', '/api/v1/devices', { profile: 'carebell-door-contact', residentId: ids.residentId, ...patch });
      expect(res.status).toBe(status);
      if (field) expect(res.body.error.field).toBe(field);
    });

    it('answers 404 for an unknown device', async () => {
      expect((await gw.api('GET', '/api/v1/devices/nope')).status).toBe(404);
    });
  });

  describe('profiles', () => {
    it('lists the catalogue', async () => {
      const list = (await gw.api('GET', '/api/v1/profiles')).body;
      expect(list.length).toBe(gw.app.profiles.size);
      const smoke = list.find((p: any) => p.id === 'anxin-smoke-sd3');
      expect(smoke).toMatchObject({ vendor: 'Anxin Sensing', kind: 'smoke_detector', heartbeatSeconds: 600 });
      expect(smoke.events).toEqual(expect.arrayContaining(['smoke', 'tamper']));
      expect(smoke.topics.uplink[0]).toMatchObject({ topic: 'devices/{deviceId}/raw', format: 'binary' });
    });

    it('returns one profile whole, and 404 for an unknown one', async () => {
      const one = (await gw.api('GET', '/api/v1/profiles/ruiqi-gas-gd20')).body;
      expect(one.messages[0].format).toBe('kv');
      expect((await gw.api('GET', '/api/v1/profiles/nope')).status).toBe(404);
    });
  });

  it('answers 404 in the error shape for unknown routes', async () => {
    const res = await gw.api('GET', '/api/v1/nothing-here');
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });
});
