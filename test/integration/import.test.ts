import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { seedTenants, type Tenants } from '../helpers/tenants.ts';

const HEADER = 'name,address,station,lives_alone,capability_level,contact_name,contact_relation,contact_phone,contact2_name,contact2_relation,contact2_phone,devices,notes';

describe('bulk onboarding from CSV', () => {
  let gw: TestGateway;
  let t: Tenants;
  const post = (csv: string, query: string, token?: string) =>
    fetch(`${gw.urls.httpUrl}/api/v1/residents/import?${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token ?? t.users.admin.token}`, 'content-type': 'text/csv; charset=utf-8' },
      body: csv,
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const counts = () => ({
    residents: gw.app.db!.prepare('SELECT count(*) FROM residents').pluck().get(),
    devices: gw.app.db!.prepare('SELECT count(*) FROM devices').pluck().get(),
  });

  beforeAll(async () => {
    gw = await startGateway();
    t = await seedTenants(gw);
  }, 60_000);
  afterAll(() => gw?.stop());

  const mixed = () =>
    [
      HEADER,
      `张桂兰,"江汉路 8 号, 2 单元 101",江汉社区养老服务站,是,2,张伟,son,+86 139 0000 1001,,,,carebell-sos-pendant=csv-sos-1; carebell-vitals-band=csv-band-1,糖尿病`,
      `刘秀珍,江汉路 9 号,${t.stations.communityA},no,1,刘洋,daughter,139-0000-1002,,,,carebell-sos-pendant=csv-sos-1,`, // duplicate device id
      `赵淑华,江汉路 10 号,江汉社区养老服务站,yes,3,赵强,son,0571 8888 0000,,,,acme-teleporter=csv-x-1,`, // unknown profile
      `孙凤英,江汉路 11 号,不存在的社区,yes,2,孙磊,son,+86 139 0000 1004,,,,carebell-door-contact,`, // unknown station
      `周玉兰,江汉路 12 号,江汉社区养老服务站,yes,2,周杰,son,call me maybe,,,,carebell-water-leak=csv-water-1,`, // bad phone
      `吴秀云,江汉路 13 号,江汉社区养老服务站,no,7,吴刚,son,+86 139 0000 1006,吴丽,daughter,+86 139 0000 1007,carebell-sos-pendant=pendant-own,`, // level 7, id taken
    ].join('\r\n');

  it('a dry run reports every bad row with its line, field and reason, and writes nothing', async () => {
    const before = counts();
    const res = await post(mixed(), 'dryRun=true');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ dryRun: true, ok: false, rows: 6 });
    const errors = res.body.errors as Array<{ line: number; field: string; reason: string }>;
    expect(errors.map((e) => [e.line, e.field])).toEqual([
      [3, 'devices'],
      [4, 'devices'],
      [5, 'station'],
      [6, 'contact_phone'],
      [7, 'capability_level'],
      [7, 'devices'],
    ]);
    expect(errors[0]!.reason).toBe('device id csv-sos-1 appears twice (first on line 2)');
    expect(errors[1]!.reason).toBe('unknown profile acme-teleporter');
    expect(errors[2]!.reason).toBe('no community station 不存在的社区');
    expect(errors[5]!.reason).toBe('device id pendant-own is already registered');
    expect(counts()).toEqual(before);
  });

  it('an import with any bad row imports nothing, and says so', async () => {
    const before = counts();
    const res = await post(mixed(), 'dryRun=false');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'validation_failed', field: 'file' });
    expect(res.body.errors).toHaveLength(6);
    expect(counts()).toEqual(before);
    expect((await gw.api('GET', '/api/v1/devices/csv-band-1')).status).toBe(404);
  });

  it('a clean file imports every resident and device in one go, and the credentials work over MQTT', async () => {
    const csv = [HEADER, mixed().split('\r\n')[1], `刘秀珍,江汉路 9 号,${t.stations.communityA},no,1,刘洋,daughter,139-0000-1002,,,,carebell-door-contact,独居老人的女儿每周来`].join('\n');
    const dry = await post(csv, 'dryRun=true');
    expect(dry.body).toMatchObject({ ok: true, residents: 2, devices: 3, errors: [] });
    const before = counts();
    const res = await post(csv, 'dryRun=false');
    expect(res.status).toBe(201);
    expect(counts()).toEqual({ residents: (before.residents as number) + 2, devices: (before.devices as number) + 3 });
    const first = res.body.created[0];
    expect(first.name).toBe('张桂兰');
    const resident = await gw.api('GET', `/api/v1/residents/${first.residentId}`);
    expect(resident.body).toMatchObject({ address: '江汉路 8 号, 2 单元 101', livesAlone: true, capabilityLevel: 2, notes: '糖尿病', stationId: t.stations.communityA });
    expect(resident.body.contacts).toEqual([expect.objectContaining({ name: '张伟', phone: '+86 139 0000 1001', priority: 1 })]);
    const pendant = first.devices.find((d: { id: string }) => d.id === 'csv-sos-1');
    const client = await gw.connect(pendant);
    await client.publishAsync('devices/csv-sos-1/telemetry', JSON.stringify({ ts: Date.now(), battery: 90 }), { qos: 1 });
    const provisioning = await gw.api('GET', '/api/v1/devices/csv-sos-1/provisioning');
    expect(provisioning.body.provisioned).toBe(true);
    await client.endAsync();
    expect(res.body.created[1].devices[0].id).toMatch(/^dev_/);
  });

  it('a provider imports for itself only, into stations it may see; an operator only into its own', async () => {
    const row = (station: string, id: string) => `钱美华,湖滨路 3 号,${station},yes,2,钱程,son,+86 139 0000 2001,,,,carebell-sos-pendant=${id},`;
    const asProvider = await post([HEADER, row(t.stations.communityB, 'prov-sos-1')].join('\n'), 'dryRun=false', t.users.provider.token);
    expect(asProvider.status).toBe(201);
    const device = await gw.api('GET', '/api/v1/devices/prov-sos-1');
    expect(device.body.providerId).toBe(t.providers.own);
    expect((await post([HEADER, row(t.stations.communityA, 'prov-sos-2')].join('\n'), `dryRun=true&providerId=${t.providers.other}`, t.users.provider.token)).status).toBe(403);

    const asOperator = await post([HEADER, row(t.stations.communityB, 'op-sos-1')].join('\n'), 'dryRun=true', t.users.operator.token);
    expect(asOperator.body.errors).toEqual([{ line: 2, field: 'station', reason: `no community station ${t.stations.communityB}`, code: 'station.unknown', vars: { name: t.stations.communityB } }]);
    expect((await post([HEADER, row(t.stations.communityA, 'op-sos-1')].join('\n'), 'dryRun=true', t.users.operator.token)).body.ok).toBe(true);
    expect((await post([HEADER, row(t.stations.communityA, 'fam-sos-1')].join('\n'), 'dryRun=true', t.users.family.token)).status).toBe(403);
  });

  it('names a broken header or file', async () => {
    const res = await post('name,adress,station\n王,路,站\n', 'dryRun=true');
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        { line: 1, field: 'adress', reason: expect.stringContaining('unknown column'), code: 'column.unknown', vars: { columns: expect.stringContaining('address') } },
        { line: 1, field: 'address', reason: 'required column missing', code: 'column.missing' },
      ]),
    );
    const unclosed = await post(`${HEADER}\n"王,路\n`, 'dryRun=true');
    expect(unclosed.body.errors).toEqual([{ line: 2, field: 'file', reason: 'line 2: a quoted field is not closed', code: 'file.unclosed_quote' }]);
  });

  it('reads a file Excel saved on Chinese Windows (GBK), and refuses one it cannot read with what to do', async () => {
    const row = `黄秀兰,江汉路 20 号,江汉社区养老服务站,是,2,黄海,son,+86 139 0000 2001,,,,carebell-door-contact,`;
    const gbk = execFileSync('iconv', ['-f', 'UTF-8', '-t', 'GB18030'], { input: [HEADER, row].join('\r\n') });
    expect(gbk.equals(Buffer.from([HEADER, row].join('\r\n')))).toBe(false); // really not UTF-8
    const send = (body: Buffer, contentType: string) =>
      fetch(`${gw.urls.httpUrl}/api/v1/residents/import?dryRun=true`, { method: 'POST', headers: { authorization: `Bearer ${t.users.admin.token}`, 'content-type': contentType }, body: new Uint8Array(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    for (const type of ['text/csv', 'text/csv; charset=gbk']) {
      const res = await send(gbk, type);
      expect(res.status, type).toBe(200);
      expect(res.body, type).toMatchObject({ ok: true, rows: 1, errors: [] });
    }
    // A UTF-8 file with the byte-order mark Excel writes reads the same.
    expect((await send(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from([HEADER, row].join('\n'))]), 'text/csv')).body).toMatchObject({ ok: true, rows: 1 });
    // Bytes that are neither: refused, naming the file and what to do.
    const broken = await send(Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x30, 0xff]), 'text/csv');
    expect(broken.status).toBe(400);
    expect(broken.body.error).toMatchObject({ code: 'validation_failed', field: 'file', rule: 'encoding', message: expect.stringContaining('save it as CSV UTF-8') });
    const declared = await send(gbk, 'text/csv; charset=utf-8');
    expect(declared.status).toBe(400);
    expect(declared.body.error.message).toContain('not valid UTF-8');
  });

  it('says when a street centre is named instead of a community station, and refuses a number nobody can call', async () => {
    const res = await post(
      [HEADER, `马桂英,江汉路 21 号,西兴街道居家养老服务中心,yes,2,马超,son,12345,,,,carebell-door-contact,`].join('\n'),
      'dryRun=true',
    );
    expect(res.body.errors).toEqual([
      {
        line: 2,
        field: 'station',
        reason: '西兴街道居家养老服务中心 is a street centre (街道); a resident belongs to a community station under it: 江汉社区养老服务站',
        code: 'station.above',
        vars: { name: '西兴街道居家养老服务中心', level: 'street', under: '江汉社区养老服务站', more: 0 },
      },
      { line: 2, field: 'contact_phone', reason: expect.stringMatching(/^not a phone number: a mobile .*: "12345"$/), code: 'phone', vars: { value: '12345' } },
    ]);
    const api = await gw.api('POST', '/api/v1/residents', { name: '马桂英', address: '江汉路 21 号', stationId: t.stations.communityA, livesAlone: true, capabilityLevel: 2, contacts: [{ name: '马超', relation: 'son', phone: '12345', priority: 1 }] });
    expect(api.status).toBe(400);
    expect(JSON.stringify(api.body)).toContain('phone');
    for (const phone of ['138 0000 0001', '+86 138-0000-0001', '010-6512 3456', '0571 8888 0000', '+44 20 7946 0958']) {
      const ok = await post([HEADER, `马桂英,江汉路 21 号,江汉社区养老服务站,yes,2,马超,son,${phone},,,,carebell-door-contact,`].join('\n'), 'dryRun=true');
      expect(ok.body.errors, phone).toEqual([]);
    }
  });

  it('a resident\'s details and contacts can be changed; contacts are replaced and kept in priority order', async () => {
    const path = `/api/v1/residents/${t.residents.own}`;
    const patched = await gw.api('PATCH', path, {
      livesAlone: false,
      notes: '女儿已搬来同住',
      contacts: [
        { name: '王芳', relation: 'daughter', phone: '+86 139 0000 3002', priority: 2, webhookUrl: 'https://family.example/hook' },
        { name: '王强', relation: 'son', phone: '+86 139 0000 3001', priority: 1 },
      ],
    }, t.users.provider.token);
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ livesAlone: false, notes: '女儿已搬来同住', name: '王秀英' });
    expect(patched.body.contacts.map((c: { name: string; priority: number }) => [c.priority, c.name])).toEqual([
      [1, '王强'],
      [2, '王芳'],
    ]);
    const dup = await gw.api('PATCH', path, { contacts: [{ name: 'a', relation: 'b', phone: '+86 139 0000 3003', priority: 1 }, { name: 'c', relation: 'd', phone: '+86 139 0000 3004', priority: 1 }] });
    expect(dup.status).toBe(400);
    expect(dup.body.error.field).toBe('contacts');
    const badPhone = await gw.api('PATCH', path, { contacts: [{ name: 'a', relation: 'b', phone: 'none', priority: 1 }] });
    expect(badPhone.body.error.field).toBe('contacts.0.phone');
    expect((await gw.api('PATCH', path, { notes: 'x' }, t.users.family.token)).status).toBe(403);
    expect((await gw.api('GET', path)).body.contacts).toHaveLength(2); // the refused changes changed nothing
  });
});
