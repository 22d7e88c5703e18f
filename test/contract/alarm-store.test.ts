import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Alarm } from '../../src/core/alarm.ts';
import type { Tx } from '../../src/core/tx.ts';
import { AlarmRepository, openKey } from '../../src/alarms/repository.ts';
import { OutboxRepository } from '../../src/alarms/outbox-repository.ts';
import { EscalationStepRepository } from '../../src/escalation/steps-repository.ts';
import type { Delivery } from '../../src/escalation/targets.ts';
import { DeviceEventRepository } from '../../src/store/device-events.ts';
import { RuleStateRepository } from '../../src/store/rule-state.ts';
import { numberedParameters, type SqlClient } from '../../src/store/sql-client.ts';
import { UnitOfWork } from '../../src/store/unit-of-work.ts';
import { migratePostgres, postgresMigrations } from '../../src/store/postgres/migrations.ts';
import { buildCore } from '../helpers/core.ts';
import { VisitRepository } from '../../src/care/visits.ts';
import { ServiceRequestRepository } from '../../src/care/service-requests.ts';
import { DeviceTestRepository } from '../../src/care/device-tests.ts';
import { ReportRepository } from '../../src/jobs/reports-repository.ts';
import { backends } from '../helpers/store-backends.ts';
import { NodeRepository } from '../../src/store/nodes.ts';
import { DeviceOwnerRepository } from '../../src/store/device-owners.ts';
import { StationRepository, type Station } from '../../src/store/stations.ts';
import { ProviderRepository, UserRepository, type User } from '../../src/store/users.ts';
import { ApiTokenRepository } from '../../src/store/api-tokens.ts';
import { ResidentRepository, type Resident } from '../../src/store/residents.ts';
import { DeviceRepository, type DeviceRecord } from '../../src/store/devices.ts';
import { DeadLetterRepository } from '../../src/store/dead-letters.ts';
import { JobRunRepository } from '../../src/jobs/job-runs.ts';
import { RuleEvaluator } from '../../src/rules/evaluator.ts';
import { IntentApplier } from '../../src/alarms/apply-intents.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { Core } from '../helpers/core.ts';

/**
 * The alarm core's store contract, run unchanged against every backend:
 * embedded SQLite (what a single gateway uses) and PostgreSQL (what several
 * nodes share). Each backend starts empty for each test.
 */

const alarm = (id: string, patch: Partial<Alarm> = {}): Alarm => ({
  id,
  type: 'sos',
  severity: 'critical',
  state: 'open',
  residentId: 'res-1',
  deviceId: 'pendant-1',
  stationId: 'community-1',
  raisedAt: 1_000,
  updatedAt: 1_000,
  count: 1,
  escalationLevel: 0,
  policy: 'critical',
  detail: { button: 1 },
  acknowledgedAt: null,
  acknowledgedBy: null,
  resolvedAt: null,
  resolvedBy: null,
  outcome: null,
  assignedTo: null,
  responses: [],
  onSiteAt: null,
  onSiteBy: null,
  ...patch,
});

const console1: Delivery = { channel: 'console', target: { kind: 'station', id: 'community-1', name: '江汉社区', level: 'community' } };
const hook: Delivery = { channel: 'webhook', target: { kind: 'contact', name: '王强', relation: 'son', phone: '13800000000', priority: 1 }, url: 'http://127.0.0.1:9/son' };
const stationHook: Delivery = { channel: 'webhook', target: { kind: 'station', id: 'street-1', name: '西兴街道', level: 'street' }, url: 'http://127.0.0.1:9/street' };

it('numbers parameters for PostgreSQL, leaving a question mark inside a string alone', () => {
  expect(numberedParameters("SELECT * FROM t WHERE a = ? AND b = '?' AND c IN (?, ?)")).toBe("SELECT * FROM t WHERE a = $1 AND b = '?' AND c IN ($2, $3)");
});

for (const backend of backends()) {
  describe(`the alarm core's store on ${backend.name}`, () => {
    let sql: SqlClient;
    let uow: UnitOfWork;
    beforeAll(() => backend.start(), 60_000);
    afterAll(() => backend.stop());
    beforeEach(async () => {
      sql = await backend.fresh();
      uow = new UnitOfWork(sql);
    });

    describe('the client', () => {
      it('binds parameters and reads integers back as numbers', async () => {
        await new RuleStateRepository(sql).save('dev-1', 'silence', '{"active":true}', 1_767_225_600_000);
        const row = await sql.get<{ state: string; updated_at: number }>('SELECT state, updated_at FROM rule_state WHERE subject = ? AND rule = ?', ['dev-1', 'silence']);
        expect(row).toEqual({ state: '{"active":true}', updated_at: 1_767_225_600_000 });
        expect(await sql.get('SELECT state FROM rule_state WHERE subject = ?', ['nobody'])).toBeUndefined();
        expect((await sql.run("UPDATE rule_state SET state = '?' WHERE subject = ?", ['dev-1'])).changes).toBe(1);
      });

      it('commits a transaction whole, and a throw rolls all of it back', async () => {
        const states = new RuleStateRepository(sql);
        await uow.transaction(async (tx) => {
          await states.in(tx).save('a', 'r', '1', 1);
          await states.in(tx).save('b', 'r', '2', 1);
        });
        await expect(
          uow.transaction(async (tx) => {
            await states.in(tx).save('c', 'r', '3', 1);
            throw new Error('disk full');
          }),
        ).rejects.toThrow('disk full');
        expect((await states.all()).map((r) => r.subject).sort()).toEqual(['a', 'b']);
      });

      it('a reader outside an open transaction never sees what it rolls back', async () => {
        const states = new RuleStateRepository(sql);
        let outside: Promise<unknown> | undefined;
        await expect(
          uow.transaction(async (tx) => {
            await states.in(tx).save('ghost', 'r', '1', 1);
            outside = sql.get('SELECT subject FROM rule_state WHERE subject = ?', ['ghost']);
            throw new Error('rolled back');
          }),
        ).rejects.toThrow('rolled back');
        expect(await outside).toBeUndefined();
      });

      it('joins an enclosing transaction, and effects run once, after the outermost commit, only if it commits', async () => {
        const states = new RuleStateRepository(sql);
        const effects: string[] = [];
        await uow.transaction(async (outer) => {
          await uow.transaction(async (inner) => {
            await states.in(inner).save('joined', 'r', '1', 1);
            inner.afterCommit(() => effects.push('inner'));
          }, outer);
          outer.afterCommit(() => effects.push('outer'));
          expect(effects).toEqual([]);
        });
        expect(effects).toEqual(['inner', 'outer']);
        await expect(
          uow.transaction(async (outer) => {
            await uow.transaction(async (inner) => {
              await states.in(inner).save('dropped', 'r', '1', 1);
              inner.afterCommit(() => effects.push('never'));
            }, outer);
            throw new Error('outer fails');
          }),
        ).rejects.toThrow('outer fails');
        expect(effects).toEqual(['inner', 'outer']);
        expect((await states.all()).map((r) => r.subject)).toEqual(['joined']);
      });
    });

    describe('alarms and their timelines', () => {
      let alarms: AlarmRepository;
      beforeEach(() => {
        alarms = new AlarmRepository(sql);
      });

      it('stores an alarm as it was given, finds it by its open key, and frees the key once resolved', async () => {
        await alarms.insert(alarm('alm-1'), openKey('pendant-1', 'sos'));
        expect(await alarms.get('alm-1')).toEqual(alarm('alm-1'));
        expect((await alarms.findOpen(openKey('pendant-1', 'sos')))?.id).toBe('alm-1');
        await expect(alarms.insert(alarm('alm-2'), openKey('pendant-1', 'sos'))).rejects.toThrow(); // one open alarm per subject and type
        await alarms.resolve('alm-1', 'nurse', 'false_alarm', 2_000);
        expect(await alarms.findOpen(openKey('pendant-1', 'sos'))).toBeUndefined();
        await alarms.insert(alarm('alm-2'), openKey('pendant-1', 'sos'));
        expect(await alarms.get('alm-1')).toMatchObject({ state: 'resolved', resolvedBy: 'nurse', resolvedAt: 2_000, outcome: 'false_alarm' });
      });

      it('changes: a repeat counts, escalation never goes down, the first responder on site is kept, answers are stored', async () => {
        await alarms.insert(alarm('alm-1'), 'k');
        await alarms.repeated('alm-1', 1_500);
        await alarms.setEscalationLevel('alm-1', 2, 1_600);
        await alarms.setEscalationLevel('alm-1', 1, 1_700);
        await alarms.onSite('alm-1', 'son', 1_800);
        await alarms.onSite('alm-1', 'doctor', 1_900);
        await alarms.assign('alm-1', 'nurse.li', 1_950);
        await alarms.setResponses('alm-1', [{ name: '王强', relation: 'son', going: true, etaMinutes: 20, at: 1_960, recordedBy: 'family:wq' }], 1_960);
        await alarms.raiseSeverity('alm-1', 'critical', 'critical-lives-alone', 1_970);
        await alarms.acknowledge('alm-1', 'nurse.li', 2_000);
        expect(await alarms.get('alm-1')).toMatchObject({
          count: 2,
          escalationLevel: 2,
          onSiteBy: 'son',
          onSiteAt: 1_800,
          assignedTo: 'nurse.li',
          responses: [{ name: '王强', going: true, etaMinutes: 20 }],
          policy: 'critical-lives-alone',
          state: 'acknowledged',
          acknowledgedAt: 2_000,
          updatedAt: 2_000,
        });
      });

      it('keeps the timeline in order; an entry can be read back and rewritten', async () => {
        await alarms.insert(alarm('alm-1'), 'k');
        const first = await alarms.addTimeline('alm-1', 1_000, 'raised', 'device', { button: 1 });
        const second = await alarms.addTimeline('alm-1', 1_001, 'notify_failed', 'system', { attempts: 1 });
        await alarms.addTimeline('alm-1', 1_002, 'acknowledged', 'nurse');
        expect(second).toBeGreaterThan(first);
        await alarms.updateTimelineDetail(second, { attempts: 2 });
        expect(await alarms.timelineEntry(second)).toEqual({ at: 1_001, kind: 'notify_failed', actor: 'system', detail: { attempts: 2 } });
        expect((await alarms.timeline('alm-1')).map((e) => [e.kind, e.detail])).toEqual([
          ['raised', { button: 1 }],
          ['notify_failed', { attempts: 2 }],
          ['acknowledged', null],
        ]);
      });

      it('lists critical first, then the longest waiting; filters by state, station, scope and time; pages', async () => {
        await alarms.insert(alarm('minor-old', { severity: 'minor', raisedAt: 100 }), 'a');
        await alarms.insert(alarm('crit-new', { raisedAt: 300 }), 'b');
        await alarms.insert(alarm('crit-old', { raisedAt: 200 }), 'c');
        await alarms.insert(alarm('other-station', { stationId: 'community-2', raisedAt: 150, residentId: 'res-2', deviceId: 'pendant-2' }), 'd');
        await alarms.resolve('minor-old', 'n', 'other', 400);
        expect((await alarms.list({ limit: 10 })).map((a) => a.id)).toEqual(['other-station', 'crit-old', 'crit-new', 'minor-old']);
        expect((await alarms.list({ limit: 10, state: 'open', stationIds: ['community-1'] })).map((a) => a.id)).toEqual(['crit-old', 'crit-new']);
        expect((await alarms.list({ limit: 10, stationIds: [] })).map((a) => a.id)).toEqual([]);
        expect((await alarms.list({ limit: 10, within: { residentIds: ['res-2'], deviceIds: [] } })).map((a) => a.id)).toEqual(['other-station']);
        expect((await alarms.list({ limit: 10, from: 150, to: 300 })).map((a) => a.id)).toEqual(['other-station', 'crit-old']);
        expect((await alarms.list({ limit: 1, offset: 1 })).map((a) => a.id)).toEqual(['crit-old']);
        expect((await alarms.list({ limit: 10, state: 'resolved' })).map((a) => a.id)).toEqual(['minor-old']);
        expect(await alarms.countOpenBySeverity()).toEqual({ critical: 3 });
        expect((await alarms.forStatistics(['community-1'], 0, 1_000)).map((r) => [r.type, r.severity, r.raised_at, r.outcome]).sort()).toEqual([
          ['sos', 'critical', 200, null],
          ['sos', 'critical', 300, null],
          ['sos', 'minor', 100, 'other'],
        ]);
      });
    });

    describe('the outbox and the ladder', () => {
      let outbox: OutboxRepository;
      let steps: EscalationStepRepository;
      beforeEach(async () => {
        await new AlarmRepository(sql).insert(alarm('alm-1'), 'k');
        outbox = new OutboxRepository(sql);
        steps = new EscalationStepRepository(sql);
      });

      it('owes deliveries in order of their next attempt; records delivery, retry and failure', async () => {
        await outbox.enqueue('alm-1', 'alarm.raised', 0, [console1, hook], 1_000);
        const [a, b] = await outbox.due(1_000);
        expect([a!.delivery, b!.delivery]).toEqual([console1, hook]);
        expect(a).toMatchObject({ alarmId: 'alm-1', event: 'alarm.raised', step: 0, status: 'pending', attempts: 0, nextAttemptAt: 1_000, failureEntry: null });
        await outbox.delivered(a!.id, 1, 1_010);
        await outbox.retry(b!.id, 1, 3_000, 'ECONNREFUSED', 7);
        expect(await outbox.due(2_000)).toEqual([]);
        expect(await outbox.due(3_000)).toMatchObject([{ id: b!.id, attempts: 1, lastError: 'ECONNREFUSED', failureEntry: 7 }]);
        expect(await outbox.pendingCount()).toBe(1);
        await outbox.failed(b!.id, 8, 'gave up');
        expect((await outbox.forAlarm('alm-1')).map((i) => [i.status, i.attempts, i.deliveredAt])).toEqual([
          ['delivered', 1, 1_010],
          ['failed', 8, null],
        ]);
        expect(await outbox.pendingCount()).toBe(0);
      });

      it('leases each due delivery to one node: two nodes claiming at once split them, none twice; an expired lease or a finished attempt frees it', async () => {
        const many = Array.from({ length: 40 }, (_, i): Delivery => ({ channel: 'webhook', target: { kind: 'contact', name: `c${i}`, relation: 'son', phone: '13800000000', priority: 1 }, url: `http://127.0.0.1:9/${i}` }));
        await outbox.enqueue('alm-1', 'alarm.raised', 0, many, 1_000);
        const other = new OutboxRepository(await backend.another());
        // Both nodes claim together, several times over: every delivery is taken by exactly one.
        const claims = await Promise.all([outbox.claim('node-a', 1_000, 61_000, 7), other.claim('node-b', 1_000, 61_000, 7), outbox.claim('node-a', 1_000, 61_000, 7), other.claim('node-b', 1_000, 61_000, 7)]);
        const taken = claims.flat().map((i) => i.id);
        expect(new Set(taken).size).toBe(taken.length);
        expect(taken).toHaveLength(28);
        const rest = [...(await outbox.claim('node-a', 1_000, 61_000)), ...(await other.claim('node-b', 1_000, 61_000))];
        expect(new Set([...taken, ...rest.map((i) => i.id)]).size).toBe(40);
        expect(await outbox.claim('node-b', 30_000, 90_000)).toEqual([]); // all held
        // A finished attempt frees its delivery (a retry is claimable at its next attempt); a node that died holds its own until the lease ends.
        const [first, second] = claims[0]!;
        await outbox.retry(first!.id, 1, 2_000, 'ECONNREFUSED', 1);
        await outbox.delivered(second!.id, 1, 1_500);
        expect((await other.claim('node-b', 30_000, 90_000)).map((i) => i.id)).toEqual([first!.id]);
        const afterLease = await other.claim('node-b', 61_000, 121_000);
        expect(afterLease).toHaveLength(38);
        expect(afterLease.map((i) => i.id)).not.toContain(second!.id);
        // A node starting again lets go of what it held.
        expect(await other.releaseLeases('node-b')).toBe(39);
        expect(await outbox.claim('node-a', 61_000, 121_000)).toHaveLength(39);
        // A node started under another name (a container made again): on the embedded store, the only node, it lets go of everything;
        // on a shared database it leaves other nodes' leases alone.
        expect(await outbox.releaseLeases('node-a-renamed')).toBe(backend.dialect === 'sqlite' ? 39 : 0);
      });

      it('withdraws pending alerts but not notices, and names who was told (once each)', async () => {
        await outbox.enqueue('alm-1', 'alarm.raised', 0, [console1, hook], 1_000);
        await outbox.enqueue('alm-1', 'alarm.reminder', 1, [hook], 1_100);
        await outbox.enqueue('alm-1', 'alarm.acknowledged', 0, [hook], 1_200);
        const [, raisedHook, reminder] = await outbox.forAlarm('alm-1');
        await outbox.delivered(raisedHook!.id, 1, 1_001);
        await outbox.delivered(reminder!.id, 1, 1_101);
        expect(await outbox.cancelAlerts('alm-1')).toBe(1); // the console alert; the acknowledgement notice stays
        expect((await outbox.forAlarm('alm-1')).map((i) => `${i.event}:${i.status}`)).toEqual(['alarm.raised:cancelled', 'alarm.raised:delivered', 'alarm.reminder:delivered', 'alarm.acknowledged:pending']);
        expect(await outbox.toldAboutAlarm('alm-1')).toEqual([hook]);
        // A station's system keeps the record: its alarm and steps are still owed (its receiver was down), its reminders are not.
        await new AlarmRepository(sql).insert(alarm('alm-2'), 'k2');
        await outbox.enqueue('alm-2', 'alarm.raised', 0, [stationHook, hook], 2_000);
        await outbox.enqueue('alm-2', 'alarm.escalated', 1, [stationHook], 2_100);
        await outbox.enqueue('alm-2', 'alarm.reminder', 2, [stationHook], 2_200);
        expect(await outbox.cancelAlerts('alm-2')).toBe(2);
        expect((await outbox.forAlarm('alm-2')).map((i) => `${i.event}:${i.delivery.target.kind}:${i.status}`)).toEqual([
          'alarm.raised:station:pending',
          'alarm.raised:contact:cancelled',
          'alarm.escalated:station:pending',
          'alarm.reminder:station:cancelled',
        ]);
        expect(await outbox.cancelAlerts('alm-2')).toBe(0);
      });

      it('fires a deadline once: a second run finds it done', async () => {
        await steps.schedule('alm-1', 1, 'step', 61_000);
        await steps.schedule('alm-1', 2, 'step', 181_000);
        await steps.schedule('alm-1', 3, 'reminder', 301_000);
        expect((await steps.due(200_000)).map((s) => s.step)).toEqual([1, 2]);
        const [first] = await steps.due(200_000);
        expect(await steps.done(first!.id, 200_000)).toBe(true);
        expect(await steps.done(first!.id, 200_001)).toBe(false);
        expect((await steps.pendingFor('alm-1')).map((s) => [s.step, s.kind, s.dueAt])).toEqual([
          [2, 'step', 181_000],
          [3, 'reminder', 301_000],
        ]);
        expect(await steps.cancelFor('alm-1')).toBe(2);
        expect(await steps.due(Number.MAX_SAFE_INTEGER)).toEqual([]);
      });
    });

    describe('the station tree', () => {
      const station = (id: string, level: Station['level'], parentId: string | null, createdAt: number): Station => ({ id, name: `${id} name`, level, parentId, webhookUrl: null, responsePlans: {}, createdAt });

      it('keeps the tree in memory as the store has it: scopes below, chains above, plans inherited, and a second node reads the same after load()', async () => {
        const stations = new StationRepository(sql);
        await stations.load();
        await stations.insert(station('d', 'district', null, 1));
        await stations.insert(station('s2', 'street', 'd', 3));
        await stations.insert(station('s1', 'street', 'd', 2));
        await stations.insert(station('c1', 'community', 's1', 4));
        await stations.insert(station('c2', 'community', 's1', 5));
        await stations.insert(station('c3', 'community', 's2', 6));
        expect(stations.list().map((s) => s.id)).toEqual(['d', 's1', 's2', 'c1', 'c2', 'c3']);
        expect(stations.subtree('s1').sort()).toEqual(['c1', 'c2', 's1']);
        expect(stations.subtree('d')).toHaveLength(6);
        expect(stations.chain('c3').map((s) => s.id)).toEqual(['c3', 's2', 'd']);
        expect(stations.chain('nowhere')).toEqual([]);

        await stations.update('c1', { name: '江汉社区', webhookUrl: 'http://127.0.0.1:9/c1' });
        await stations.update('c1', { webhookUrl: null });
        await stations.setResponsePlans('s1', { fall: '先电话确认' });
        await stations.setVisitPlans('d', { lives_alone: [{ kind: 'home', everyDays: 30 }] });
        await stations.setVisitPlans('c1', { lives_alone: [{ kind: 'phone', everyDays: 7 }] });
        expect(stations.get('c1')).toMatchObject({ name: '江汉社区', webhookUrl: null });
        expect(stations.responsePlan('c1', 'fall')).toEqual({ plan: '先电话确认', stationId: 's1' });
        expect(stations.responsePlan('c3', 'fall')).toBeNull();
        expect(stations.visitPlans('c1')).toEqual({ lives_alone: [{ kind: 'phone', everyDays: 7 }] });
        expect(stations.visitPlans('c2')).toEqual({ lives_alone: [{ kind: 'home', everyDays: 30 }] });

        // What another node reads from the store is what this one keeps in memory.
        const other = new StationRepository(await backend.another());
        await other.load();
        for (const id of ['d', 's1', 's2', 'c1', 'c2', 'c3']) expect(other.get(id)).toEqual(stations.get(id));
        expect(other.list().map((s) => s.id)).toEqual(stations.list().map((s) => s.id));
        expect(other.visitPlans('c1')).toEqual(stations.visitPlans('c1'));
      });

      if (backend.dialect === 'postgres') {
        it('a change one node makes to the stations or the providers is read by the others at once (NOTIFY), and only the change of another node', async () => {
          const [a, b] = [await backend.another(), await backend.another()];
          const [stationsA, stationsB] = [new StationRepository(a), new StationRepository(b)];
          const [providersA, providersB] = [new ProviderRepository(a), new ProviderRepository(b)];
          await Promise.all([stationsA.load(), stationsB.load(), providersA.load(), providersB.load()]);
          let reloaded = stationsB.nextReload();
          await stationsA.insert(station('d', 'district', null, 1));
          await reloaded;
          expect(stationsB.get('d')).toEqual(stationsA.get('d'));
          reloaded = stationsA.nextReload();
          await stationsB.insert(station('s', 'street', 'd', 2));
          await reloaded;
          expect(stationsA.subtree('d')).toEqual(['d', 's']);
          reloaded = stationsB.nextReload();
          await stationsA.setResponsePlans('d', { fall: '先电话确认' });
          await reloaded;
          expect(stationsB.responsePlan('s', 'fall')).toEqual({ plan: '先电话确认', stationId: 'd' });
          const providerSeen = providersB.nextReload();
          await providersA.insert({ id: 'prv-1', name: '颐康居家服务', webhookUrl: null, createdAt: 1 });
          await providerSeen;
          expect(providersB.get('prv-1')?.name).toBe('颐康居家服务');
          // A node does not read its own change again: A's notices reach its own listener before B's later one, and only B's made A read.
          const seenByB = providersB.nextReload();
          await providersA.setWebhookUrl('prv-1', 'http://127.0.0.1:9/p');
          await seenByB;
          expect(providersB.get('prv-1')?.webhookUrl).toBe('http://127.0.0.1:9/p');
          const seenByA = providersA.nextReload();
          await providersB.insert({ id: 'prv-2', name: '福寿家庭养老', webhookUrl: null, createdAt: 2 });
          await seenByA;
          expect(providersA.reloads).toBe(1);
          expect(providersA.list().map((p) => p.id)).toEqual(['prv-2', 'prv-1']);
        });

        it("a notice sent inside a transaction is delivered with its commit, never after a rollback; a barrier comes back after every notice committed before it", async () => {
          const [a, b] = [await backend.another(), await backend.another()];
          const heard: string[] = [];
          await a.listen!('carebell_probe', (payload) => void heard.push(payload!));
          await expect(
            new UnitOfWork(b).transaction(async (tx) => {
              await tx.announce!('carebell_probe', 'rolled back');
              throw new Error('no');
            }),
          ).rejects.toThrow('no');
          await new UnitOfWork(b).transaction(async (tx) => {
            await tx.announce!('carebell_probe', 'committed');
            expect(heard).toEqual([]); // not before the commit
          });
          await b.notify!('carebell_probe', 'outside');
          await a.barrier!();
          expect(heard).toEqual(['committed', 'outside']);
        });

        it('a notice a handler cannot read stops neither the listening connection nor the process', async () => {
          const [a, b] = [await backend.another(), await backend.another()];
          const heard: string[] = [];
          let next!: () => void;
          let arrived = new Promise<void>((resolve) => (next = resolve));
          await a.listen!('carebell_probe', (payload) => {
            const value = JSON.parse(payload!) as { n: number }; // throws on what is not JSON
            heard.push(String(value.n));
            next();
          });
          await b.notify!('carebell_probe', 'not json');
          await b.notify!('carebell_probe', '{"n": 2}');
          await arrived;
          arrived = new Promise<void>((resolve) => (next = resolve));
          await b.notify!('carebell_probe', '{"n": 3}');
          await arrived;
          expect(heard).toEqual(['2', '3']);
        });

        it('a node whose listening connection was cut listens again and reads what changed meanwhile', async () => {
          const [a, b] = [await backend.another(), await backend.another()];
          const [stationsA, stationsB] = [new StationRepository(a), new StationRepository(b)];
          await Promise.all([stationsA.load(), stationsB.load()]);
          // Cut every listening connection (B's among them), then change the tree while B cannot hear it.
          const cut = await sql.all<{ cut: boolean }>("SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE application_name = 'carebell-listen'");
          expect(cut.length).toBeGreaterThanOrEqual(2);
          const reloaded = stationsB.nextReload();
          await stationsA.insert(station('d', 'district', null, 1));
          await reloaded; // B listens again (within a second or two) and reads the tree whole
          expect(stationsB.get('d')?.name).toBe('d name');
        });
      }

      it('keeps nothing in memory that the store refused', async () => {
        const stations = new StationRepository(sql);
        await stations.load();
        await stations.insert(station('d', 'district', null, 1));
        await expect(stations.insert(station('d', 'district', null, 2))).rejects.toThrow(); // the id is taken
        await expect(stations.insert(station('x', 'street', 'no-such-parent', 3))).rejects.toThrow(); // the parent must exist
        expect(stations.list().map((s) => s.id)).toEqual(['d']);
      });
    });

    describe('residents', () => {
      const resident = (id: string, patch: Partial<Resident> = {}): Resident => ({
        id,
        name: `${id} name`,
        address: '江汉路 12 号',
        stationId: 'c1',
        providerId: null,
        livesAlone: true,
        capabilityLevel: 2,
        timezone: 'Asia/Shanghai',
        notes: null,
        settings: {},
        careRecord: { allergies: ['青霉素'] },
        contacts: [
          { name: '王芳', relation: 'daughter', phone: '13900000002', priority: 2, webhookUrl: null },
          { name: '王强', relation: 'son', phone: '13800000001', priority: 1, webhookUrl: 'http://127.0.0.1:9/son' },
        ],
        createdAt: 10,
        deactivatedAt: null,
        deactivation: null,
        birthDate: '1941-03-02',
        categories: ['lives_alone', 'low_income'],
        capabilityAssessedAt: '2026-01-05',
        visitPlan: [{ kind: 'phone', everyDays: 7 }],
        phone: '0571-8888',
        ...patch,
      });

      it('keeps residents with their contacts (in priority order) as the store has them; a change is whole or not at all', async () => {
        const stations = new StationRepository(sql);
        await stations.insert({ id: 'c1', name: 'C', level: 'community', parentId: null, webhookUrl: null, responsePlans: {}, createdAt: 1 });
        await stations.insert({ id: 'c2', name: 'C2', level: 'community', parentId: null, webhookUrl: null, responsePlans: {}, createdAt: 2 });
        const residents = new ResidentRepository(sql);
        await residents.load();
        await residents.insert(resident('r2', { createdAt: 20, stationId: 'c2' }));
        await residents.insert(resident('r1'));
        await expect(residents.insert(resident('r3', { stationId: 'nowhere' }))).rejects.toThrow(); // the station must exist
        expect(residents.get('r3')).toBeUndefined();
        expect(residents.list().map((r) => r.id)).toEqual(['r1', 'r2']);
        expect(residents.list({ stationId: 'c2' }).map((r) => r.id)).toEqual(['r2']);
        expect(residents.get('r1')!.contacts.map((c) => c.name)).toEqual(['王强', '王芳']);

        // A copy: changing what was read changes nothing kept.
        residents.get('r1')!.contacts.pop();
        expect(residents.get('r1')!.contacts).toHaveLength(2);

        await residents.update('r1', { name: '王秀英', livesAlone: false, categories: ['empty_nest'], contacts: [{ name: '李明', relation: 'son', phone: '1', priority: 1, webhookUrl: null }], visitPlan: null });
        await residents.updateSettings('r1', { cancelWindowSeconds: 45 });
        expect(await residents.deactivate('r2', { reason: 'moved_away', note: null, by: 'admin:admin' }, 99)).toBe(true);
        expect(await residents.deactivate('r2', { reason: 'died', note: null, by: 'admin:admin' }, 100)).toBe(false); // left already
        // A contact the store refuses (no phone) leaves the resident as they were: the whole change is undone.
        await expect(residents.update('r1', { name: 'X', contacts: [{ name: 'no phone', relation: 'son', phone: null as never, priority: 1, webhookUrl: null }] })).rejects.toThrow();
        expect(residents.get('r1')!.name).toBe('王秀英');

        // What another node (or a restart) reads from the store is what is kept in memory.
        const other = new ResidentRepository(await backend.another());
        await other.load();
        for (const id of ['r1', 'r2']) expect(other.get(id)).toEqual(residents.get(id));
        expect(other.get('r1')).toMatchObject({ name: '王秀英', livesAlone: false, categories: ['empty_nest'], visitPlan: null, settings: { cancelWindowSeconds: 45 }, contacts: [{ name: '李明' }] });
        expect(other.get('r2')).toMatchObject({ deactivatedAt: 99, deactivation: { reason: 'moved_away' }, careRecord: { allergies: ['青霉素'] }, birthDate: '1941-03-02' });
      });

      it("a resident added within a unit of work is kept only once it commits", async () => {
        const stations = new StationRepository(sql);
        await stations.insert({ id: 'c1', name: 'C', level: 'community', parentId: null, webhookUrl: null, responsePlans: {}, createdAt: 1 });
        const residents = new ResidentRepository(sql);
        await residents.load();
        await expect(
          uow.transaction(async (tx) => {
            await residents.insert(resident('r1'), tx);
            throw new Error('the next row was invalid');
          }),
        ).rejects.toThrow('the next row');
        expect(residents.get('r1')).toBeUndefined();
        expect(await sql.get('SELECT id FROM residents WHERE id = ?', ['r1'])).toBeUndefined();
        await uow.transaction((tx) => residents.insert(resident('r1'), tx));
        expect(residents.get('r1')?.name).toBe('r1 name');
      });
    });

    describe('devices', () => {
      const device = (id: string, patch: Partial<DeviceRecord> = {}): DeviceRecord => ({
        id,
        profileId: 'carebell-sos-pendant',
        residentId: null,
        stationId: 'c1',
        providerId: null,
        secretHash: 'hmac$x',
        online: false,
        lastSeen: null,
        battery: null,
        firstMessageAt: null,
        createdAt: 5,
        decommissionedAt: null,
        ...patch,
      });

      it("keeps devices' records; writes many devices' live state at once (the first message's time only once); decommissions once", async () => {
        await new StationRepository(sql).insert({ id: 'c1', name: 'C', level: 'community', parentId: null, webhookUrl: null, responsePlans: {}, createdAt: 1 });
        const devices = new DeviceRepository(sql);
        for (let i = 0; i < 450; i++) await devices.insert(device(`d-${String(i).padStart(3, '0')}`, { createdAt: i }));
        await expect(devices.insert(device('d-000'))).rejects.toThrow(); // the id is taken
        await expect(devices.insert(device('d-x', { stationId: 'nowhere' }))).rejects.toThrow(); // the station must exist
        // More rows than one statement takes: three statements, one transaction.
        await devices.saveLiveState(Array.from({ length: 450 }, (_, i) => ({ id: `d-${String(i).padStart(3, '0')}`, online: i % 2 === 0, lastSeen: 1_000 + i, battery: i % 3 === 0 ? null : 87.5, firstMessageAt: 900 })));
        await devices.saveLiveState([{ id: 'd-007', online: true, lastSeen: 5_000, battery: 12, firstMessageAt: 4_000 }]);
        expect(await devices.get('d-007')).toEqual(device('d-007', { createdAt: 7, online: true, lastSeen: 5_000, battery: 12, firstMessageAt: 900 }));
        expect(await devices.get('d-449')).toMatchObject({ online: false, lastSeen: 1_449, battery: 87.5 });
        expect(await devices.get('d-003')).toMatchObject({ online: false, battery: null });
        await devices.setSecretHash('d-001', 'hmac$y');
        await devices.decommission('d-001', 60);
        await devices.decommission('d-001', 70);
        expect(await devices.get('d-001')).toMatchObject({ secretHash: 'hmac$y', decommissionedAt: 60, online: false });
        await new DeviceOwnerRepository(sql).claim('d-002', 'node-b', 1);
        await devices.markOffline('node-a'); // held by nobody or by another node: left as they are
        expect((await devices.get('d-002'))!.online).toBe(true);
        await devices.markOffline('node-b');
        expect((await devices.get('d-002'))!.online).toBe(false);
        expect((await devices.get('d-004'))!.online).toBe(true);
        await devices.markOffline();
        const all = await devices.list();
        expect(all).toHaveLength(450);
        expect(all[0]!.id).toBe('d-000');
        expect(all.filter((d) => d.online)).toEqual([]);
        expect(await devices.get('nope')).toBeUndefined();
      });
    });

    describe('scheduled jobs', () => {
      it('gives each occurrence of a job to one node: the first claim wins, even when several nodes claim at once', async () => {
        const runs = [new JobRunRepository(await backend.another()), new JobRunRepository(await backend.another()), new JobRunRepository(await backend.another())];
        const at = Date.UTC(2026, 11, 2, 1, 0);
        const won = await Promise.all(runs.map((r, i) => r.claim('device-health', at, `node-${i}`, at + i)));
        expect(won.filter(Boolean)).toHaveLength(1);
        expect(await runs[0]!.ranBy('device-health', at)).toBe(`node-${won.indexOf(true)}`);
        expect(await runs[1]!.claim('device-health', at + 86_400_000, 'node-1', at)).toBe(true); // the next day's is another occurrence
        expect(await runs[2]!.claim('retention', at, 'node-2', at)).toBe(true); // and another job's
        expect(await runs[0]!.pruneBefore(at + 1)).toBe(2);
        expect(await runs[0]!.ranBy('device-health', at)).toBeUndefined();
      });
    });

    describe('dead letters', () => {
      it('keeps the bytes and the reason; lists the newest first, by device, code, time and page; counts; prunes', async () => {
        const letters = new DeadLetterRepository(sql);
        const bytes = Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x22]); // not text: kept byte for byte
        const ids: number[] = [];
        for (let i = 0; i < 5; i++) {
          ids.push(await letters.insert({ receivedAt: 1_000 + i, deviceId: i < 3 ? 'band-1' : 'band-2', topic: 'devices/x/telemetry', payload: bytes, payloadSize: 70_000, code: i % 2 ? 'bad_json' : 'too_large', reason: `reason ${i}`, partial: i === 4 }));
        }
        expect(new Set(ids).size).toBe(5);
        const newest = await letters.list({ limit: 2 });
        expect(newest.map((d) => d.reason)).toEqual(['reason 4', 'reason 3']);
        expect(newest[0]).toMatchObject({ deviceId: 'band-2', payloadSize: 70_000, partial: true, receivedAt: 1_004 });
        expect(newest[0]!.payload.equals(bytes)).toBe(true);
        expect((await letters.list({ limit: 10, before: newest[1]!.id })).map((d) => d.reason)).toEqual(['reason 2', 'reason 1', 'reason 0']);
        expect((await letters.list({ limit: 10, deviceId: 'band-1', code: 'too_large' })).map((d) => d.reason)).toEqual(['reason 2', 'reason 0']);
        expect((await letters.list({ limit: 10, deviceIds: [] }))).toEqual([]);
        expect((await letters.list({ limit: 10, deviceIds: ['band-2'], since: 1_004 })).map((d) => d.reason)).toEqual(['reason 4']);
        expect(await letters.count()).toBe(5);
        expect(await letters.count('band-1')).toBe(3);
        expect(await letters.countByDeviceSince(1_002)).toEqual(new Map([['band-1', 1], ['band-2', 2]]));
        expect(await letters.pruneBefore(1_003)).toBe(3);
        expect(await letters.count()).toBe(2);
      });
    });

    describe('accounts', () => {
      const user = (id: string, username: string, patch: Partial<User> = {}): User => ({
        id,
        username,
        passwordHash: 'scrypt$hash',
        role: 'admin',
        displayName: null,
        stationId: null,
        providerId: null,
        residentId: null,
        relation: null,
        createdAt: 1,
        disabledAt: null,
        ...patch,
      });

      it('keeps accounts: found by id and by user name whatever its case, one name once, changed in place', async () => {
        const stations = new StationRepository(sql);
        await stations.insert({ id: 'c1', name: 'C', level: 'community', parentId: null, webhookUrl: null, responsePlans: {}, createdAt: 1 });
        const providers = new ProviderRepository(sql);
        await providers.load();
        await providers.insert({ id: 'prv-1', name: '颐康居家服务', webhookUrl: null, createdAt: 1 });
        const users = new UserRepository(sql);
        await users.insert(user('u1', 'Zhang.Hu'));
        await users.insert(user('u2', 'li', { role: 'operator', stationId: 'c1', createdAt: 2 }));
        await users.insert(user('u3', 'yikang', { role: 'provider', providerId: 'prv-1', createdAt: 3 }));
        await expect(users.insert(user('u4', 'ZHANG.HU'))).rejects.toThrow(); // the same name in other letters
        await expect(users.insert(user('u5', 'nobody', { role: 'operator' }))).rejects.toThrow(); // an operator needs a station
        expect((await users.byUsername('zhang.hu'))?.id).toBe('u1');
        expect(await users.byUsername('zhang')).toBeUndefined();
        expect(await users.get('u2')).toEqual(user('u2', 'li', { role: 'operator', stationId: 'c1', createdAt: 2 }));
        expect((await users.list()).map((u) => u.id)).toEqual(['u1', 'u2', 'u3']);
        expect(await users.count()).toBe(3);
        await users.setDisplayName('u2', '李护士');
        await users.setPassword('u2', 'scrypt$other');
        await users.disable('u2', 50);
        await users.disable('u2', 60); // once
        expect(await users.get('u2')).toMatchObject({ displayName: '李护士', passwordHash: 'scrypt$other', disabledAt: 50 });
        await users.enable('u2');
        expect((await users.get('u2'))?.disabledAt).toBeNull();

        // Providers: kept in memory, written to the store first; another node reads the same.
        await providers.setWebhookUrl('prv-1', 'http://127.0.0.1:9/prv-1');
        await expect(providers.insert({ id: 'prv-2', name: '颐康居家服务', webhookUrl: null, createdAt: 2 })).rejects.toThrow(); // names are unique
        expect(providers.list().map((p) => p.id)).toEqual(['prv-1']);
        const other = new ProviderRepository(await backend.another());
        await other.load();
        expect(other.byName('颐康居家服务')).toEqual({ id: 'prv-1', name: '颐康居家服务', webhookUrl: 'http://127.0.0.1:9/prv-1', createdAt: 1 });
      });

      it('finds a token only while it is neither revoked nor expired, and revokes a user\'s logins together', async () => {
        const users = new UserRepository(sql);
        await users.insert(user('u1', 'admin'));
        const tokens = new ApiTokenRepository(sql);
        await tokens.insert('automation-token-0123456789', 'bootstrap-admin', 'admin', 10);
        await tokens.insert('login-token-a-0123456789', 'admin', 'admin', 10, { userId: 'u1', expiresAt: 1_000 });
        await tokens.insert('login-token-b-0123456789', 'admin', 'admin', 10, { userId: 'u1', expiresAt: 1_000 });
        expect(await tokens.find('automation-token-0123456789', 500)).toMatchObject({ label: 'bootstrap-admin', role: 'admin', userId: null, expiresAt: null });
        expect(await tokens.find('login-token-a-0123456789', 500)).toMatchObject({ userId: 'u1', expiresAt: 1_000 });
        expect(await tokens.find('login-token-a-0123456789', 1_000)).toBeUndefined(); // expired
        expect(await tokens.find('no-such-token-0123456789', 500)).toBeUndefined();
        expect(await tokens.count()).toBe(1); // automation tokens in force
        expect(await tokens.revoke('login-token-a-0123456789', 600)).toBe(true);
        expect(await tokens.revoke('login-token-a-0123456789', 600)).toBe(false);
        expect(await tokens.find('login-token-a-0123456789', 700)).toBeUndefined();
        expect(await tokens.revokeUser('u1', 700)).toBe(1); // b; a was revoked already
        await tokens.revokeAll('bootstrap-admin', 800);
        expect(await tokens.count()).toBe(0);
        expect(await sql.get('SELECT token_hash FROM api_tokens WHERE label = ?', ['bootstrap-admin'])).toEqual({ token_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      });
    });

    describe('rule state and the event log', () => {
      it('keeps one state per subject and rule, the latest', async () => {
        const states = new RuleStateRepository(sql);
        await states.save('band-1', 'threshold:hr', '{"since":1}', 1);
        await states.save('band-1', 'threshold:hr', '{"since":2}', 2);
        await states.save('band-1', 'silence', '{"active":false}', 2);
        expect((await states.all()).sort((a, b) => a.rule.localeCompare(b.rule))).toEqual([
          { subject: 'band-1', rule: 'silence', state: '{"active":false}' },
          { subject: 'band-1', rule: 'threshold:hr', state: '{"since":2}' },
        ]);
      });

      it("takes a device for a node with a new epoch each time, says who held it, and a transaction finds whether its epoch is still current", async () => {
        const owners = new DeviceOwnerRepository(sql);
        expect(await owners.claim('band-1', 'node-a', 10)).toEqual({ epoch: 1, previousNode: null });
        expect(await owners.claim('band-1', 'node-a', 20)).toEqual({ epoch: 2, previousNode: 'node-a' });
        expect(await owners.claim('band-1', 'node-b', 30)).toEqual({ epoch: 3, previousNode: 'node-a' });
        expect(await owners.claim('band-2', 'node-a', 40)).toEqual({ epoch: 1, previousNode: null });
        expect(await owners.owner('band-1')).toEqual({ node: 'node-b', epoch: 3, claimedAt: 30 });
        expect(await owners.owner('band-3')).toBeUndefined();
        expect(await uow.transaction((tx) => owners.in(tx).holds('band-1', 'node-b', 3))).toBe(true);
        expect(await uow.transaction((tx) => owners.in(tx).holds('band-1', 'node-a', 2))).toBe(false); // taken since
        expect(await uow.transaction((tx) => owners.in(tx).holds('band-1', 'node-b', 2))).toBe(false); // an old epoch of the same node
        const states = new RuleStateRepository(sql);
        await states.save('band-1', 'threshold:hr', '{"since":1}', 1);
        await states.save('band-2', 'threshold:hr', '{"since":2}', 2);
        expect(await states.forSubject('band-1')).toEqual([{ subject: 'band-1', rule: 'threshold:hr', state: '{"since":1}' }]);
      });

      it("keeps the nodes' heartbeats; a silent node's devices are adopted once, each at a new epoch; a node takes back its own at start", async () => {
        const owners = new DeviceOwnerRepository(sql);
        const nodes = new NodeRepository(sql);
        for (const [id, node] of [['band-1', 'node-a'], ['band-2', 'node-a'], ['band-3', 'node-b'], ['band-4', 'node-c']] as const) await owners.claim(id, node, 10);
        expect(await nodes.beat('node-a', 1_000)).toBe(false); // a first beat: not on the list before
        await nodes.beat('node-b', 5_000);
        await nodes.beat('node-c', 5_000);
        expect(await nodes.beat('node-b', 9_000)).toBe(true); // beats again
        expect(await nodes.silentSince(6_000)).toEqual(['node-a', 'node-c']);
        // node-b and node-c both notice node-a at once: one gets its devices, the other nothing, and node-a leaves the list.
        const [byB, byC] = await Promise.all([nodes.adopt('node-a', 'node-b', 9_000, 6_000), nodes.adopt('node-a', 'node-c', 9_000, 6_000)]);
        const adopted = [...byB, ...byC];
        expect(adopted).toEqual([
          { deviceId: 'band-1', epoch: 2 },
          { deviceId: 'band-2', epoch: 2 },
        ]);
        expect(byB.length === 0 || byC.length === 0).toBe(true);
        const adopter = byB.length > 0 ? 'node-b' : 'node-c';
        expect(await owners.owner('band-1')).toMatchObject({ node: adopter, epoch: 2, claimedAt: 9_000 });
        expect(await uow.transaction((tx) => owners.in(tx).holds('band-1', 'node-a', 1))).toBe(false); // node-a, if it comes back, writes nothing
        expect((await nodes.list()).map((n) => n.node)).toEqual(['node-b', 'node-c']);
        // A node that beat again after it was found silent stays on the list.
        await nodes.beat('node-c', 9_500);
        expect(await nodes.adopt('node-c', 'node-b', 9_600, 6_000)).toEqual([{ deviceId: 'band-4', epoch: 2 }]);
        expect((await nodes.list()).map((n) => n.node)).toEqual(['node-b', 'node-c']);
        // Starting again, node-b takes back what it held, each at a new epoch.
        expect(await nodes.adopt('node-b', 'node-b', 10_000)).toEqual(
          [...(adopter === 'node-b' ? [{ deviceId: 'band-1', epoch: 3 }, { deviceId: 'band-2', epoch: 3 }] : []), { deviceId: 'band-3', epoch: 2 }, { deviceId: 'band-4', epoch: 3 }],
        );
        expect((await nodes.list()).map((n) => n.node)).toEqual(['node-b', 'node-c']);
        expect(await nodes.beat('node-a', 10_100)).toBe(false); // node-a, back, finds it was taken for dead
      });

      it('recognises an event seen within the window, and only then', async () => {
        const events = new DeviceEventRepository(sql);
        await uow.transaction((tx: Tx) => events.in(tx).insert({ deviceId: 'pendant-1', type: 'sos', ts: 1_000, seq: 41, data: { button: 1 } }, 1_000));
        expect(await events.seenSince('pendant-1', 41, 500)).toBe(true);
        expect(await events.seenSince('pendant-1', 41, 1_001)).toBe(false);
        expect(await events.seenSince('pendant-1', 42, 0)).toBe(false);
        expect(await events.seenSince('pendant-2', 41, 0)).toBe(false);
      });
    });

    describe('visits (care programmes)', () => {
      it('keeps visits by resident, latest first; by station and period; and when each kind last reached someone', async () => {
        const visits = new VisitRepository(sql);
        const v = (id: string, residentId: string, kind: 'phone' | 'home', at: number, outcome: 'well' | 'not_reached' = 'well') =>
          visits.insert({ id, residentId, stationId: residentId === 'res-3' ? 'community-2' : 'community-1', kind, at, by: 'operator:li', outcome, observations: null, note: null, createdAt: at });
        await v('v1', 'res-1', 'phone', 1_000);
        await v('v2', 'res-1', 'home', 2_000);
        await v('v3', 'res-1', 'phone', 3_000, 'not_reached');
        await v('v4', 'res-2', 'phone', 1_500);
        await v('v5', 'res-3', 'home', 1_200);
        expect((await visits.forResident('res-1')).map((x) => x.id)).toEqual(['v3', 'v2', 'v1']);
        expect((await visits.forResident('res-1', 1))[0]).toEqual({ id: 'v3', residentId: 'res-1', stationId: 'community-1', kind: 'phone', at: 3_000, by: 'operator:li', outcome: 'not_reached', observations: null, note: null, createdAt: 3_000 });
        expect((await visits.inPeriod(['community-1'], 1_000, 3_000)).map((x) => x.id)).toEqual(['v1', 'v4', 'v2']);
        const latest = await visits.latestReached(['community-1', 'community-2']);
        expect(Object.fromEntries(latest)).toEqual({ 'res-1': { phone: 1_000, home: 2_000 }, 'res-2': { phone: 1_500 }, 'res-3': { home: 1_200 } });
        expect((await visits.latestReached([])).size).toBe(0);
      });

      it('keeps visit tasks: open ones by station or resident, earliest due first; closed once; counted by period', async () => {
        const visits = new VisitRepository(sql);
        const task = (id: string, residentId: string, reason: 'no_activity' | 'phone_not_reached', createdAt: number, dueAt: number) =>
          visits.insertTask({ id, residentId, stationId: residentId === 'res-3' ? 'community-2' : 'community-1', kind: 'home', reason, sourceId: 'alm-1', createdAt, dueAt, doneAt: null, doneBy: null });
        await task('t1', 'res-1', 'no_activity', 1_000, 5_000);
        await task('t2', 'res-2', 'phone_not_reached', 2_000, 3_000);
        await task('t3', 'res-3', 'no_activity', 2_500, 2_500);
        expect((await visits.openTasks({ stationIds: ['community-1'] })).map((t) => t.id)).toEqual(['t2', 't1']);
        expect(await visits.openTasks({ residentId: 'res-1' })).toEqual([{ id: 't1', residentId: 'res-1', stationId: 'community-1', kind: 'home', reason: 'no_activity', sourceId: 'alm-1', createdAt: 1_000, dueAt: 5_000, doneAt: null, doneBy: null }]);
        await visits.closeTask('t1', 6_000, 'vis-9');
        await visits.closeTask('t1', 7_000, 'vis-10'); // once
        expect((await visits.openTasks({ stationIds: ['community-1', 'community-2'] })).map((t) => t.id)).toEqual(['t3', 't2']);
        expect((await visits.tasksInPeriod(['community-1'], 0, 10_000)).map((t) => [t.id, t.doneAt, t.doneBy])).toEqual([
          ['t1', 6_000, 'vis-9'],
          ['t2', null, null],
        ]);
        expect(await visits.tasksInPeriod(['community-1'], 1_500, 2_000)).toEqual([]);
      });
    });

    describe('service requests and button tests (care programmes)', () => {
      const request = (id: string, patch: Partial<import('../../src/core/service-request.ts').ServiceRequest> = {}) => ({
        id,
        residentId: 'res-1',
        stationId: 'community-1',
        kind: 'other' as const,
        note: null,
        source: 'device' as const,
        deviceId: 'pendant-1',
        presses: 1,
        state: 'new' as const,
        providerId: null,
        worker: null,
        created: { at: 1_000, by: 'device:pendant-1' },
        assigned: null,
        started: null,
        arrived: null,
        done: null,
        cancelled: null,
        updatedAt: 1_000,
        ...patch,
      });

      it('stores a request as given; steps only from the states allowed, once, each stamped; lists by scope, state and period', async () => {
        const requests = new ServiceRequestRepository(sql);
        await requests.insert(request('s1'));
        await requests.insert(request('s2', { residentId: 'res-2', stationId: 'community-2', source: 'staff', deviceId: null, kind: 'meals', created: { at: 2_000, by: 'operator:li' }, updatedAt: 2_000 }));
        expect(await requests.get('s1')).toEqual(request('s1'));
        expect(await requests.pendingFromDevice('pendant-1', 500)).toMatchObject({ id: 's1' });
        expect(await requests.pendingFromDevice('pendant-1', 1_500)).toBeUndefined();
        await requests.pressedAgain('s1', 1_100);
        expect((await requests.get('s1'))!.presses).toBe(2);

        expect(await requests.step('s1', 'start', 'provider:yk', 1_200)).toBe(false); // not dispatched yet
        expect(await requests.step('s1', 'assign', 'operator:li', 1_300, { providerId: 'prov-1', kind: 'meals' })).toBe(true);
        expect(await requests.step('s1', 'assign', 'provider:yk', 1_350, { worker: '陈阿姨' })).toBe(true); // naming the worker keeps the first dispatch's stamp
        expect(await requests.step('s1', 'arrive', 'provider:yk', 1_400)).toBe(true);
        expect(await requests.step('s1', 'done', 'provider:yk', 1_500)).toBe(true);
        expect(await requests.step('s1', 'done', 'provider:yk', 1_600)).toBe(false); // once
        expect(await requests.step('s2', 'cancel', 'family:li.ming', 2_100, { reason: '不需要了' })).toBe(true);
        expect(await requests.get('s1')).toMatchObject({ state: 'done', kind: 'meals', providerId: 'prov-1', worker: '陈阿姨', assigned: { at: 1_300, by: 'operator:li' }, started: null, arrived: { at: 1_400 }, done: { at: 1_500, by: 'provider:yk' }, updatedAt: 1_500 });
        expect((await requests.get('s2'))!.cancelled).toEqual({ at: 2_100, by: 'family:li.ming', reason: '不需要了' });

        const ids = async (q: Parameters<ServiceRequestRepository['list']>[0]) => (await requests.list(q)).map((r) => r.id);
        expect(await ids({})).toEqual(['s2', 's1']);
        expect(await ids({ stationIds: ['community-1'] })).toEqual(['s1']);
        expect(await ids({ stationIds: [] })).toEqual([]);
        expect(await ids({ providerId: 'prov-1' })).toEqual(['s1']);
        expect(await ids({ states: ['cancelled'] })).toEqual(['s2']);
        expect(await ids({ from: 1_500, to: 3_000 })).toEqual(['s2']);
        expect(await ids({ residentId: 'res-1', limit: 1 })).toEqual(['s1']);
      });

      it('reads button tests from the event log by the time they arrived', async () => {
        const events = new DeviceEventRepository(sql);
        await events.insert({ deviceId: 'pendant-1', type: 'test', ts: 10, seq: 1 }, 1_000);
        await events.insert({ deviceId: 'pendant-1', type: 'sos', ts: 20, seq: 2 }, 2_000);
        await events.insert({ deviceId: 'pendant-1', type: 'test', ts: 30, seq: 3 }, 3_000);
        await events.insert({ deviceId: 'smoke-1', type: 'test', ts: 40 }, 4_000);
        const tests = new DeviceTestRepository(sql);
        expect(Object.fromEntries(await tests.latest())).toEqual({ 'pendant-1': 3_000, 'smoke-1': 4_000 });
        expect(await tests.forDevice('pendant-1', 10)).toEqual([3_000, 1_000]);
        expect(await tests.inPeriod(['pendant-1', 'smoke-1'], 1_000, 4_000)).toEqual([
          { deviceId: 'pendant-1', at: 1_000 },
          { deviceId: 'pendant-1', at: 3_000 },
        ]);
        expect(await tests.inPeriod([], 0, 10_000)).toEqual([]);
      });
    });

    describe('stored reports', () => {
      it('keeps a report with its body, by id; lists by kind and subject, the latest period first', async () => {
        const reports = new ReportRepository(sql);
        const a = await reports.insert({ kind: 'device_health', subject: 'prv-1', periodStart: 1_000, periodEnd: 2_000, createdAt: 2_000, body: { problems: [{ deviceId: 'p-1', issues: ['电量低'] }] } });
        const b = await reports.insert({ kind: 'device_health', subject: 'prv-1', periodStart: 2_000, periodEnd: 3_000, createdAt: 3_000, body: {} });
        await reports.insert({ kind: 'station_monthly', subject: 'community-1', periodStart: 0, periodEnd: 3_000, createdAt: 3_000, body: { alarms: 3 } });
        expect(await reports.get(a.id)).toEqual({ id: a.id, kind: 'device_health', subject: 'prv-1', periodStart: 1_000, periodEnd: 2_000, createdAt: 2_000, body: { problems: [{ deviceId: 'p-1', issues: ['电量低'] }] } });
        expect(await reports.get('rpt-none')).toBeUndefined();
        expect((await reports.list({ kind: 'device_health', subject: 'prv-1', limit: 10 })).map((r) => r.id)).toEqual([b.id, a.id]);
        expect((await reports.list({ kind: 'station_monthly', limit: 10 })).map((r) => r.body)).toEqual([{ alarms: 3 }]);
        expect(await reports.list({ limit: 1 })).toHaveLength(1);
      });
    });

    describe('the alarm service on this store', () => {
      it('raises, escalates on its deadlines, delivers and stops at the acknowledgement, as on any other store', async () => {
        const core = await buildCore({ sql, webhooks: true });
        try {
          await core.resident('res-1', {}, [{ name: '王强', relation: 'son' }]);
          const raised = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
          expect(core.events).toEqual([{ name: 'alarm.raised', alarmId: raised.id }]);
          await core.engine.runDue();
          core.clock.advance(60_000);
          await core.engine.runDue();
          expect(await core.kinds(raised.id)).toEqual(['raised', 'notified', 'notified', 'escalated', 'notified', 'notified', 'notified']);
          await core.service.acknowledge(raised.id, 'nurse.li');
          expect(await core.pendingSteps(raised.id)).toEqual([]);
          core.clock.advance(600_000);
          await core.engine.runDue();
          expect((await core.kinds(raised.id)).filter((k) => k === 'escalated')).toHaveLength(1);
        } finally {
          core.close();
        }
      });

      /** Two nodes' alarm cores and rule evaluators (node-a, node-b) on this one store, each with connections of its own. */
      const twoNodes = async () => {
        const cores = [await buildCore({ sql: await backend.another(), webhooks: false }), await buildCore({ sql: await backend.another(), webhooks: false })];
        const nodeOf = async (core: Core, name: string) => {
          const store = await backend.another();
          return new RuleEvaluator({
            devices: core.directory,
            residentOf: (id) => core.repos.residents.get(id) ?? null,
            ruleState: new RuleStateRepository(store),
            intents: new IntentApplier(core.service),
            clock: core.clock,
            log: silentLogger,
            ownership: { node: name, owners: new DeviceOwnerRepository(store) },
          });
        };
        return { cores, a: await nodeOf(cores[0]!, 'node-a'), b: await nodeOf(cores[1]!, 'node-b') };
      };

      it("a device's rules follow it from node to node: the new holder carries on from the state left, and the old one can no longer write it", async () => {
        const { cores, a, b } = await twoNodes();
        try {
          for (const c of cores) {
            await c.resident('res-1');
            await c.device('band-1', 'carebell-vitals-band', 'res-1');
            await c.device('pendant-1', 'carebell-sos-pendant', 'res-1');
          }
          const [bandA, bandB] = cores.map((c) => c.directory.get('band-1')!);
          const t0 = cores[0]!.clock.now();
          const hr = (value: number, ts: number) => [{ deviceId: 'band-1', kind: 'heart_rate', value, unit: 'bpm', ts }];
          const alarms = () => cores[0]!.repos.alarms.list({ limit: 100 });

          // The band connects to node-a: a fast heart rate starts its 2-minute duration there.
          await a.claim('band-1');
          await a.claim('pendant-1');
          await a.onReadings(bandA!, hr(125, t0), t0);
          expect(a.holds('band-1')).toBe(true);
          expect(b.holds('band-1')).toBe(false);

          // It reconnects to node-b half-way through, while node-a is still working through a message it had.
          await b.claim('band-1');
          await b.claim('pendant-1');
          await a.onReadings(bandA!, hr(126, t0 + 121_000), t0 + 121_000);
          expect(await alarms()).toEqual([]); // node-a's write was refused: no alarm from a node that lost the device
          expect(a.holds('band-1')).toBe(false);
          const hrState = async () => (await new RuleStateRepository(sql).forSubject('band-1')).filter((r) => r.rule.startsWith('threshold:heart_rate:heart_rate_high')).map((r) => JSON.parse(r.state));
          expect(await hrState()).toEqual([{ since: t0, active: false }]); // as node-a left it

          // node-b carries on from the duration node-a started: the alarm comes at 2 minutes from the first fast reading, once.
          await b.onReadings(bandB!, hr(126, t0 + 121_000), t0 + 121_000);
          expect((await alarms()).map((x) => [x.type, x.deviceId])).toEqual([['heart_rate_high', 'band-1']]);
          expect(await hrState()).toEqual([{ since: t0, active: true }]);

          // An SOS node-a had already taken in from the pendant still raises its alarm; only the state is node-b's.
          const pendantA = cores[0]!.directory.get('pendant-1')!;
          await cores[0]!.uow.transaction((tx) => a.onEvent(pendantA, { deviceId: 'pendant-1', type: 'sos', ts: t0 + 130_000 }, tx));
          expect((await alarms()).map((x) => x.type).sort()).toEqual(['heart_rate_high', 'sos']);
          expect(a.holds('pendant-1')).toBe(false);

          // Time passes with the band silent: node-a no longer runs its rules, so only its holder may call it offline.
          for (const c of cores) c.directory.heard(c.directory.get('band-1')!, t0 + 121_000);
          for (const c of cores) c.clock.advance(3 * 3600_000);
          await a.tick();
          expect((await alarms()).filter((x) => x.type === 'device_offline')).toEqual([]);
          await b.tick();
          expect((await alarms()).filter((x) => x.type === 'device_offline').map((x) => x.deviceId)).toEqual(['band-1']);
        } finally {
          for (const c of cores) c.close();
        }
      });

      it("a resident's rules across nodes: a node acts on the resident's state as the database has it, not only as its own devices saw it", async () => {
        const { cores, a, b } = await twoNodes();
        try {
          for (const c of cores) {
            await c.resident('res-1'); // the wellbeing check: no activity from any device for 12 hours
            await c.device('pir-1', 'carebell-pir-motion', 'res-1');
            await c.device('door-1', 'carebell-door-contact', 'res-1');
          }
          // The motion sensor is on node-a, the door contact on node-b.
          await a.claim('pir-1');
          await b.claim('door-1');
          const t0 = cores[0]!.clock.now();
          const at = (t: number) => cores.forEach((c) => c.clock.set(t));
          const event = (c: Core, node: RuleEvaluator, deviceId: string, type: string, ts: number) =>
            c.uow.transaction((tx) => node.onEvent(c.directory.get(deviceId)!, { deviceId, type, ts } as never, tx));
          const inactivity = async () => (await cores[0]!.repos.alarms.list({ limit: 100 })).filter((x) => x.type === 'no_activity');

          await event(cores[1]!, b, 'door-1', 'door_open', t0);
          at(t0 + 6 * 3600_000);
          await event(cores[0]!, a, 'pir-1', 'motion', t0 + 6 * 3600_000);
          // 13 hours after the door, 7 after the motion node-b never saw: no alarm.
          at(t0 + 13 * 3600_000);
          await b.tick();
          await a.tick();
          expect(await inactivity()).toEqual([]);
          // 12 hours after the last motion: one alarm, whichever node ticks first.
          at(t0 + 18 * 3600_000 + 1_000);
          await b.tick();
          await a.tick();
          expect((await inactivity()).map((x) => x.residentId)).toEqual(['res-1']);
        } finally {
          for (const c of cores) c.close();
        }
      });

      it('two services on one store (two nodes) fire each deadline once', async () => {
        const core = await buildCore({ sql: await backend.another(), webhooks: false });
        const other = await buildCore({ sql: await backend.another(), webhooks: false });
        try {
          await core.resident('res-1');
          await other.resident('res-1');
          const raised = await Promise.all(['p-1', 'p-2', 'p-3'].map((deviceId) => core.raise({ residentId: 'res-1', deviceId })));
          for (const c of [core, other]) c.clock.advance(200_000);
          await Promise.all([core.service.fireDueSteps(), other.service.fireDueSteps(), core.service.fireDueSteps()]);
          for (const a of raised) expect((await core.kinds(a.id)).filter((k) => k === 'escalated')).toHaveLength(2); // steps 1 and 2, each once
        } finally {
          core.close();
          other.close();
        }
      });

      it('two outbox workers on one store (two nodes) send each notification once, and once the sending node is gone the other takes over when its lease ends', async () => {
        const core = await buildCore({ sql: await backend.another(), webhooks: true, node: 'node-a' });
        const other = await buildCore({ sql: await backend.another(), webhooks: true, node: 'node-b' });
        try {
          for (const c of [core, other]) await c.resident('res-1');
          const raised = await Promise.all(Array.from({ length: 6 }, (_, i) => core.raise({ residentId: 'res-1', deviceId: `p-${i}` })));
          await Promise.all([core.worker.tick(), other.worker.tick(), core.worker.tick(), other.worker.tick()]);
          const owed = (await Promise.all(raised.map((a) => core.outbox(a.id)))).flat();
          expect(owed.length).toBe(12); // the community station's console and webhook, for each
          expect(owed.every((i) => i.status === 'delivered')).toBe(true);
          const sends = [...core.sent, ...other.sent].filter((s) => s.startsWith('alarm.raised'));
          expect(sends).toHaveLength(12); // each once, between them
          expect(core.sent.length).toBeGreaterThan(0);
          // Each delivery line of the timelines says which node sent it.
          const lines = (await Promise.all(raised.map((a) => core.repos.alarms.timeline(a.id)))).flat().filter((e) => e.kind === 'notified');
          expect(lines.filter((e) => e.detail?.node === 'node-a')).toHaveLength(core.sent.length);
          expect(lines.filter((e) => e.detail?.node === 'node-b')).toHaveLength(other.sent.length);

          // node-a takes a new alarm's deliveries and dies before sending them (its channels hang): node-b sends them once the lease ends.
          core.channels.console.gate = new Promise(() => {});
          core.channels.webhook.gate = new Promise(() => {});
          const late = await core.raise({ residentId: 'res-1', deviceId: 'p-late' });
          void core.worker.tick();
          await expect.poll(() => core.worker.inFlight).toBe(2); // claimed, and stuck
          const before = other.sent.length;
          await other.worker.tick();
          expect(other.sent.length).toBe(before); // held by node-a: not sent twice
          other.clock.advance(60_000);
          await other.worker.tick();
          expect((await core.outbox(late.id)).map((i) => i.status)).toEqual(['delivered', 'delivered']);
        } finally {
          core.close();
          other.close();
        }
      });
    });

    if (backend.dialect === 'postgres') {
      it('migrates once when several nodes start together', async () => {
        const nodes = await Promise.all([backend.another(), backend.another(), backend.another()]);
        const applied = await Promise.all(nodes.map((n) => migratePostgres(n)));
        expect(applied.flat()).toEqual([]); // this file's first client applied them already
        expect(await sql.get('SELECT count(*) AS n FROM schema_migrations')).toEqual({ n: postgresMigrations.length });
      });
    }
  });
}
