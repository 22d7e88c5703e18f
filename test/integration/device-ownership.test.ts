import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

/**
 * Device ownership on one real gateway (embedded database, ownership turned
 * on as it is with PostgreSQL): a device is taken for the node at CONNECT,
 * before its CONNACK; when another node takes it, this node stops writing
 * its rule state (and raises nothing from a reading) but an SOS it received
 * still becomes an alarm; when the device comes back, the node takes it again
 * and carries on from the state the other node left. Real MQTT over TCP.
 */
describe('device ownership between nodes, on one gateway', () => {
  let gw: TestGateway;
  afterEach(() => gw?.stop());

  it('takes a device at CONNECT with a new epoch, stops writing its state once another node has it, and carries on from that state when it comes back', async () => {
    const clock = new ManualClock(Date.UTC(2026, 2, 1, 9, 0, 0));
    gw = await startGateway({ clock, ownership: true, config: { nodeId: 'node-a' }, alarms: { tickMs: 0 } });
    const { app } = gw;
    const { residentId } = await gw.seedResident();
    const band = await gw.onboardDevice('carebell-vitals-band', residentId, 'band-o');
    const pendant = await gw.onboardDevice('carebell-sos-pendant', residentId, 'sos-o');
    const owners = app.repos.deviceOwners;
    const alarms = async (type: string) => (await app.repos.alarms.list({ limit: 100 })).filter((a) => a.type === type);
    const hr = (client: Awaited<ReturnType<TestGateway['connect']>>, value: number) =>
      client.publishAsync('devices/band-o/telemetry', JSON.stringify({ ts: clock.now(), hr: value }), { qos: 1 });

    expect(await owners.owner('band-o')).toBeUndefined();
    let bandClient = await gw.connect(band);
    // Taken before the CONNACK: the row is there as soon as the client hears it.
    expect(await owners.owner('band-o')).toMatchObject({ node: 'node-a', epoch: 1 });
    expect(app.evaluator.holds('band-o')).toBe(true);
    await hr(bandClient, 130); // the 2-minute duration starts here

    // Another node takes the band (it reconnected there) while this node still has a message of it.
    await owners.claim('band-o', 'node-b', clock.now());
    clock.advance(125_000);
    await hr(bandClient, 131); // acknowledged (the reading is kept) ...
    expect(await alarms('heart_rate_high')).toEqual([]); // ... but raises nothing here: the band is node-b's
    expect(app.evaluator.holds('band-o')).toBe(false);
    expect((await gw.readings('band-o', 'heart_rate')).map((p) => p.value)).toEqual([130, 131]);

    // An SOS from the pendant, received here after node-b took it, is still an alarm.
    const pendantClient = await gw.connect(pendant);
    await owners.claim('sos-o', 'node-b', clock.now());
    await pendantClient.publishAsync('devices/sos-o/event', JSON.stringify({ ts: clock.now(), type: 'sos', seq: 1 }), { qos: 1 });
    expect(await alarms('sos')).toHaveLength(1);

    // The band comes back to this node: taken again (epoch 3), with the state node-b left, so the duration carries on.
    await bandClient.endAsync(true);
    bandClient = await gw.connect(band);
    expect(await owners.owner('band-o')).toMatchObject({ node: 'node-a', epoch: 3 });
    clock.advance(5_000);
    await hr(bandClient, 132);
    const raised = await alarms('heart_rate_high');
    expect(raised).toHaveLength(1);
    expect(raised[0]!.detail).toMatchObject({ since: Date.UTC(2026, 2, 1, 9, 0, 0) }); // from the first fast reading, 130 s before
  });
});
