import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { root } from '../helpers/processes.ts';
import { seedTenants, type Tenants } from '../helpers/tenants.ts';

/** A second vendor's door contact: the reference profile under a new id, sending "state" instead of "contact". */
function acmeDoor(): any {
  const p = JSON.parse(readFileSync(join(root, 'device-profiles/carebell-door-contact.json'), 'utf8'));
  delete p.$schema;
  p.id = 'acme-door-dx2';
  p.vendor = 'Acme Sensors';
  p.model = 'DX2';
  p.messages[0].readings[0].path = 'state';
  p.fixtures = [
    { name: 'periodic state', topic: 'devices/{deviceId}/telemetry', payload: { ts: 1767225590000, state: 'open', battery: 55 }, expect: { readings: [{ kind: 'door_open', value: 1 }, { kind: 'battery', value: 55 }] } },
  ];
  return p;
}

describe('profile catalogue: validate, run fixtures, register', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carebell-profiles-'));
  let gw: TestGateway;
  let t: Tenants;
  const asProvider = (method: string, path: string, body?: unknown) => gw.api(method, path, body, t.users.provider.token);

  beforeAll(async () => {
    gw = await startGateway({ dataDir });
    t = await seedTenants(gw);
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('names every schema problem by its JSON path', async () => {
    const bad = acmeDoor();
    delete bad.vendor;
    bad.heartbeatSeconds = 2;
    bad.messages[0].readings[1].unit = 'furlongs';
    const res = await asProvider('POST', '/api/v1/profiles/validate', bad);
    expect(res.status).toBe(200);
    expect(res.body.valid).toBe(false);
    const paths = res.body.problems.map((p: { path: string }) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['vendor', 'heartbeatSeconds', 'messages.0.readings.1.unit']));
    expect(res.body.fixtures).toEqual([]);
  });

  it('runs the fixtures of a schema-valid profile and says which fail and why', async () => {
    const wrong = acmeDoor();
    wrong.fixtures[0].expect.readings[1].value = 56;
    const res = await asProvider('POST', '/api/v1/profiles/validate', wrong);
    expect(res.body).toMatchObject({ valid: false, id: 'acme-door-dx2', problems: [], exists: false });
    expect(res.body.fixtures).toEqual([{ name: 'periodic state', ok: false, problems: [expect.stringContaining('expected')] }]);
    const refused = await asProvider('POST', '/api/v1/profiles', wrong);
    expect(refused.status).toBe(400);
    expect(refused.body.error.field).toBe('fixtures');
  });

  it('registers a passing profile: devices can use it at once, and it is there after a restart', async () => {
    const res = await asProvider('POST', '/api/v1/profiles', acmeDoor());
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: 'acme-door-dx2', vendor: 'Acme Sensors', fixtures: [{ ok: true }] });
    expect((await asProvider('POST', '/api/v1/profiles', acmeDoor())).status).toBe(409);
    expect((await gw.api('POST', '/api/v1/profiles', acmeDoor(), t.users.operator.token)).status).toBe(403);

    const door = await asProvider('POST', '/api/v1/devices', { profile: 'acme-door-dx2', residentId: t.residents.own, id: 'acme-door-1' });
    expect(door.status).toBe(201);
    const client = await gw.connect(door.body);
    await client.publishAsync('devices/acme-door-1/telemetry', JSON.stringify({ ts: Date.now(), state: 'open', battery: 90 }), { qos: 1 });
    expect((await gw.readings('acme-door-1')).map((r) => [r.kind, r.value]).sort()).toEqual([
      ['battery', 90],
      ['door_open', 1],
    ]);
    await client.endAsync();

    await gw.stop();
    gw = await startGateway({ dataDir });
    t = { ...t, users: { ...t.users, provider: { ...t.users.provider, token: (await gw.api('POST', '/api/v1/auth/login', { username: 'provider.own', password: t.users.provider.password }, null)).body.token } } };
    const listed = await asProvider('GET', '/api/v1/profiles');
    expect(listed.body.map((p: { id: string }) => p.id)).toContain('acme-door-dx2');
    expect((await asProvider('GET', '/api/v1/devices/acme-door-1')).body.profile).toBe('acme-door-dx2');
  });
});
