import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCore, type Core } from '../../helpers/core.ts';

/**
 * An alarm's statements find their rows through indexes. A city has hundreds
 * of alarms open at once (offline devices, low batteries, a cold snap's
 * vitals); a statement that walks every pending step or outbox row to find
 * one alarm's costs each new SOS more the more there are.
 */
describe("an alarm's statements", () => {
  let core: Core;
  beforeEach(async () => {
    core = await buildCore();
    await core.resident('res-1', {}, [{ name: '王强', relation: 'son' }]);
  });
  afterEach(() => core.close());

  it('from raise through escalation, acknowledgement and resolution, none walks a table or every open alarm\'s rows to find its own', async () => {
    const used = new Set<string>();
    const prepare = core.db.prepare.bind(core.db);
    core.db.prepare = ((source: string) => {
      used.add(source);
      return prepare(source);
    }) as typeof core.db.prepare;

    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    await core.engine.runDue();
    expect((await core.pendingSteps(alarm.id))[0]).toMatchObject({ step: 1, inSeconds: 60 }); // the console's next deadline
    core.clock.advance(60_000);
    await core.engine.runDue();
    await core.service.acknowledge(alarm.id, 'nurse-zhang');
    await core.service.resolve(alarm.id, 'nurse-zhang', 'false_alarm');
    await core.engine.runDue();
    expect(await core.kinds(alarm.id)).toEqual(expect.arrayContaining(['raised', 'escalated', 'acknowledged', 'resolved']));

    core.db.prepare = prepare;

    const statements = [...used].filter((s) => /^\s*(SELECT|UPDATE|DELETE|INSERT|WITH)\b/i.test(s));
    expect(statements.length).toBeGreaterThan(10);
    const planOf = (s: string) => prepare(`EXPLAIN QUERY PLAN ${s}`).all(...Array<null>(s.split('?').length - 1).fill(null)) as Array<{ detail: string }>;
    const walks = statements
      .map((s) => ({ sql: s.replace(/\s+/g, ' ').trim(), plan: planOf(s) }))
      // A walk: a table scanned, or one alarm's rows picked out of an index on something else (every pending step).
      .filter(({ sql, plan }) => plan.some((p) => /^SCAN /.test(p.detail)) || (/\balarm_id = \?/.test(sql) && !plan.some((p) => /\balarm_id=\?/.test(p.detail))))
      .map(({ sql, plan }) => `${sql} → ${plan.map((p) => p.detail).join('; ')}`);
    expect(walks).toEqual([]);
  });
});
