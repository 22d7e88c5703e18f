import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCore, type Core } from '../../helpers/core.ts';

/**
 * The escalation ladder walked with a manual clock: who hears at which
 * second, reminders until a person acknowledges, early escalation when a step
 * reached nobody, and deadlines that survive a restart.
 */

const sentAt = (core: Core) => core.sent;

describe('escalation ladder', () => {
  let core: Core;
  beforeEach(async () => {
    core = await buildCore();
    await core.resident('res-1', {}, [{ name: '王强', relation: 'son' }, { name: '王芳', relation: 'daughter' }]);
  });
  afterEach(() => core.close());

  it('a critical alarm: station at once, street centre and the first contact at 60 s, district and every contact at 180 s, then reminders', async () => {
    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    await core.engine.runDue();
    expect(sentAt(core)).toEqual(['alarm.raised:0:community-1']);

    core.clock.advance(59_000);
    await core.engine.runDue();
    expect(sentAt(core)).toHaveLength(1);

    core.clock.advance(1_000);
    await core.engine.runDue();
    expect((await core.repos.alarms.get(alarm.id))!.escalationLevel).toBe(1);
    expect(sentAt(core).slice(1).sort()).toEqual(['alarm.escalated:1:street-1', 'alarm.escalated:1:王强']);

    core.clock.advance(120_000);
    await core.engine.runDue();
    expect((await core.repos.alarms.get(alarm.id))!.escalationLevel).toBe(2);
    expect(sentAt(core).slice(3).sort()).toEqual(['alarm.escalated:2:district-1', 'alarm.escalated:2:王强', 'alarm.escalated:2:王芳']);

    core.clock.advance(120_000); // 300 s: the first reminder to every level
    await core.engine.runDue();
    expect(sentAt(core).slice(6).sort()).toEqual(['alarm.reminder:3:community-1', 'alarm.reminder:3:district-1', 'alarm.reminder:3:street-1']);
    core.clock.advance(120_000);
    await core.engine.runDue();
    expect(sentAt(core)).toHaveLength(12);
    expect((await core.kinds(alarm.id)).filter((k) => k === 'reminder')).toHaveLength(2);

    await core.service.acknowledge(alarm.id, 'nurse-zhang');
    core.clock.advance(3_600_000);
    await core.engine.runDue();
    // Nothing more alerts; the contacts already told hear that a person has it.
    expect(core.channels.console.sent.filter((s) => s.event !== 'alarm.acknowledged')).toHaveLength(9);
    expect(core.channels.webhook.sent.filter((s) => s.event === 'alarm.acknowledged').map((s) => s.target).sort()).toEqual(['王强', '王芳']);
  });

  it('a device fault not fixed in 2 h reaches its provider even when the station acknowledged it; fixed in time, nobody is bothered', async () => {
    await core.repos.providers.insert({ id: 'prov-1', name: '颐康居家服务', webhookUrl: 'http://127.0.0.1:9/prov-1', createdAt: 0 });
    await core.resident('res-2', { providerId: 'prov-1' });
    const fault = (deviceId: string) => core.raise({ type: 'device_offline', severity: 'minor', subject: deviceId, residentId: 'res-2', deviceId });
    const offline = await fault('pendant-2');
    expect(offline.policy).toBe('minor+provider');
    expect(await core.pendingSteps(offline.id)).toEqual([{ step: 1, kind: 'step', inSeconds: 7200 }]);
    await core.engine.runDue();
    await core.service.acknowledge(offline.id, 'nurse-zhang'); // seen: but the pendant is still offline
    core.clock.advance(7_199_000);
    await core.engine.runDue();
    expect(core.sent).toEqual(['alarm.raised:0:community-1']);
    core.clock.advance(1_000);
    await core.engine.runDue();
    expect(core.sent.slice(1)).toEqual(['alarm.escalated:1:颐康居家服务']);
    expect((await core.repos.alarms.get(offline.id))!).toMatchObject({ state: 'acknowledged', escalationLevel: 1 });

    // A second fault, fixed (resolved) within the 2 h: the provider hears nothing.
    const battery = await fault('band-2');
    await core.service.resolve(battery.id, 'system', 'other', 'battery charged', 'auto_cleared');
    core.clock.advance(7_200_000);
    await core.engine.runDue();
    expect(core.sent.filter((x) => x.startsWith('alarm.escalated'))).toEqual(['alarm.escalated:1:颐康居家服务']);
    // An SOS is no device fault: its ladder has no provider step.
    expect((await core.raise({ residentId: 'res-2', deviceId: 'pendant-2' })).policy).toBe('critical');
  });

  it('a provider without a webhook is said on the timeline as not reachable', async () => {
    await core.repos.providers.insert({ id: 'prov-2', name: '福寿家庭养老', webhookUrl: null, createdAt: 0 });
    await core.resident('res-3', { providerId: 'prov-2' });
    const alarm = await core.raise({ type: 'tamper', severity: 'major', subject: 'smoke-3', residentId: 'res-3', deviceId: 'smoke-3' });
    expect(alarm.policy).toBe('major+provider');
    await core.service.acknowledge(alarm.id, 'nurse-zhang');
    core.clock.advance(7_200_000);
    await core.engine.runDue();
    const timeline = await core.repos.alarms.timeline(alarm.id);
    expect(timeline.find((e) => e.kind === 'notify_failed')?.detail).toMatchObject({ target: 'provider 福寿家庭养老 has no notification webhook', recipient: { kind: 'provider', name: '福寿家庭养老' } });
  });

  it('after downtime, overdue steps fire once each, in order, and one reminder rather than a burst', async () => {
    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    await core.engine.runDue();
    core.clock.advance(3_600_000); // an hour down: both steps and 28 reminder periods overdue
    const fired = await core.service.fireDueSteps();
    expect(fired).toBe(3);
    expect((await core.kinds(alarm.id)).filter((k) => k === 'escalated' || k === 'reminder')).toEqual(['escalated', 'escalated', 'reminder']);
    expect((await core.repos.alarms.timeline(alarm.id)).filter((e) => e.kind === 'escalated').map((e) => e.detail!.level)).toEqual([1, 2]);
    expect(await core.pendingSteps(alarm.id)).toEqual([{ step: 3, kind: 'reminder', inSeconds: 120 }]);
    expect(await core.service.fireDueSteps()).toBe(0);
  });

  it('deadlines are in the database: a new service over the same store carries on the ladder', async () => {
    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    await core.engine.runDue();
    // A restart: everything in memory is new, the database is the same.
    const restarted = core.newService();
    core.clock.advance(61_000);
    expect(await restarted.fireDueSteps()).toBe(1);
    expect((await core.repos.alarms.get(alarm.id))!.escalationLevel).toBe(1);
  });

  it('a step that reached nobody escalates early: every console delivery failing three times moves to the next level', async () => {
    core.channels.console.down = (item) => (item.delivery.target.kind === 'station' && item.delivery.target.id === 'community-1' ? 'no console of the station is open' : undefined);
    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    await core.engine.runDue(); // attempt 1
    for (let i = 0; i < 2; i++) {
      core.clock.advance(2_500 * 2 ** i);
      await core.engine.runDue();
    }
    await core.engine.runDue(); // the next level's alerts go out
    const escalated = (await core.repos.alarms.timeline(alarm.id)).find((e) => e.kind === 'escalated');
    expect(escalated?.detail).toMatchObject({ level: 1, early: true, unreachedLevel: 0 });
    expect(core.clock.now() - alarm.raisedAt).toBeLessThan(60_000);
    expect(sentAt(core).sort()).toEqual(['alarm.escalated:1:street-1', 'alarm.escalated:1:王强']);
    // The station's console goes on being tried while the alarm is open.
    expect((await core.outbox(alarm.id)).find((i) => i.step === 0)).toMatchObject({ status: 'pending', attempts: 3 });
    // Step 2 keeps its own deadline, counted from the raise.
    expect((await core.pendingSteps(alarm.id)).find((s) => s.step === 2)!.inSeconds).toBeCloseTo(180 - (core.clock.now() - alarm.raisedAt) / 1000, 5);
  });

  it("a fault's provider step keeps its 2 h deadline when no console of the station is open (reachability does not bring it forward)", async () => {
    await core.repos.providers.insert({ id: 'prov-1', name: '颐康居家服务', webhookUrl: 'http://127.0.0.1:9/prov-1', createdAt: 0 });
    await core.resident('res-2', { providerId: 'prov-1' });
    core.channels.console.down = () => 'no console of the station is open';
    const alarm = await core.raise({ type: 'low_battery', severity: 'minor', subject: 'band-2', residentId: 'res-2', deviceId: 'band-2' });
    await core.engine.runDue();
    for (let i = 0; i < 4; i++) {
      core.clock.advance(2_500 * 2 ** i);
      await core.engine.runDue();
    }
    expect((await core.outbox(alarm.id)).find((i) => i.step === 0)!.attempts).toBeGreaterThanOrEqual(3);
    expect(core.sent.filter((x) => x.startsWith('alarm.escalated'))).toEqual([]);
    core.clock.set(alarm.raisedAt + 7_200_000);
    await core.engine.runDue();
    expect(core.sent.filter((x) => x.startsWith('alarm.escalated'))).toEqual(['alarm.escalated:1:颐康居家服务']);
  });

  it('a step that reached someone waits for its deadline, even when other deliveries of it fail', async () => {
    const withHook = await buildCore({ webhooks: true });
    try {
      await withHook.resident('res-1');
      withHook.channels.webhook.down = () => 'connection refused';
      const alarm = await withHook.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
      await withHook.engine.runDue();
      for (let i = 0; i < 4; i++) {
        withHook.clock.advance(2_500 * 2 ** i);
        await withHook.engine.runDue();
      }
      expect(await withHook.kinds(alarm.id)).not.toContain('escalated');
      expect((await withHook.repos.alarms.get(alarm.id))!.escalationLevel).toBe(0);
    } finally {
      withHook.close();
    }
  });
});
