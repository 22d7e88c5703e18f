import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp, EVENT_DEDUPE_WINDOW_MS, type CarebellApp } from '../../../src/app.ts';
import { ManualClock } from '../../../src/core/clock.ts';
import { parseConfig } from '../../../src/config/config.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import type { DeviceEvent } from '../../../src/core/model.ts';

/** Ingest with real SQLite and a manual clock: no broker needed to test de-duplication. */
describe('event de-duplication', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carebell-dedupe-'));
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 20, 0, 0));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const build = () => buildApp({ config: parseConfig({ dataDir, adminToken: 'a'.repeat(20), logLevel: 'silent' }), clock, log: silentLogger });
  const sos = (app: CarebellApp, seq: number) => {
    const device = app.directory.get('sos-1')!;
    const payload = Buffer.from(JSON.stringify({ ts: clock.now(), type: 'sos', seq }));
    return app.ingest.handle({ device, topic: 'devices/sos-1/event', payload, receivedAt: clock.now() });
  };
  const collect = (app: CarebellApp) => {
    const events: DeviceEvent[] = [];
    app.bus.on('device.event', ({ event }) => events.push(event));
    return events;
  };

  it('passes a redelivered (device, seq) on once, also after a restart, until the window ends', async () => {
    let app = await build();
    const d = await app.onboarding.createStation({ name: 'D', level: 'district' });
    const s = await app.onboarding.createStation({ name: 'S', level: 'street', parentId: d.id });
    const c = await app.onboarding.createStation({ name: 'C', level: 'community', parentId: s.id });
    const r = await app.onboarding.createResident({ name: 'R', address: 'A', stationId: c.id, livesAlone: true, capabilityLevel: 1, contacts: [] });
    await app.onboarding.createDevice({ profile: 'carebell-sos-pendant', residentId: r.id, id: 'sos-1' });

    let events = collect(app);
    expect((await sos(app, 41)).outcome).toBe('accepted');
    clock.advance(5_000);
    expect((await sos(app, 41)).outcome).toBe('duplicate'); // QoS 1 redelivery
    expect((await sos(app, 42)).outcome).toBe('accepted');
    expect(events.map((e) => e.seq)).toEqual([41, 42]);

    await app.close();
    app = await build(); // the gateway restarted; the device redelivers after reconnecting
    events = collect(app);
    clock.advance(60_000);
    expect((await sos(app, 42)).outcome).toBe('duplicate');

    clock.advance(EVENT_DEDUPE_WINDOW_MS); // long after: a device whose counter wrapped is heard again
    expect((await sos(app, 41)).outcome).toBe('accepted');
    expect(events.map((e) => e.seq)).toEqual([41]);
    await app.close();
  });
});
