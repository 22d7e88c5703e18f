import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

/** Per-resident care settings through the API change how the rules treat that resident. */
describe('per-resident settings', () => {
  const clock = new ManualClock(Date.UTC(2026, 3, 1, 2, 0, 0)); // 10:00 in Shanghai
  let gw: TestGateway;
  let residentId: string;

  beforeAll(async () => {
    gw = await startGateway({ clock, alarms: { tickMs: 0 } });
    ({ residentId } = await gw.seedResident());
  });
  afterAll(() => gw.stop());

  const send = (deviceId: string, topic: string, body: object) => {
    const device = gw.app.directory.get(deviceId)!;
    return gw.app.ingest.handle({ device, topic, payload: Buffer.from(JSON.stringify({ ts: clock.now(), ...body })), receivedAt: clock.now() });
  };
  const alarms = async (type: string) => ((await gw.api('GET', '/api/v1/alarms?limit=500')).body as any[]).filter((a) => a.type === type);

  it('refuses bad settings naming the field', async () => {
    const res = await gw.api('PUT', `/api/v1/residents/${residentId}/settings`, { nightBedExit: { from: '25:00' } });
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('nightBedExit.from');
    expect((await gw.api('PUT', '/api/v1/residents/res_missing/settings', {})).status).toBe(404);
  });

  it('applies a longer cancel window and a tighter heart-rate threshold', async () => {
    const res = await gw.api('PUT', `/api/v1/residents/${residentId}/settings`, {
      cancelWindowSeconds: 60,
      thresholds: { heart_rate_high: { above: 100, forSeconds: 60 } },
    });
    expect(res.status).toBe(200);
    expect(res.body.settings).toMatchObject({ cancelWindowSeconds: 60 });
    await gw.onboardDevice('carebell-vitals-band', residentId, 'band-s');

    await send('band-s', 'devices/band-s/event', { type: 'fall', seq: 1 });
    clock.advance(45_000); // past the profile's 30 s, within this resident's 60 s
    await send('band-s', 'devices/band-s/event', { type: 'cancel', seq: 2 });
    expect(await alarms('fall')).toEqual([expect.objectContaining({ state: 'resolved', outcome: 'false_alarm' })]);

    await send('band-s', 'devices/band-s/telemetry', { hr: 105 });
    clock.advance(60_000);
    await send('band-s', 'devices/band-s/telemetry', { hr: 106 });
    expect(await alarms('heart_rate_high')).toEqual([expect.objectContaining({ state: 'open', severity: 'major' })]);
  });

  it('applies new settings to a device that is already reporting', async () => {
    const { residentId: other } = await gw.seedResident();
    await gw.onboardDevice('carebell-vitals-band', other, 'band-t');
    await send('band-t', 'devices/band-t/telemetry', { hr: 108 });
    clock.advance(180_000);
    await send('band-t', 'devices/band-t/telemetry', { hr: 108 });
    const mine = async () => (await alarms('heart_rate_high')).filter((a) => a.deviceId === 'band-t');
    expect(await mine()).toEqual([]); // the profile's limit is 120

    expect((await gw.api('PUT', `/api/v1/residents/${other}/settings`, { thresholds: { heart_rate_high: { above: 100, forSeconds: 60 } } })).status).toBe(200);
    await send('band-t', 'devices/band-t/telemetry', { hr: 108 });
    clock.advance(60_000);
    await send('band-t', 'devices/band-t/telemetry', { hr: 108 });
    expect(await mine()).toEqual([expect.objectContaining({ state: 'open', severity: 'major' })]);
  });

  it('raises a night bed exit in the resident\'s time zone, and a wellbeing alarm after quiet hours', async () => {
    await gw.onboardDevice('carebell-bed-mat', residentId, 'bed-s');
    await gw.onboardDevice('carebell-pir-motion', residentId, 'pir-s');
    await gw.api('PUT', `/api/v1/residents/${residentId}/settings`, { inactivity: { hours: 6 } });

    await send('pir-s', 'devices/pir-s/event', { type: 'motion', seq: 1 }); // 10:45 local: last movement
    clock.set(Date.UTC(2026, 3, 1, 18, 30)); // 02:30 local, the next night: almost 16 quiet hours
    await gw.app.engine.runDue();
    const [quiet] = await alarms('no_activity');
    expect(quiet).toMatchObject({ severity: 'major', residentId, deviceId: null, state: 'open' });

    await send('bed-s', 'devices/bed-s/event', { type: 'leave', seq: 1 }); // getting up is activity: the wellbeing alarm clears
    expect((await alarms('no_activity'))[0]).toMatchObject({ state: 'resolved', outcome: 'other' });
    clock.advance(19 * 60_000);
    await gw.app.engine.runDue();
    expect(await alarms('night_bed_exit')).toEqual([]);
    clock.advance(2 * 60_000);
    await gw.app.engine.runDue();
    const [night] = await alarms('night_bed_exit');
    expect(night).toMatchObject({ severity: 'major', residentId, deviceId: 'bed-s', state: 'open' });

    await send('bed-s', 'devices/bed-s/event', { type: 'enter', seq: 2 });
    expect((await alarms('night_bed_exit'))[0]).toMatchObject({ state: 'resolved', outcome: 'other' });
  });
});
