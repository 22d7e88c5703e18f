import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCore, type Core } from '../../helpers/core.ts';

/** The alarm service alone: in-memory SQLite, a manual clock, no broker, no HTTP. */

describe('alarm service', () => {
  let core: Core;
  beforeEach(async () => {
    core = await buildCore({ webhooks: true });
    await core.resident('res-1', {}, [{ name: '王强', relation: 'son' }, { name: '王芳', relation: 'daughter' }]);
    await core.resident('res-alone', { livesAlone: true });
  });
  afterEach(() => core.close());

  it('raises an alarm with its first step owed, its later deadlines set, and one live event after the commit', async () => {
    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1', detail: { button: 1 } });
    expect(alarm).toMatchObject({ state: 'open', severity: 'critical', policy: 'critical', stationId: 'community-1', escalationLevel: 0, count: 1 });
    expect(await core.kinds(alarm.id)).toEqual(['raised']);
    expect((await core.repos.alarms.timeline(alarm.id))[0]!.detail).toEqual({ button: 1, policy: 'critical' });
    expect((await core.outbox(alarm.id)).map((i) => [i.event, i.step, i.delivery.channel, i.delivery.target.kind === 'station' ? i.delivery.target.id : '?'])).toEqual([
      ['alarm.raised', 0, 'console', 'community-1'],
      ['alarm.raised', 0, 'webhook', 'community-1'],
    ]);
    expect(await core.pendingSteps(alarm.id)).toEqual([
      { step: 1, kind: 'step', inSeconds: 60 },
      { step: 2, kind: 'step', inSeconds: 180 },
      { step: 3, kind: 'reminder', inSeconds: 300 },
    ]);
    expect(core.events).toEqual([{ name: 'alarm.raised', alarmId: alarm.id }]);
    expect(core.kicks()).toBe(1);
  });

  it('takes the tighter ladder for a resident who lives alone', async () => {
    const alarm = await core.raise({ residentId: 'res-alone' });
    expect(alarm.policy).toBe('critical-lives-alone');
    expect((await core.pendingSteps(alarm.id)).map((s) => s.inSeconds)).toEqual([45, 120, 180]);
    const major = await core.raise({ residentId: 'res-alone', type: 'fall_suspected', severity: 'major' });
    expect(major.policy).toBe('major-lives-alone');
    const minor = await core.raise({ residentId: 'res-alone', type: 'night_bed_exit', severity: 'minor' });
    expect(minor.policy).toBe('minor');
    expect(await core.pendingSteps(minor.id)).toEqual([]);
  });

  it('counts a repeat on the open alarm instead of raising another', async () => {
    const first = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    core.clock.advance(5_000);
    const again = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1', detail: { again: true } });
    expect(again.id).toBe(first.id);
    expect(again.count).toBe(2);
    expect(await core.kinds(first.id)).toEqual(['raised', 'repeated']);
    expect(await core.outbox(first.id)).toHaveLength(2); // no second round of alerts
    expect(core.events.map((e) => e.change ?? e.name)).toEqual(['alarm.raised', 'repeated']);
  });

  it('a repeat at a higher severity restarts the ladder under the stricter policy, from now', async () => {
    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'radar-1', type: 'fall', severity: 'major' });
    expect((await core.pendingSteps(alarm.id)).map((s) => s.inSeconds)).toEqual([600, 1800, 2700]);
    core.clock.advance(30_000);
    const raised = await core.raise({ residentId: 'res-1', deviceId: 'radar-1', type: 'fall', severity: 'critical' });
    expect(raised).toMatchObject({ id: alarm.id, severity: 'critical', policy: 'critical' });
    expect(await core.kinds(alarm.id)).toEqual(['raised', 'repeated', 'severity_raised']);
    expect((await core.pendingSteps(alarm.id)).map((s) => s.inSeconds)).toEqual([60, 180, 300]);
    expect((await core.outbox(alarm.id)).filter((i) => i.event === 'alarm.escalated').map((i) => i.step)).toEqual([0, 0]);
    // A lower severity does not lower it.
    expect((await core.raise({ residentId: 'res-1', deviceId: 'radar-1', type: 'fall', severity: 'minor' })).severity).toBe('critical');
  });

  it('an acknowledgement stops the ladder, withdraws pending alerts to people, keeps those owed to a station\'s system, and tells those already told', async () => {
    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    await core.engine.runDue(); // step 0 delivered: the station's console and webhook
    core.clock.advance(60_000);
    core.channels.webhook.down = () => 'connection refused';
    await core.engine.runDue(); // step 1: street centre and the son; webhooks failing, pending
    expect((await core.outbox(alarm.id)).filter((i) => i.status === 'pending').length).toBeGreaterThan(0);
    core.channels.webhook.down = () => undefined;

    const acked = await core.service.acknowledge(alarm.id, 'nurse-zhang', 'on my way');
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'nurse-zhang' });
    expect(await core.pendingSteps(alarm.id)).toEqual([]);
    const items = await core.outbox(alarm.id);
    // The son's pending alert is withdrawn; the street centre's system still gets the step it missed (its record).
    const describe = (i: (typeof items)[number]) => `${i.event} ${i.delivery.channel} ${i.delivery.target.kind === 'station' ? i.delivery.target.id : i.delivery.target.kind}`;
    expect(items.filter((i) => i.event !== 'alarm.acknowledged' && i.status === 'pending').map(describe)).toEqual(['alarm.escalated webhook street-1']);
    expect(items.filter((i) => i.status === 'cancelled').map(describe)).toContain('alarm.escalated webhook contact');
    // Only the community station's webhook had been reached: it, and nobody else, hears of the acknowledgement.
    expect(items.filter((i) => i.event === 'alarm.acknowledged').map((i) => [i.delivery.channel, i.delivery.target.kind === 'station' ? i.delivery.target.id : i.delivery.target.kind])).toEqual([['webhook', 'community-1']]);
    expect((await core.repos.alarms.timeline(alarm.id)).at(-1)).toMatchObject({ kind: 'acknowledged', actor: 'nurse-zhang', detail: { note: 'on my way' } });

    await expect(core.service.acknowledge(alarm.id, 'nurse-li')).rejects.toThrow('already acknowledged by nurse-zhang');
    await core.service.resolve(alarm.id, 'nurse-zhang', 'visited');
    await expect(core.service.resolve(alarm.id, 'nurse-li', 'other')).rejects.toThrow('already resolved by nurse-zhang (visited)');
  });

  it('a contact answering is not an acknowledgement: the ladder runs on', async () => {
    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    const after = await core.service.respond(alarm.id, 'family-wang', { name: '王强', relation: 'son', going: true, etaMinutes: 20 });
    expect(after.state).toBe('open');
    expect(after.responses).toMatchObject([{ name: '王强', going: true, etaMinutes: 20, recordedBy: 'family-wang' }]);
    expect(await core.pendingSteps(alarm.id)).toHaveLength(3);
    // The same person answering again replaces the earlier answer.
    const changed = await core.service.respond(alarm.id, 'family-wang', { name: '王强', relation: 'son', going: false, etaMinutes: null });
    expect(changed.responses).toMatchObject([{ name: '王强', going: false }]);
  });

  it('a rolled-back transaction leaves no alarm, no live event and no kick', async () => {
    await expect(
      core.service.transaction(async (tx) => {
        await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' }, tx);
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(await core.repos.alarms.list({ limit: 10 })).toEqual([]);
    expect(core.events).toEqual([]);
    expect(core.kicks()).toBe(0);
  });

  it('events of a nested change go out once, after the outermost commit', async () => {
    await core.service.transaction(async (tx) => {
      const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' }, tx);
      await core.service.addNote(alarm.id, 'nurse-zhang', 'called the son', tx);
      expect(core.events).toEqual([]);
    });
    expect(core.events.map((e) => e.change ?? e.name)).toEqual(['alarm.raised', 'note']);
  });

  it('a condition that ends by itself resolves a major alarm but leaves a critical one to a person', async () => {
    const major = await core.raise({ residentId: 'res-1', deviceId: 'band-1', subject: 'band-1', type: 'heart_rate_high', severity: 'major' });
    const cleared = await core.service.autoClear('band-1', 'heart_rate_high', 'heart rate back to 95');
    expect(cleared).toMatchObject({ id: major.id, state: 'resolved', resolvedBy: 'system', outcome: 'other' });
    expect((await core.kinds(major.id)).at(-1)).toBe('auto_cleared');

    const critical = await core.raise({ residentId: 'res-1', deviceId: 'gas-1', subject: 'gas-1', type: 'gas', severity: 'critical' });
    const kept = await core.service.autoClear('gas-1', 'gas', 'gas level normal');
    expect(kept).toMatchObject({ id: critical.id, state: 'open' });
    expect((await core.repos.alarms.timeline(critical.id)).at(-1)!.detail!.note).toMatch(/stays open until a person resolves it/);
    expect(await core.service.autoClear('nothing-open', 'gas', 'x')).toBeUndefined();
  });

  it('a resident cancelling within the window resolves the alarm as a false alarm', async () => {
    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1', subject: 'pendant-1' });
    const cancelled = await core.service.cancelByResident('pendant-1', 'sos', 'cancel pressed within 30 s');
    expect(cancelled).toMatchObject({ id: alarm.id, state: 'resolved', resolvedBy: 'resident', outcome: 'false_alarm' });
    expect(await core.kinds(alarm.id)).toEqual(['raised', 'cancelled_by_resident']);
    expect(await core.pendingSteps(alarm.id)).toEqual([]);
  });

  it('refuses changes to an alarm that does not exist or is resolved', async () => {
    await expect(core.service.acknowledge('alm_missing', 'x')).rejects.toThrow(/not found|alm_missing/);
    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    await core.service.resolve(alarm.id, 'nurse-zhang', 'false_alarm');
    await expect(core.service.assign(alarm.id, 'nurse-zhang', 'nurse-li')).rejects.toThrow('is resolved');
    await expect(core.service.onSite(alarm.id, 'nurse-zhang', 'son')).rejects.toThrow('is resolved');
  });
});
