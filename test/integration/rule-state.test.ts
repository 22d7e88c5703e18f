import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp, type CarebellApp } from '../../src/app.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { parseConfig } from '../../src/config/config.ts';
import { silentLogger } from '../../src/core/logger.ts';

/** Rule state that spans time survives a restart of the gateway (real SQLite, manual clock). */
describe('rule state across a restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carebell-rules-'));
  const clock = new ManualClock(Date.UTC(2026, 2, 1, 9, 0, 0));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const build = () => buildApp({ config: parseConfig({ dataDir, adminToken: 'r'.repeat(20), logLevel: 'silent' }), clock, log: silentLogger, alarms: { tickMs: 0 } });
  const send = (app: CarebellApp, topic: string, body: object) => {
    const device = app.directory.get('band-r')!;
    return app.ingest.handle({ device, topic, payload: Buffer.from(JSON.stringify({ ts: clock.now(), ...body })), receivedAt: clock.now() });
  };
  const alarmsOf = async (app: CarebellApp, type: string) => (await app.repos.alarms.list({ limit: 100 })).filter((a) => a.type === type);

  it('remembers a duration in progress, and does not raise a silence alarm twice', async () => {
    let app = await build();
    const d = await app.onboarding.createStation({ name: 'D', level: 'district' });
    const s = await app.onboarding.createStation({ name: 'S', level: 'street', parentId: d.id });
    const c = await app.onboarding.createStation({ name: 'C', level: 'community', parentId: s.id });
    const r = await app.onboarding.createResident({ name: 'R', address: 'A', stationId: c.id, livesAlone: false, capabilityLevel: 1, contacts: [] });
    await app.onboarding.createDevice({ profile: 'carebell-vitals-band', residentId: r.id, id: 'band-r' });

    await send(app, 'devices/band-r/telemetry', { hr: 130 }); // the 2-minute duration starts
    clock.advance(60_000);
    await send(app, 'devices/band-r/telemetry', { hr: 131 });
    await app.directory.persist();
    await app.close();

    app = await build(); // restart one minute into the duration
    clock.advance(60_000);
    await send(app, 'devices/band-r/telemetry', { hr: 132 });
    expect((await alarmsOf(app, 'heart_rate_high'))).toHaveLength(1); // raised at 2 min: the start was not forgotten

    clock.advance(16 * 60_000); // 3 heartbeats of 5 min without a message
    await app.engine.runDue();
    expect((await alarmsOf(app, 'device_offline'))).toHaveLength(1);
    await app.close();

    app = await build();
    clock.advance(60_000);
    await app.engine.runDue();
    const offline = (await alarmsOf(app, 'device_offline'));
    expect(offline).toHaveLength(1);
    expect(offline[0]!.count).toBe(1); // not raised again after the restart

    await send(app, 'devices/band-r/telemetry', { hr: 70 });
    await app.directory.persist();
    await app.engine.runDue();
    const cleared = (await app.repos.alarms.get(offline[0]!.id))!;
    expect(cleared).toMatchObject({ state: 'resolved', outcome: 'other', resolvedBy: 'system' });
    expect((await app.repos.alarms.timeline(cleared.id)).at(-1)).toMatchObject({ kind: 'auto_cleared' });
    // The heart rate came down to 70: at or under the 110 hysteresis value, the major alarm clears too.
    expect((await alarmsOf(app, 'heart_rate_high'))[0]).toMatchObject({ state: 'resolved', outcome: 'other' });
    await app.close();
  });
});
