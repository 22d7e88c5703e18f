import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from '../helpers/processes.ts';
import { roles as allRoles, type Role } from '../../src/store/users.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { seedTenants, type Tenants } from '../helpers/tenants.ts';

type Which = 'own' | 'other';
interface Call {
  method: string;
  url: string;
  body?: unknown;
  /** Sent as text/csv instead of JSON. */
  csv?: string;
}

/**
 * How a route is checked.
 * - item: a thing in the caller's scope answers 2xx, one outside it 404 (admin sees both).
 * - create: creating under something in scope answers 201, outside it 400 "does not exist".
 * - list: the answer holds the own thing's id, and the other's only when the role sees it.
 * - any: no scope (the caller itself, the catalogue): 2xx for every allowed role.
 * - public: no token needed.
 * - elsewhere: covered by a dedicated test named in `why` (the row still has to exist).
 * Roles not in `roles` get 403 on every call.
 */
type Row =
  | { kind: 'item' | 'create'; roles: readonly Role[]; call: (w: Which, role: Role) => Call | Promise<Call>; otherVisibleTo?: Role[] }
  | { kind: 'list'; roles: readonly Role[]; call: () => Call; ids: (role: Role) => { own: string; other: string }; idOf: (item: any) => string; otherVisibleTo?: Role[] }
  | { kind: 'any'; roles: readonly Role[]; call: () => Call | Promise<Call> }
  | { kind: 'public'; url: string }
  | { kind: 'elsewhere'; why: string };

/** Everyone who sees alarms and devices; a visitor records visits only (VISITOR_ROUTES). */
const everyone = allRoles.filter((r) => r !== 'visitor');
const staff = ['admin', 'operator', 'provider'] as const;
let seq = 0;
const unique = (prefix: string) => `${prefix}-${++seq}`;

describe('access matrix: every route × every role × own and other scope', () => {
  let gw: TestGateway;
  let t: Tenants;
  const reports: { stationA: string; stationB: string; providerOwn: string; providerOther: string } = { stationA: '', stationB: '', providerOwn: '', providerOther: '' };
  const deadLetters: { own: string; other: string } = { own: '', other: '' };
  const standing: { own: string; other: string } = { own: '', other: '' };
  /** Service requests for each side, dispatched to that side's provider (so its provider sees them). */
  const standingRequest: { own: string; other: string } = { own: '', other: '' };
  const serviceRequest = async (w: Which, steps: string[] = ['assign']): Promise<string> => {
    const id = (await gw.api('POST', '/api/v1/service-requests', { residentId: t.residents[w], kind: 'meals' })).body.id as string;
    for (const step of steps) await gw.api('POST', `/api/v1/service-requests/${id}/${step}`, step === 'assign' ? { providerId: t.providers[w] } : undefined);
    return id;
  };

  /** A fresh open alarm for the own or other resident (acting on an alarm changes it). */
  const alarm = async (w: Which): Promise<string> =>
    (
      await gw.app.alarms.raise({
      type: unique('test'),
      severity: 'major',
      subject: t.residents[w],
      deviceId: null,
      residentId: t.residents[w],
      stationId: w === 'own' ? t.stations.communityA : t.stations.communityB,
      detail: {},
      actor: 'test',
    })
    ).id;

  /** A new model: the reference door contact under a new id. */
  const newProfile = () => ({ ...JSON.parse(readFileSync(join(root, 'device-profiles/carebell-door-contact.json'), 'utf8')), $schema: undefined, id: unique('acme-door').toLowerCase() });

  /** A fresh device on the own or other side (decommissioning or rotating changes it). */
  const device = async (w: Which): Promise<string> => (await gw.onboardDevice('carebell-door-contact', t.residents[w])).id;
  /** A new resident in the own or other scope (one that leaves must not be the shared one). */
  const resident = async (w: Which): Promise<string> =>
    (
      await gw.api('POST', '/api/v1/residents', {
        name: unique('居民'),
        address: '测试路 2 号',
        stationId: w === 'own' ? t.stations.communityA : t.stations.communityB,
        providerId: t.providers[w],
        livesAlone: false,
        capabilityLevel: 1,
        contacts: [],
      })
    ).body.id as string;
  /** A new account to change (the shared ones log the matrix in). */
  const account = async (): Promise<string> => (await gw.api('POST', '/api/v1/users', { username: unique('member'), password: 'long enough password', role: 'family', residentId: t.residents.own })).body.id as string;

  const matrix: Record<string, Row> = {
    'GET /': { kind: 'public', url: '/' },
    'GET /api': { kind: 'public', url: '/api' },
    'GET /console/app.js': { kind: 'public', url: '/console/app.js' },
    'GET /console/app.css': { kind: 'public', url: '/console/app.css' },
    'GET /healthz': { kind: 'public', url: '/healthz' },
    'GET /readyz': { kind: 'public', url: '/readyz' },
    'GET /metrics': { kind: 'public', url: '/metrics' },
    'GET /openapi.json': { kind: 'public', url: '/openapi.json' },
    'GET /docs': { kind: 'public', url: '/docs' },
    'GET /docs/json': { kind: 'public', url: '/docs/json' },
    'GET /docs/yaml': { kind: 'public', url: '/docs/yaml' },
    'GET /docs/static/index.html': { kind: 'public', url: '/docs/static/index.html' },
    'GET /docs/static/swagger-initializer.js': { kind: 'public', url: '/docs/static/swagger-initializer.js' },
    'GET /docs/static/*': { kind: 'public', url: '/docs/static/swagger-ui.css' },

    'POST /api/v1/auth/login': { kind: 'elsewhere', why: 'auth.test.ts: login, throttling, expiry' },
    'POST /api/v1/auth/logout': { kind: 'elsewhere', why: 'auth.test.ts: logout revokes the token' },
    'PUT /api/v1/auth/password': { kind: 'elsewhere', why: 'auth.test.ts: a new password ends other logins' },
    'GET /api/v1/auth/me': { kind: 'any', roles: allRoles, call: () => ({ method: 'GET', url: '/api/v1/auth/me' }) },

    'POST /api/v1/users': { kind: 'any', roles: ['admin'], call: () => ({ method: 'POST', url: '/api/v1/users', body: { username: unique('user'), password: 'long enough password', role: 'admin' } }) },
    'GET /api/v1/users': { kind: 'any', roles: ['admin'], call: () => ({ method: 'GET', url: '/api/v1/users' }) },
    'GET /api/v1/users/:id': { kind: 'any', roles: ['admin'], call: () => ({ method: 'GET', url: `/api/v1/users/${t.users.family.id}` }) },
    'POST /api/v1/users/:id/disable': {
      kind: 'any',
      roles: ['admin'],
      call: async () => {
        const r = await gw.api('POST', '/api/v1/users', { username: unique('leaver'), password: 'long enough password', role: 'family', residentId: t.residents.own });
        return { method: 'POST', url: `/api/v1/users/${r.body.id}/disable` };
      },
    },

    'PATCH /api/v1/users/:id': { kind: 'any', roles: ['admin'], call: async () => ({ method: 'PATCH', url: `/api/v1/users/${await account()}`, body: { displayName: '新名字' } }) },
    'POST /api/v1/users/:id/enable': { kind: 'any', roles: ['admin'], call: async () => ({ method: 'POST', url: `/api/v1/users/${await account()}/enable` }) },
    'POST /api/v1/users/:id/password': { kind: 'any', roles: ['admin'], call: async () => ({ method: 'POST', url: `/api/v1/users/${await account()}/password` }) },

    'POST /api/v1/providers': { kind: 'any', roles: ['admin'], call: () => ({ method: 'POST', url: '/api/v1/providers', body: { name: unique('provider') } }) },
    'PATCH /api/v1/providers/:id': { kind: 'any', roles: ['admin'], call: () => ({ method: 'PATCH', url: `/api/v1/providers/${t.providers.other}`, body: { webhookUrl: 'http://127.0.0.1:9/provider' } }) },
    'GET /api/v1/providers': {
      kind: 'list',
      roles: staff,
      call: () => ({ method: 'GET', url: '/api/v1/providers' }),
      ids: () => t.providers,
      idOf: (p) => p.id,
      otherVisibleTo: ['operator'],
    },

    'POST /api/v1/stations': {
      kind: 'create',
      roles: ['admin'],
      call: (w) => ({ method: 'POST', url: '/api/v1/stations', body: { name: unique('社区'), level: 'community', parentId: w === 'own' ? t.stations.streetA : t.stations.streetB } }),
    },
    'GET /api/v1/stations': {
      kind: 'list',
      roles: staff,
      call: () => ({ method: 'GET', url: '/api/v1/stations' }),
      ids: () => ({ own: t.stations.communityA, other: t.stations.communityB }),
      idOf: (s) => s.id,
      otherVisibleTo: ['provider'],
    },
    'PATCH /api/v1/stations/:id': { kind: 'item', roles: ['admin'], call: (w) => ({ method: 'PATCH', url: `/api/v1/stations/${w === 'own' ? t.stations.communityA : t.stations.communityB}`, body: { webhookUrl: null } }) },
    'PUT /api/v1/stations/:id/response-plans': {
      kind: 'item',
      roles: ['admin'],
      call: (w) => ({ method: 'PUT', url: `/api/v1/stations/${w === 'own' ? t.stations.communityA : t.stations.communityB}/response-plans`, body: { fall: '先电话确认，无人接听立即上门' } }),
    },
    'GET /api/v1/stations/:id': {
      kind: 'item',
      roles: staff,
      call: (w) => ({ method: 'GET', url: `/api/v1/stations/${w === 'own' ? t.stations.communityA : t.stations.communityB}` }),
      otherVisibleTo: ['provider'],
    },
    'GET /api/v1/stations/:id/statistics': {
      kind: 'item',
      roles: ['admin', 'operator'],
      call: (w) => ({ method: 'GET', url: `/api/v1/stations/${w === 'own' ? t.stations.streetA : t.stations.streetB}/statistics` }),
    },

    'POST /api/v1/residents': {
      kind: 'create',
      roles: staff,
      call: (w) => ({
        method: 'POST',
        url: '/api/v1/residents',
        body: { name: unique('居民'), address: '测试路 2 号', stationId: w === 'own' ? t.stations.communityA : t.stations.communityB, livesAlone: false, capabilityLevel: 1 },
      }),
      otherVisibleTo: ['provider'],
    },
    'GET /api/v1/residents': {
      kind: 'list',
      roles: everyone,
      call: () => ({ method: 'GET', url: '/api/v1/residents' }),
      ids: () => t.residents,
      idOf: (r) => r.id,
    },
    'PATCH /api/v1/residents/:id': { kind: 'item', roles: staff, call: (w) => ({ method: 'PATCH', url: `/api/v1/residents/${t.residents[w]}`, body: { notes: unique('备注') } }) },
    'POST /api/v1/residents/:id/deactivate': { kind: 'item', roles: staff, call: async (w) => ({ method: 'POST', url: `/api/v1/residents/${await resident(w)}/deactivate`, body: { reason: 'moved_away' } }) },
    'GET /api/v1/residents/:id': { kind: 'item', roles: everyone, call: (w) => ({ method: 'GET', url: `/api/v1/residents/${t.residents[w]}` }) },
    'POST /api/v1/residents/import': {
      kind: 'create',
      roles: staff,
      call: (w) => ({
        method: 'POST',
        url: '/api/v1/residents/import?dryRun=false',
        csv: `name,address,station,lives_alone,capability_level,devices\n${unique('居民')},测试路 3 号,${w === 'own' ? t.stations.communityA : t.stations.communityB},yes,2,carebell-door-contact\n`,
      }),
      otherVisibleTo: ['provider'],
    },
    'GET /api/v1/residents/:id/telemetry': { kind: 'item', roles: everyone, call: (w) => ({ method: 'GET', url: `/api/v1/residents/${t.residents[w]}/telemetry` }) },
    'GET /api/v1/residents/:id/provisioning': { kind: 'item', roles: staff, call: (w) => ({ method: 'GET', url: `/api/v1/residents/${t.residents[w]}/provisioning` }) },
    'PUT /api/v1/residents/:id/settings': {
      kind: 'item',
      roles: ['admin', 'operator'],
      call: (w) => ({ method: 'PUT', url: `/api/v1/residents/${t.residents[w]}/settings`, body: { cancelWindowSeconds: 30 } }),
    },

    'POST /api/v1/devices': {
      kind: 'create',
      roles: staff,
      call: (w) => ({ method: 'POST', url: '/api/v1/devices', body: { profile: 'carebell-door-contact', residentId: t.residents[w] } }),
    },
    'GET /api/v1/devices': {
      kind: 'list',
      roles: everyone,
      call: () => ({ method: 'GET', url: '/api/v1/devices' }),
      ids: () => ({ own: t.devices.own.id, other: t.devices.other.id }),
      idOf: (d) => d.id,
    },
    'GET /api/v1/devices/:id': { kind: 'item', roles: everyone, call: (w) => ({ method: 'GET', url: `/api/v1/devices/${t.devices[w].id}` }) },
    'GET /api/v1/devices/:id/telemetry': { kind: 'item', roles: everyone, call: (w) => ({ method: 'GET', url: `/api/v1/devices/${t.devices[w].id}/telemetry?kinds=battery` }) },
    'GET /api/v1/devices/:id/provisioning': { kind: 'item', roles: staff, call: (w) => ({ method: 'GET', url: `/api/v1/devices/${t.devices[w].id}/provisioning` }) },
    'POST /api/v1/devices/:id/rotate-secret': { kind: 'item', roles: staff, call: async (w) => ({ method: 'POST', url: `/api/v1/devices/${await device(w)}/rotate-secret` }) },
    'POST /api/v1/devices/:id/decommission': { kind: 'item', roles: staff, call: async (w) => ({ method: 'POST', url: `/api/v1/devices/${await device(w)}/decommission` }) },
    'GET /api/v1/devices/:id/dead-letters': { kind: 'item', roles: staff, call: (w) => ({ method: 'GET', url: `/api/v1/devices/${t.devices[w].id}/dead-letters` }) },

    'GET /api/v1/profiles': { kind: 'any', roles: everyone, call: () => ({ method: 'GET', url: '/api/v1/profiles' }) },
    'POST /api/v1/profiles/validate': { kind: 'any', roles: ['admin', 'provider'], call: () => ({ method: 'POST', url: '/api/v1/profiles/validate', body: newProfile() }) },
    'POST /api/v1/profiles': { kind: 'any', roles: ['admin', 'provider'], call: () => ({ method: 'POST', url: '/api/v1/profiles', body: newProfile() }) },
    'GET /api/v1/profiles/:id': { kind: 'any', roles: everyone, call: () => ({ method: 'GET', url: '/api/v1/profiles/carebell-sos-pendant' }) },

    'GET /api/v1/dead-letters': {
      kind: 'list',
      roles: staff,
      call: () => ({ method: 'GET', url: '/api/v1/dead-letters' }),
      ids: () => deadLetters,
      idOf: (d) => String(d.id),
    },

    'GET /api/v1/alarms': { kind: 'list', roles: everyone, call: () => ({ method: 'GET', url: '/api/v1/alarms?state=open' }), ids: () => standing, idOf: (a) => a.id },
    'GET /api/v1/alarms/:id': { kind: 'item', roles: everyone, call: (w) => ({ method: 'GET', url: `/api/v1/alarms/${standing[w]}` }) },
    'POST /api/v1/alarms/:id/ack': { kind: 'item', roles: ['admin', 'operator'], call: async (w) => ({ method: 'POST', url: `/api/v1/alarms/${await alarm(w)}/ack`, body: {} }) },
    'POST /api/v1/alarms/:id/respond': {
      kind: 'item',
      roles: ['admin', 'operator', 'family'],
      // Staff record a named contact's answer; a family member answers for themselves.
      call: async (w, role) => ({ method: 'POST', url: `/api/v1/alarms/${await alarm(w)}/respond`, body: { going: true, etaMinutes: 20, ...(role === 'family' ? {} : { contact: `${w === 'own' ? '王秀英' : '陈桂芳'}的家属` }) } }),
    },
    'GET /api/v1/alarms/:id/handlers': { kind: 'item', roles: ['admin', 'operator'], call: async (w) => ({ method: 'GET', url: `/api/v1/alarms/${await alarm(w)}/handlers` }) },
    'POST /api/v1/alarms/:id/on-site': { kind: 'item', roles: ['admin', 'operator'], call: async (w) => ({ method: 'POST', url: `/api/v1/alarms/${await alarm(w)}/on-site`, body: { who: '社区医生' } }) },
    'POST /api/v1/alarms/:id/calls': {
      kind: 'item',
      roles: ['admin', 'operator'],
      call: async (w) => ({ method: 'POST', url: `/api/v1/alarms/${await alarm(w)}/calls`, body: { contact: `${w === 'own' ? '王秀英' : '陈桂芳'}的家属`, outcome: 'no_answer' } }),
    },
    'POST /api/v1/alarms/:id/resolve': {
      kind: 'item',
      roles: ['admin', 'operator'],
      call: async (w) => ({ method: 'POST', url: `/api/v1/alarms/${await alarm(w)}/resolve`, body: { outcome: 'false_alarm' } }),
    },
    'POST /api/v1/alarms/:id/assign': { kind: 'item', roles: ['admin', 'operator'], call: async (w) => ({ method: 'POST', url: `/api/v1/alarms/${await alarm(w)}/assign`, body: {} }) },
    'POST /api/v1/alarms/:id/notes': { kind: 'item', roles: ['admin', 'operator'], call: async (w) => ({ method: 'POST', url: `/api/v1/alarms/${await alarm(w)}/notes`, body: { note: '电话联系中' } }) },

    'GET /api/v1/traffic': { kind: 'elsewhere', why: 'record-replay.test.ts: records a run and replays it (admin only: 403 for others is checked there)' },
    'GET /api/v1/stream': { kind: 'elsewhere', why: 'stream-scope.test.ts: each role receives only the events in its scope' },

    'GET /api/v1/reports': {
      kind: 'list',
      roles: staff,
      call: () => ({ method: 'GET', url: '/api/v1/reports?limit=500' }),
      ids: (role) => (role === 'provider' ? { own: reports.providerOwn, other: reports.providerOther } : { own: reports.stationA, other: reports.stationB }),
      idOf: (r) => r.id,
    },
    'GET /api/v1/reports/:id': {
      kind: 'item',
      roles: staff,
      call: (w, role) => ({
        method: 'GET',
        url: `/api/v1/reports/${role === 'provider' ? (w === 'own' ? reports.providerOwn : reports.providerOther) : w === 'own' ? reports.stationA : reports.stationB}`,
      }),
    },
    'POST /api/v1/residents/:id/visits': { kind: 'item', roles: ['admin', 'operator', 'visitor'], call: (w) => ({ method: 'POST', url: `/api/v1/residents/${t.residents[w]}/visits`, body: { kind: 'phone', outcome: 'well' } }) },
    'GET /api/v1/residents/:id/visits': { kind: 'item', roles: [...staff, 'visitor'], call: (w) => ({ method: 'GET', url: `/api/v1/residents/${t.residents[w]}/visits` }) },
    'GET /api/v1/visits': { kind: 'any', roles: ['admin', 'operator', 'visitor'], call: () => ({ method: 'GET', url: '/api/v1/visits' }) },
    'GET /api/v1/visits/due': {
      kind: 'list',
      roles: ['admin', 'operator', 'visitor'],
      // Both residents live alone: a weekly phone greeting falls due within the month.
      call: () => ({ method: 'GET', url: '/api/v1/visits/due?withinDays=31' }),
      ids: () => ({ own: t.residents.own, other: t.residents.other }),
      idOf: (d) => d.residentId,
    },
    'POST /api/v1/service-requests': {
      kind: 'create',
      roles: ['admin', 'operator', 'family'],
      call: (w) => ({ method: 'POST', url: '/api/v1/service-requests', body: { residentId: t.residents[w], kind: 'housekeeping' } }),
    },
    'GET /api/v1/service-requests': { kind: 'list', roles: everyone, call: () => ({ method: 'GET', url: '/api/v1/service-requests?state=open' }), ids: () => standingRequest, idOf: (r) => r.id },
    'GET /api/v1/service-requests/:id': { kind: 'item', roles: everyone, call: (w) => ({ method: 'GET', url: `/api/v1/service-requests/${standingRequest[w]}` }) },
    'POST /api/v1/service-requests/:id/assign': { kind: 'item', roles: staff, call: async (w) => ({ method: 'POST', url: `/api/v1/service-requests/${await serviceRequest(w)}/assign`, body: { worker: '张师傅 139 0000 0000' } }) },
    'POST /api/v1/service-requests/:id/start': { kind: 'item', roles: staff, call: async (w) => ({ method: 'POST', url: `/api/v1/service-requests/${await serviceRequest(w)}/start` }) },
    'POST /api/v1/service-requests/:id/arrive': { kind: 'item', roles: staff, call: async (w) => ({ method: 'POST', url: `/api/v1/service-requests/${await serviceRequest(w)}/arrive` }) },
    'POST /api/v1/service-requests/:id/done': { kind: 'item', roles: staff, call: async (w) => ({ method: 'POST', url: `/api/v1/service-requests/${await serviceRequest(w, ['assign', 'arrive'])}/done` }) },
    'POST /api/v1/service-requests/:id/cancel': {
      kind: 'item',
      roles: ['admin', 'operator', 'family'],
      call: async (w) => ({ method: 'POST', url: `/api/v1/service-requests/${await serviceRequest(w)}/cancel`, body: { reason: '家属已处理' } }),
    },
    'GET /api/v1/device-tests/due': {
      kind: 'list',
      roles: staff,
      // Neither pendant has been tested: both fall due within a week of onboarding.
      call: () => ({ method: 'GET', url: '/api/v1/device-tests/due?withinDays=8' }),
      ids: () => ({ own: t.devices.own.id, other: t.devices.other.id }),
      idOf: (d) => d.deviceId,
    },
    'GET /api/v1/devices/:id/tests': { kind: 'item', roles: everyone, call: (w) => ({ method: 'GET', url: `/api/v1/devices/${t.devices[w].id}/tests` }) },
    'GET /api/v1/stations/:id/visit-plans': { kind: 'item', roles: ['admin', 'operator'], call: (w) => ({ method: 'GET', url: `/api/v1/stations/${w === 'own' ? t.stations.communityA : t.stations.communityB}/visit-plans` }) },
    'PUT /api/v1/stations/:id/visit-plans': {
      kind: 'item',
      roles: ['admin', 'operator'],
      call: (w) => ({ method: 'PUT', url: `/api/v1/stations/${w === 'own' ? t.stations.communityA : t.stations.communityB}/visit-plans`, body: { lives_alone: [{ kind: 'phone', everyDays: 7 }] } }),
    },
    'GET /api/v1/reports/station-month': { kind: 'item', roles: ['admin', 'operator'], call: (w) => ({ method: 'GET', url: `/api/v1/reports/station-month?station=${w === 'own' ? t.stations.communityA : t.stations.communityB}` }) },
    'GET /api/v1/reports/device-health': {
      kind: 'list',
      roles: staff,
      call: () => ({ method: 'GET', url: '/api/v1/reports/device-health' }),
      ids: () => ({ own: t.providers.own, other: t.providers.other }),
      idOf: (r) => r.providerId,
    },
    'POST /api/v1/reports/run': { kind: 'any', roles: ['admin'], call: () => ({ method: 'POST', url: '/api/v1/reports/run', body: { kind: 'device_health' } }) },
  };

  beforeAll(async () => {
    gw = await startGateway();
    t = await seedTenants(gw);
    standingRequest.own = await serviceRequest('own');
    standingRequest.other = await serviceRequest('other');
    standing.own = await alarm('own');
    standing.other = await alarm('other');
    for (const w of ['own', 'other'] as const) {
      const client = await gw.connect(t.devices[w]);
      const stored = gw.waitFor('deadletter.stored', (d) => d.deviceId === t.devices[w].id);
      await client.publishAsync(`devices/${t.devices[w].id}/telemetry`, '{"battery": "full"', { qos: 1 });
      deadLetters[w] = String((await stored).id);
      await client.endAsync();
    }
    const run = async (kind: string) => (await gw.api('POST', '/api/v1/reports/run', { kind })).body as Array<{ id: string; subject: string }>;
    const monthly = await run('station_monthly');
    const health = await run('device_health');
    reports.stationA = monthly.find((r) => r.subject === t.stations.communityA)!.id;
    reports.stationB = monthly.find((r) => r.subject === t.stations.communityB)!.id;
    reports.providerOwn = health.find((r) => r.subject === t.providers.own)!.id;
    reports.providerOther = health.find((r) => r.subject === t.providers.other)!.id;
  }, 60_000);

  afterAll(() => gw?.stop());

  it('has a row for every route, and no row for a route that does not exist', () => {
    expect(Object.keys(matrix).sort()).toEqual([...new Set(gw.app.api.routeTable)].sort());
  });

  const send = async (c: Call, role: Role) => {
    if (c.csv === undefined) return gw.api(c.method, c.url, c.body, t.users[role].token);
    const res = await fetch(`${gw.urls.httpUrl}${c.url}`, { method: c.method, headers: { authorization: `Bearer ${t.users[role].token}`, 'content-type': 'text/csv' }, body: c.csv });
    return { status: res.status, body: await res.json().catch(() => null) as unknown };
  };
  const ok = (status: number) => status >= 200 && status < 300;

  for (const role of allRoles) {
    it(`${role}: every route answers as the table says`, async () => {
      const wrong: string[] = [];
      const check = (route: string, what: string, got: number, want: number | 'ok') => {
        if (want === 'ok' ? !ok(got) : got !== want) wrong.push(`${route} ${what}: got ${got}, want ${want}`);
      };
      for (const [route, row] of Object.entries(matrix)) {
        if (row.kind === 'elsewhere') continue;
        if (row.kind === 'public') {
          const res = await fetch(`${gw.urls.httpUrl}${row.url}`);
          await res.arrayBuffer();
          check(route, 'without a token', res.status, 'ok');
          continue;
        }
        const allowed = row.roles.includes(role);
        if (row.kind === 'any') {
          check(route, '', (await send(await row.call(), role)).status, allowed ? 'ok' : 403);
        } else if (row.kind === 'list') {
          const res = await send(row.call(), role);
          check(route, '', res.status, allowed ? 200 : 403);
          if (allowed && res.status === 200) {
            const ids = new Set((res.body as unknown[]).map(row.idOf));
            const want = row.ids(role);
            const seesOther = role === 'admin' || (row.otherVisibleTo ?? []).includes(role);
            if (!ids.has(want.own)) wrong.push(`${route}: own ${want.own} missing`);
            if (ids.has(want.other) !== seesOther) wrong.push(`${route}: other ${want.other} ${seesOther ? 'missing' : 'leaked'}`);
          }
        } else {
          const seesOther = role === 'admin' || (row.otherVisibleTo ?? []).includes(role);
          const outOfScope = row.kind === 'create' ? 400 : 404;
          check(route, 'own', (await send(await row.call('own', role), role)).status, allowed ? 'ok' : 403);
          check(route, 'other', (await send(await row.call('other', role), role)).status, allowed ? (seesOther ? 'ok' : outOfScope) : 403);
        }
      }
      expect(wrong).toEqual([]);
    });
  }

  it('without a token every /api/v1 route but login answers 401', async () => {
    const unauthenticated: string[] = [];
    for (const route of gw.app.api.routeTable.filter((r) => r.includes('/api/v1/') && r !== 'POST /api/v1/auth/login')) {
      const [method, path] = route.split(' ') as [string, string];
      const res = await gw.api(method, path.replace(/:id/g, 'x'), method === 'GET' ? undefined : {}, null);
      if (res.status !== 401) unauthenticated.push(`${route}: ${res.status}`);
    }
    expect(unauthenticated).toEqual([]);
  });
});
