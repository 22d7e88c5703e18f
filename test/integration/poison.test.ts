import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoPub } from '../helpers/processes.ts';
import { startGateway, type DeviceCredentials, type TestGateway } from '../helpers/gateway.ts';

/**
 * A poison message must never stand between a device and its next SOS: it is
 * dead-lettered with its reason, acknowledged, and the session goes on.
 * Real firmware keeps a persistent session (clean: false), so a message the
 * gateway never acknowledges is redelivered on every reconnect, forever.
 */
describe('poison payloads', () => {
  let gw: TestGateway;
  let pendant: DeviceCredentials;
  let residentId: string;

  beforeAll(async () => {
    gw = await startGateway();
    ({ residentId } = await gw.seedResident());
    pendant = await gw.onboardDevice('carebell-sos-pendant', residentId, 'pendant-poison');
  });
  afterAll(() => gw.stop());

  const deadLetters = async () => (await gw.api('GET', `/api/v1/dead-letters?deviceId=${pendant.id}&limit=100`)).body as Array<{ code: string; reason: string; payloadText: string }>;
  const openSos = async () => ((await gw.api('GET', `/api/v1/alarms?state=open&residentId=${residentId}`)).body as Array<{ type: string; count: number }>).filter((a) => a.type === 'sos');

  it('an event type named after an Object.prototype member is dead-lettered and acknowledged; the SOS behind it raises an alarm', async () => {
    const client = await gw.connect(pendant, { clean: false });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    let seq = 100;
    for (const type of ['constructor', 'toString', '__proto__', 'valueOf', 'hasOwnProperty']) {
      // Every publish resolves only on its PUBACK: before the fix, the first one never did.
      await client.publishAsync(`devices/${pendant.id}/event`, JSON.stringify({ ts: Date.now(), type, seq: ++seq }), { qos: 1 });
    }
    const raised = gw.waitFor('alarm.raised', (a) => a.alarm.type === 'sos' && a.alarm.deviceId === pendant.id);
    await client.publishAsync(`devices/${pendant.id}/event`, JSON.stringify({ ts: Date.now(), type: 'sos', seq: ++seq }), { qos: 1 });
    await raised;
    expect(client.connected).toBe(true);
    const letters = await deadLetters();
    expect(letters.filter((d) => d.code === 'unknown_event').map((d) => JSON.parse(d.payloadText).type).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf']);
    expect(letters.find((d) => JSON.parse(d.payloadText).type === 'constructor')!.reason).toMatch(/unknown event "constructor"; expected one of/);
    await client.endAsync();
    await closed;
  });

  it('a JSON object with a repeated key is refused with the key named, and raises nothing', async () => {
    const before = (await openSos())[0]?.count ?? 0;
    // The last "type" would win in JSON.parse: a cancel that turns into an SOS.
    const payload = `{"ts": ${Date.now()}, "type": "sos_cancelled", "seq": 500, "type": "sos"}`;
    const res = await mosquittoPub({ port: gw.urls.mqttPort, id: pendant.id, password: pendant.mqtt.password, topic: `devices/${pendant.id}/event`, message: payload });
    expect(res.code).toBe(0);
    const letter = (await deadLetters()).find((d) => d.payloadText === payload);
    expect(letter).toMatchObject({ code: 'not_json' });
    expect(letter!.reason).toBe('duplicate key "type" in a JSON object');
    expect((await openSos())[0]?.count ?? 0).toBe(before);
    expect(gw.app.db!.prepare('SELECT count(*) FROM device_events WHERE device_id = ? AND seq = 500').pluck().get(pendant.id)).toBe(0);
  });

  it('a message the gateway fails on for any reason but storage is dead-lettered and acknowledged', async () => {
    // A rule step that throws on this device's event stands in for any bug a payload may find.
    const evaluator = gw.app.evaluator;
    const onEvent = evaluator.onEvent.bind(evaluator);
    evaluator.onEvent = async (device, event, tx) => {
      if (event.deviceId === pendant.id && event.seq === 900) throw new TypeError('a bug this payload found');
      return onEvent(device, event, tx);
    };
    const off = () => void (evaluator.onEvent = onEvent);
    try {
      const client = await gw.connect(pendant, { clean: false });
      await client.publishAsync(`devices/${pendant.id}/event`, JSON.stringify({ ts: Date.now(), type: 'sos', seq: 900 }), { qos: 1 });
      expect(client.connected).toBe(true);
      const letter = (await deadLetters()).find((d) => d.code === 'processing_failed');
      expect(letter?.reason).toBe('the gateway could not process this message: a bug this payload found');
      await client.endAsync();
    } finally {
      off();
    }
  });
});
