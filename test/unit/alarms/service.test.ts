import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCore, type Core } from '../../helpers/core.ts';

/** The alarm service alone: in-memory SQLite, a manual clock, no broker, no HTTP. */

describe('alarm service', () => {
  let core: Core;
  beforeEach(() => {
    core = buildCore({ webhooks: true });
    core.resident('res-1', {}, [{ name: '王强', relation: 'son' }, { name: '王芳', relation: 'daughter' }]);
    core.resident('res-alone', { livesAlone: true });
  });
  afterEach(() => core.close());

  it('raises an alarm with its first step owed, its later deadlines set, and one live event after the commit', () => {
    const alarm = core.raise({ residentId: 'res-1', deviceId: 'pendant-1', detail: { button: 1 } });
    expect(alarm).toMatchObject({ state: 'open', severity: 'critical', policy: 'critical', stationId: 'community-1', escalationLevel: 0, count: 1 });
    expect(core.kinds(alarm.id)).toEqual(['raised']);
    expect(core.repos.alarms.timeline(alarm.id)[0]!.detail).toEqual({ button: 1, policy: 'critical' });
    expect(core.outbox(alarm.id).map((i) => [i.event, i.step, i.delivery.channel, i.delivery.target.kind === 'station' ? i.delivery.target.id : '?'])).toEqual([
      ['alarm.raised', 0, 'console', 'community-1'],
      ['alarm.raised', 0, 'webhook', 'community-1'],
    ]);
    expect(core.pendingSteps(alarm.id)).toEqual([
      { step: 1, kind: 'step', inSeconds: 60 },
      { step: 2, kind: 'step', inSeconds: 180 },
      { step: 3, kind: 'reminder', inSeconds: 300 },
    ]);
    expect(core.events).toEqual([{ name: 'alarm.raised', alarmId: alarm.id }]);
    expect(core.kicks()).toBe(1);
  });

  it('takes the tighter ladder for a resident who lives alone', () => {
    const alarm = core.raise({ residentId: 'res-alone' });
    expect(alarm.policy).toBe('critical-lives-alone');
    expect(core.pendingSteps(alarm.id).map((s) => s.inSeconds)).toEqual([45, 120, 180]);
    const major = core.raise({ residentId: 'res-alone', type: 'fall_suspected', severity: 'major' });
    expect(major.policy).toBe('major-lives-alone');
    const minor = core.raise({ residentId: 'res-alone', type: 'low_battery', severity: 'minor' });
    expect(minor.policy).toBe('minor');
    expect(core.pendingSteps(minor.id)).toEqual([]);
  });

  it('counts a repeat on the open alarm instead of raising another', () => {
    const first = core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    core.clock.advance(5_000);
    const again = core.raise({ residentId: 'res-1', deviceId: 'pendant-1', detail: { again: true } });
    expect(again.id).toBe(first.id);
    expect(again.count).toBe(2);
    expect(core.kinds(first.id)).toEqual(['raised', 'repeated']);
    expect(core.outbox(first.id)).toHaveLength(2); // no second round of alerts
    expect(core.events.map((e) => e.change ?? e.name)).toEqual(['alarm.raised', 'repeated']);
  });

  it('a repeat at a higher severity restarts the ladder under the stricter policy, from now', () => {
    const alarm = core.raise({ residentId: 'res-1', deviceId: 'radar-1', type: 'fall', severity: 'major' });
    expect(core.pendingSteps(alarm.id).map((s) => s.inSeconds)).toEqual([600, 1800, 2700]);
    core.clock.advance(30_000);
    const raised = core.raise({ residentId: 'res-1', deviceId: 'radar-1', type: 'fall', severity: 'critical' });
    expect(raised).toMatchObject({ id: alarm.id, severity: 'critical', policy: 'critical' });
    expect(core.kinds(alarm.id)).toEqual(['raised', 'repeated', 'severity_raised']);
    expect(core.pendingSteps(alarm.id).map((s) => s.inSeconds)).toEqual([60, 180, 300]);
    expect(core.outbox(alarm.id).filter((i) => i.event === 'alarm.escalated').map((i) => i.step)).toEqual([0, 0]);
    // A lower severity does not lower it.
    expect(core.raise({ residentId: 'res-1', deviceId: 'radar-1', type: 'fall', severity: 'minor' }).severity).toBe('critical');
  });

  it('an acknowledgement stops the ladder, withdraws pending alerts and tells those already told', async () => {
    const alarm = core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    await core.engine.runDue(); // step 0 delivered: the station's console and webhook
    core.clock.advance(60_000);
    core.channels.webhook.down = () => 'connection refused';
    await core.engine.runDue(); // step 1: street centre and the son; webhooks failing, pending
    expect(core.outbox(alarm.id).filter((i) => i.status === 'pending').length).toBeGreaterThan(0);
    core.channels.webhook.down = () => undefined;

    const acked = core.service.acknowledge(alarm.id, 'nurse-zhang', 'on my way');
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'nurse-zhang' });
    expect(core.pendingSteps(alarm.id)).toEqual([]);
    const items = core.outbox(alarm.id);
    expect(items.filter((i) => i.event !== 'alarm.acknowledged' && i.status === 'pending')).toEqual([]);
    expect(items.filter((i) => i.status === 'cancelled').length).toBeGreaterThan(0);
    // Only the community station's webhook had been reached: it, and nobody else, hears of the acknowledgement.
    expect(items.filter((i) => i.event === 'alarm.acknowledged').map((i) => [i.delivery.channel, i.delivery.target.kind === 'station' ? i.delivery.target.id : i.delivery.target.kind])).toEqual([['webhook', 'community-1']]);
    expect(core.repos.alarms.timeline(alarm.id).at(-1)).toMatchObject({ kind: 'acknowledged', actor: 'nurse-zhang', detail: { note: 'on my way' } });

    expect(() => core.service.acknowledge(alarm.id, 'nurse-li')).toThrow('already acknowledged by nurse-zhang');
    core.service.resolve(alarm.id, 'nurse-zhang', 'visited');
    expect(() => core.service.resolve(alarm.id, 'nurse-li', 'other')).toThrow('already resolved by nurse-zhang (visited)');
  });

  it('a contact answering is not an acknowledgement: the ladder runs on', () => {
    const alarm = core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    const after = core.service.respond(alarm.id, 'family-wang', { name: '王强', relation: 'son', going: true, etaMinutes: 20 });
    expect(after.state).toBe('open');
    expect(after.responses).toMatchObject([{ name: '王强', going: true, etaMinutes: 20, recordedBy: 'family-wang' }]);
    expect(core.pendingSteps(alarm.id)).toHaveLength(3);
    // The same person answering again replaces the earlier answer.
    const changed = core.service.respond(alarm.id, 'family-wang', { name: '王强', relation: 'son', going: false, etaMinutes: null });
    expect(changed.responses).toMatchObject([{ name: '王强', going: false }]);
  });

  it('a rolled-back transaction leaves no alarm, no live event and no kick', () => {
    expect(() =>
      core.service.transaction(() => {
        core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    expect(core.repos.alarms.list({ limit: 10 })).toEqual([]);
    expect(core.events).toEqual([]);
    expect(core.kicks()).toBe(0);
  });

  it('events of a nested change go out once, after the outermost commit', () => {
    core.service.transaction(() => {
      const alarm = core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
      core.service.addNote(alarm.id, 'nurse-zhang', 'called the son');
      expect(core.events).toEqual([]);
    });
    expect(core.events.map((e) => e.change ?? e.name)).toEqual(['alarm.raised', 'note']);
  });

  it('a condition that ends by itself resolves a major alarm but leaves a critical one to a person', () => {
    const major = core.raise({ residentId: 'res-1', deviceId: 'band-1', subject: 'band-1', type: 'heart_rate_high', severity: 'major' });
    const cleared = core.service.autoClear('band-1', 'heart_rate_high', 'heart rate back to 95');
    expect(cleared).toMatchObject({ id: major.id, state: 'resolved', resolvedBy: 'system', outcome: 'other' });
    expect(core.kinds(major.id).at(-1)).toBe('auto_cleared');

    const critical = core.raise({ residentId: 'res-1', deviceId: 'gas-1', subject: 'gas-1', type: 'gas', severity: 'critical' });
    const kept = core.service.autoClear('gas-1', 'gas', 'gas level normal');
    expect(kept).toMatchObject({ id: critical.id, state: 'open' });
    expect(core.repos.alarms.timeline(critical.id).at(-1)!.detail!.note).toMatch(/stays open until a person resolves it/);
    expect(core.service.autoClear('nothing-open', 'gas', 'x')).toBeUndefined();
  });

  it('a resident cancelling within the window resolves the alarm as a false alarm', () => {
    const alarm = core.raise({ residentId: 'res-1', deviceId: 'pendant-1', subject: 'pendant-1' });
    const cancelled = core.service.cancelByResident('pendant-1', 'sos', 'cancel pressed within 30 s');
    expect(cancelled).toMatchObject({ id: alarm.id, state: 'resolved', resolvedBy: 'resident', outcome: 'false_alarm' });
    expect(core.kinds(alarm.id)).toEqual(['raised', 'cancelled_by_resident']);
    expect(core.pendingSteps(alarm.id)).toEqual([]);
  });

  it('refuses changes to an alarm that does not exist or is resolved', () => {
    expect(() => core.service.acknowledge('alm_missing', 'x')).toThrow(/not found|alm_missing/);
    const alarm = core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    core.service.resolve(alarm.id, 'nurse-zhang', 'false_alarm');
    expect(() => core.service.assign(alarm.id, 'nurse-zhang', 'nurse-li')).toThrow('is resolved');
    expect(() => core.service.onSite(alarm.id, 'nurse-zhang', 'son')).toThrow('is resolved');
  });
});
