import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffMs, defaultRetry } from '../../../src/notify/worker.ts';
import { StoreBusyError } from '../../../src/store/sql-client.ts';
import { buildCore, type Core } from '../../helpers/core.ts';

/** The outbox worker alone: real outbox rows, channels the test controls, a manual clock. */

describe('outbox worker', () => {
  let core: Core;
  beforeEach(async () => {
    core = await buildCore({ webhooks: true, retry: { maxAttempts: 3, baseMs: 2_000, maxMs: 60_000, webhookForMs: 10 * 60_000 } });
    await core.resident('res-1', {}, [{ name: '王强', relation: 'son' }]);
  });
  afterEach(() => core.close());

  it('a delivered notification is marked so and said on the timeline with the channel\'s receipt', async () => {
    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    await core.worker.tick();
    expect((await core.outbox(alarm.id)).map((i) => [i.delivery.channel, i.status, i.attempts])).toEqual([
      ['console', 'delivered', 1],
      ['webhook', 'delivered', 1],
    ]);
    const notified = (await core.repos.alarms.timeline(alarm.id)).filter((e) => e.kind === 'notified');
    expect(notified.map((e) => e.detail)).toEqual([
      expect.objectContaining({ channel: 'console', result: 'delivered', consoles: 1, attempt: 1, recipient: { kind: 'station', name: 'community-1 name', level: 'community' } }),
      expect.objectContaining({ channel: 'webhook', result: 'delivered', attempt: 1 }),
    ]);
    await core.worker.tick();
    expect(core.channels.console.sent).toHaveLength(1); // nothing is sent twice
  });

  it('ticks that start together let go of the last run\'s leases once, before either claims (a second release would free what is being sent)', async () => {
    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    const release = vi.spyOn(core.repos.outbox, 'releaseLeases');
    await Promise.all([core.worker.tick(), core.worker.tick()]);
    expect(release).toHaveBeenCalledTimes(1);
    await core.worker.tick();
    expect(release).toHaveBeenCalledTimes(1);
    expect((await core.outbox(alarm.id)).map((i) => [i.status, i.attempts])).toEqual([
      ['delivered', 1],
      ['delivered', 1],
    ]);
    expect(core.channels.webhook.sent).toHaveLength(1);
  });

  it('a delivery the store could not read or record (out of reach) is taken again at the next tick, not after its lease', async () => {
    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    const get = core.repos.alarms.get.bind(core.repos.alarms);
    const spy = vi.spyOn(core.repos.alarms, 'get').mockImplementation(async (id) => {
      throw new StoreBusyError(`the database is out of reach (reading ${id})`);
    });
    await core.worker.tick();
    expect(core.channels.webhook.sent).toHaveLength(0);
    expect((await core.outbox(alarm.id)).map((i) => i.status)).toEqual(['pending', 'pending']); // leased to this node, not given up
    spy.mockImplementation(get);
    await core.worker.tick(); // the clock has not moved: the lease (60 s) is still running
    expect((await core.outbox(alarm.id)).map((i) => [i.delivery.channel, i.status, i.attempts])).toEqual([
      ['console', 'delivered', 1],
      ['webhook', 'delivered', 1],
    ]);
    expect(core.channels.webhook.sent).toHaveLength(1);
  });

  it('a failing delivery is retried with backoff, on one timeline line that counts the attempts', async () => {
    core.channels.webhook.down = () => 'connect ECONNREFUSED';
    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    await core.worker.tick();
    const item = async () => (await core.outbox(alarm.id)).find((i) => i.delivery.channel === 'webhook')!;
    expect((await item())).toMatchObject({ status: 'pending', attempts: 1, lastError: 'connect ECONNREFUSED' });
    const wait = (await item()).nextAttemptAt - core.clock.now();
    expect(wait).toBeGreaterThanOrEqual(1_600);
    expect(wait).toBeLessThanOrEqual(2_400);

    await core.worker.tick(); // not yet due
    expect((await item()).attempts).toBe(1);
    core.clock.advance(wait);
    await core.worker.tick();
    expect((await item()).attempts).toBe(2);

    const failures = async () => (await core.repos.alarms.timeline(alarm.id)).filter((e) => e.kind === 'notify_failed');
    expect((await failures())).toHaveLength(1);
    expect((await failures())[0]!.detail).toMatchObject({ channel: 'webhook', attempts: 2, error: 'connect ECONNREFUSED' });

    core.channels.webhook.down = () => undefined;
    core.clock.advance((await item()).nextAttemptAt - core.clock.now());
    await core.worker.tick();
    expect((await item())).toMatchObject({ status: 'delivered', attempts: 3 });
    expect((await failures())).toHaveLength(1);
    expect((await failures())[0]!.detail).toMatchObject({ attempts: 2, deliveredAt: new Date(core.clock.now()).toISOString() });
    expect((await core.kinds(alarm.id)).filter((k) => k === 'notified')).toHaveLength(2);
  });

  it('an alert about an open alarm is retried past the attempt limit; a notice about an acknowledged one to a webhook for webhookForMs, then given up', async () => {
    core.channels.webhook.down = () => 'HTTP 503';
    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    for (let i = 0; i < 6; i++) {
      await core.worker.tick();
      core.clock.advance(80_000); // beyond the longest backoff (60 s + 20 %)
    }
    const alert = (await core.outbox(alarm.id)).find((i) => i.delivery.channel === 'webhook' && i.event === 'alarm.raised')!;
    expect(alert).toMatchObject({ status: 'pending', attempts: 6 });

    core.channels.webhook.down = (item) => (item.event === 'alarm.raised' ? undefined : 'HTTP 503');
    await core.worker.tick(); // the alert gets through at last
    await core.service.acknowledge(alarm.id, 'nurse-zhang');
    const notice = async () => (await core.outbox(alarm.id)).find((i) => i.event === 'alarm.acknowledged')!;
    for (let i = 0; i < 5; i++) {
      await core.worker.tick();
      core.clock.advance(80_000); // beyond the longest backoff (60 s + 20 %)
    }
    // Past the 3 attempts a person's notice gets: a webhook's receiver keeps the record and is owed it (for 10 min here).
    expect(await notice()).toMatchObject({ status: 'pending', attempts: 5, lastError: 'HTTP 503' });
    for (let i = 0; i < 4; i++) {
      await core.worker.tick();
      core.clock.advance(80_000);
    }
    // Attempt 9, 640 s after the notice was written: given up.
    expect(await notice()).toMatchObject({ status: 'failed', attempts: 9, lastError: 'HTTP 503' });
    const last = (await core.repos.alarms.timeline(alarm.id)).filter((e) => e.kind === 'notify_failed').at(-1)!;
    expect(last.detail).toMatchObject({ event: 'alarm.acknowledged', final: true, attempts: 9 });
  });

  it('a slow channel does not hold up another', async () => {
    let release!: () => void;
    core.channels.webhook.gate = new Promise<void>((r) => (release = r));
    const alarm = await core.raise({ residentId: 'res-1', deviceId: 'pendant-1' });
    const tick = core.worker.tick();
    await vi.waitFor(() => expect(core.worker.inFlight).toBe(1));
    expect(core.channels.console.sent).toHaveLength(1);
    expect((await core.outbox(alarm.id)).find((i) => i.delivery.channel === 'console')!.status).toBe('delivered');
    expect((await core.outbox(alarm.id)).find((i) => i.delivery.channel === 'webhook')!.status).toBe('pending');
    // A second tick does not start the delivery under way again.
    void core.worker.tick();
    expect(core.worker.inFlight).toBe(1);
    release();
    await tick;
    await core.worker.idle();
    expect(core.channels.webhook.sent).toHaveLength(1);
  });

  it('backoff doubles from the base up to the cap, within ±20 %', async () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoffMs(defaultRetry, a, () => 0.5))).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
    expect(backoffMs(defaultRetry, 1, () => 0)).toBe(1_600);
    expect(backoffMs(defaultRetry, 1, () => 0.999_999)).toBe(2_400);
  });
});
