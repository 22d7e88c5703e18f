import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_LIMITS } from '../../src/accounts/accounts.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { exited, root, run, startProcess } from '../helpers/processes.ts';
import { PASSWORD, seedTenants, type Tenants } from '../helpers/tenants.ts';

describe('accounts and logins', () => {
  const clock = new ManualClock(Date.parse('2026-11-20T08:00:00+08:00'));
  let gw: TestGateway;
  let t: Tenants;
  const login = (username: string, password: string) => gw.api('POST', '/api/v1/auth/login', { username, password }, null);
  const me = (token: string) => gw.api('GET', '/api/v1/auth/me', undefined, token);

  beforeAll(async () => {
    gw = await startGateway({ clock, config: { loginTtlHours: 12 } });
    t = await seedTenants(gw);
  }, 60_000);
  afterAll(() => gw?.stop());

  it('logs in with a password and answers who the caller is, with role and scope', async () => {
    const res = await login('operator.own', PASSWORD);
    expect(res.status).toBe(200);
    expect(res.body.expiresAt).toBe(new Date(clock.now() + 12 * 3_600_000).toISOString());
    const who = await me(res.body.token);
    expect(who.body).toMatchObject({ username: 'operator.own', role: 'operator', stationId: t.stations.streetA, providerId: null, residentId: null });
  });

  it('stores passwords as scrypt hashes, never in clear', () => {
    const rows = gw.app.db!.prepare('SELECT password_hash FROM users').pluck().all() as string[];
    expect(rows.length).toBeGreaterThan(4);
    for (const hash of rows) {
      expect(hash).toMatch(/^scrypt\$32768\$8\$1\$/);
      expect(hash).not.toContain(PASSWORD);
    }
  });

  it('refuses a wrong password and an unknown user alike', async () => {
    const wrong = await login('family.own', 'not the password');
    const unknown = await login('nobody.here', 'not the password');
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(wrong.body.error.message).toBe(unknown.body.error.message);
  });

  it('throttles guessing: after 5 failures from one address even the right password waits there, until the window passes', async () => {
    const account = await gw.api('POST', '/api/v1/users', { username: 'guessed.user', password: PASSWORD, role: 'family', residentId: t.residents.own });
    expect(account.status).toBe(201);
    for (let i = 0; i < LOGIN_LIMITS.perPair; i++) expect((await login('guessed.user', `guess ${i}`)).status).toBe(401);
    const blocked = await login('guessed.user', PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('too_many_requests');
    const res = await fetch(`${gw.urls.httpUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'guessed.user', password: PASSWORD }) });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await login('family.own', PASSWORD)).status).toBe(200); // other accounts are not locked out
    clock.advance(LOGIN_LIMITS.windowMs + 1_000);
    expect((await login('guessed.user', PASSWORD)).status).toBe(200);
  });

  it('a login expires', async () => {
    const { token } = (await login('provider.own', PASSWORD)).body;
    clock.advance(11 * 3_600_000);
    expect((await me(token)).status).toBe(200);
    clock.advance(3_600_000);
    const expired = await me(token);
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toMatch(/expired/);
  });

  it('logout revokes the token it was sent with, and only that one', async () => {
    const a = (await login('family.own', PASSWORD)).body.token;
    const b = (await login('family.own', PASSWORD)).body.token;
    expect((await gw.api('POST', '/api/v1/auth/logout', undefined, a)).status).toBe(204);
    expect((await me(a)).status).toBe(401);
    expect((await me(b)).status).toBe(200);
  });

  it('disabling an account ends its logins at once and refuses new ones', async () => {
    const created = await gw.api('POST', '/api/v1/users', { username: 'leaving.operator', password: PASSWORD, role: 'operator', stationId: t.stations.communityA });
    const { token } = (await login('leaving.operator', PASSWORD)).body;
    expect((await me(token)).status).toBe(200);
    const disabled = await gw.api('POST', `/api/v1/users/${created.body.id}/disable`);
    expect(disabled.body.disabled).toBe(true);
    expect((await me(token)).status).toBe(401);
    expect((await login('leaving.operator', PASSWORD)).status).toBe(401);
  });

  it('a new password ends the other logins', async () => {
    await gw.api('POST', '/api/v1/users', { username: 'changing.user', password: PASSWORD, role: 'family', residentId: t.residents.own });
    const first = (await login('changing.user', PASSWORD)).body.token;
    expect((await gw.api('PUT', '/api/v1/auth/password', { password: 'a brand new passphrase' }, first)).status).toBe(204);
    expect((await me(first)).status).toBe(401);
    expect((await login('changing.user', PASSWORD)).status).toBe(401);
    expect((await login('changing.user', 'a brand new passphrase')).status).toBe(200);
    const short = await gw.api('PUT', '/api/v1/auth/password', { password: 'short' }, (await login('changing.user', 'a brand new passphrase')).body.token);
    expect(short.status).toBe(400);
    expect(short.body.error.field).toBe('password');
  });

  it('an account needs exactly the scope its role asks for', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ role: 'operator' }, 'stationId'],
      [{ role: 'family', stationId: t.stations.communityA }, 'stationId'],
      [{ role: 'provider', providerId: 'prv_nosuchthing' }, 'providerId'],
      [{ role: 'family', residentId: 'res_nosuchthing' }, 'residentId'],
    ];
    for (const [scope, field] of cases) {
      const res = await gw.api('POST', '/api/v1/users', { username: `scope.${field}.${scope.role}`, password: PASSWORD, ...scope });
      expect(res.status, JSON.stringify(scope)).toBe(400);
      expect(res.body.error.field).toBe(field);
    }
    expect((await gw.api('POST', '/api/v1/users', { username: 'OPERATOR.OWN', password: PASSWORD, role: 'admin' })).status).toBe(409);
  });

  it('records who acted, in which role, on the alarm timeline', async () => {
    const alarm = await gw.app.alarms.raise({ type: 'sos', severity: 'critical', subject: t.devices.own.id, deviceId: t.devices.own.id, residentId: t.residents.own, stationId: t.stations.communityA, detail: {}, actor: 'test' });
    const family = (await login('family.own', PASSWORD)).body.token;
    expect((await gw.api('POST', `/api/v1/alarms/${alarm.id}/respond`, { going: true, etaMinutes: 15 }, family)).status).toBe(200);
    const operator = (await login('operator.own', PASSWORD)).body.token;
    expect((await gw.api('POST', `/api/v1/alarms/${alarm.id}/ack`, { note: '已联系家属' }, operator)).status).toBe(200);
    const detail = await gw.api('GET', `/api/v1/alarms/${alarm.id}`, undefined, family);
    expect(detail.body.timeline.find((e: { kind: string }) => e.kind === 'responded')).toMatchObject({ actor: 'family:family.own' });
    expect(detail.body.timeline.find((e: { kind: string }) => e.kind === 'acknowledged')).toMatchObject({ actor: 'operator:operator.own' });
  });
});

describe('the first start', () => {
  it('creates an admin account, prints its login once, and the login works; a restart prints none', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'carebell-first-'));
    try {
      const first = await startProcess({ CAREBELL_DATA_DIR: dataDir });
      const printed = /login\s+(\S+) \/ (\S+)/.exec(first.stdout());
      expect(printed?.[1]).toBe('admin');
      const res = await fetch(`${first.http}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: printed![2] }) });
      expect(res.status).toBe(200);
      first.child.kill('SIGTERM');
      await exited(first.child);
      const second = await startProcess({ CAREBELL_DATA_DIR: dataDir });
      expect(second.stdout()).not.toMatch(/login\s+admin/);
      second.child.kill('SIGTERM');
      await exited(second.child);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a first start that cannot listen creates no login nobody saw: the next start prints it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'carebell-first-'));
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((busy.address() as AddressInfo).port);
      const failed = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'start', '--data-dir', dataDir, '--http-port', port, '--http-host', '127.0.0.1', '--mqtt-port', '0', '--mqtt-host', '127.0.0.1'], { timeoutMs: 30_000, cwd: root });
      expect(failed.code).not.toBe(0);
      expect(failed.stderr + failed.stdout).toMatch(/EADDRINUSE/);
      expect(failed.stdout).not.toMatch(/login\s+admin/);
      const next = await startProcess({ CAREBELL_DATA_DIR: dataDir });
      const printed = /login\s+(\S+) \/ (\S+)/.exec(next.stdout());
      expect(printed?.[1]).toBe('admin');
      const res = await fetch(`${next.http}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: printed![2] }) });
      expect(res.status).toBe(200);
      const token = ((await res.json()) as { token: string }).token;

      // Locked out anyway (a lost password): `carebell reset-password admin`, with the gateway running.
      const reset = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'reset-password', 'admin', '--data-dir', dataDir], { timeoutMs: 30_000, cwd: root });
      expect(reset.code).toBe(0);
      const fresh = /login\s+admin \/ (\S+)/.exec(reset.stdout)?.[1];
      expect(fresh).toBeDefined();
      expect(fresh).not.toBe(printed![2]);
      const login = (password: string) => fetch(`${next.http}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
      expect((await login(printed![2]!)).status).toBe(401);
      expect((await login(fresh!)).status).toBe(200);
      expect((await fetch(`${next.http}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401); // the old login ended
      const unknown = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'reset-password', 'nobody', '--data-dir', dataDir], { timeoutMs: 30_000, cwd: root });
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/user "nobody" does not exist/);
      next.child.kill('SIGTERM');
      await exited(next.child);
    } finally {
      busy.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
