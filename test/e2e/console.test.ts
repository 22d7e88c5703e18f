import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type DeviceCredentials, type TestGateway } from '../helpers/gateway.ts';
import { launchChromium, logIn, newPage as openPage, pageClockTime, screenshot } from '../helpers/browser.ts';
import { mosquittoPub } from '../helpers/processes.ts';
import { PASSWORD, seedTenants, type Tenants } from '../helpers/tenants.ts';

/**
 * The console in Debian's real Chromium against a real gateway: alarms come
 * from SOS presses over real MQTT (mosquitto_pub), and every click goes
 * through the real API. Screenshots land in test-results/screenshots.
 */
describe('web console in Chromium', () => {
  let gw: TestGateway;
  let t: Tenants;
  let browser: Browser;
  let band: DeviceCredentials;
  let seq = 1000;

  const sos = async (w: 'own' | 'other') => {
    const d = t.devices[w];
    const raised = gw.waitFor('alarm.raised', (p) => p.alarm.deviceId === d.id);
    const res = await mosquittoPub({ port: gw.urls.mqttPort, id: d.id, password: d.mqtt.password, topic: `devices/${d.id}/event`, message: JSON.stringify({ ts: Date.now(), type: 'sos', seq: ++seq }) });
    expect(res.code, res.stderr).toBe(0);
    return (await raised).alarm;
  };
  // Every page is closed and every alarm resolved after each test, so one failure does not cascade.
  const contexts = new Set<BrowserContext>();
  const newPage: typeof openPage = async (...args) => {
    const opened = await openPage(...args);
    contexts.add(opened.context);
    return opened;
  };
  afterEach(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    contexts.clear();
    const alarms = (await gw.api('GET', '/api/v1/alarms?limit=500')).body as Array<{ id: string; state: string }>;
    for (const a of alarms) if (a.state !== 'resolved') await gw.api('POST', `/api/v1/alarms/${a.id}/resolve`, { outcome: 'other' });
  });
  const row = (page: Page, alarmId: string) => page.locator(`tr[data-alarm="${alarmId}"]`);
  const pageErrors = (page: Page) => (page as Page & { errors: string[] }).errors;

  beforeAll(async () => {
    gw = await startGateway();
    t = await seedTenants(gw);
    band = await gw.onboardDevice('carebell-vitals-band', t.residents.own, 'band-own');
    // A day of vitals for the charts, one reading every 30 minutes.
    const client = await gw.connect(band);
    const now = Date.now();
    for (let i = 48; i >= 1; i--) {
      const ts = now - i * 30 * 60_000;
      await client.publishAsync('devices/band-own/telemetry', JSON.stringify({ ts, hr: 68 + Math.round(8 * Math.sin(i / 5)), spo2: 96 + (i % 3), bp: { sys: 128 + (i % 7), dia: 80 + (i % 4) }, temp: 36.5 + (i % 5) / 10, battery: 70 }), { qos: 1 });
    }
    await client.endAsync();
    await gw.app.telemetry.flush();
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
  });

  it('an operator logs in, sees an SOS arrive live, acknowledges, resolves with an outcome, and the timeline says who did what', async () => {
    const { context, page } = await newPage(browser);
    await page.goto(gw.urls.httpUrl + '/');
    await page.waitForSelector('form.login');
    await screenshot(page, 'login');
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    await page.waitForSelector('.live-connected');
    await page.waitForSelector('[data-testid=queue-empty]');

    const alarm = await sos('own');
    await row(page, alarm.id).waitFor();
    await expect.poll(() => row(page, alarm.id).innerText()).toContain('王秀英');
    expect(await row(page, alarm.id).innerText()).toContain('紧急呼叫');
    await expect.poll(() => page.getAttribute('body', 'data-alarm-sound')).toBe('on'); // set by an effect after the render
    await screenshot(page, 'queue-critical');

    await row(page, alarm.id).locator('[data-action=ack]').click();
    await expect.poll(() => row(page, alarm.id).locator('.state').innerText()).toBe('已确认');
    await expect.poll(() => page.getAttribute('body', 'data-alarm-sound')).toBe('off');

    await row(page, alarm.id).locator('td.resident a').click();
    await page.waitForSelector('[data-testid=alarm-detail]');
    await page.waitForSelector('[data-testid=vital-chart] canvas');
    const card = await page.locator('[data-testid=resident-card]').innerText();
    expect(card).toContain('测试路 1 号');
    expect(card).toContain('+86 138 0000 0001');
    expect(card).toContain('band-own');
    await screenshot(page, 'alarm-detail');

    await page.click('[data-testid=alarm-detail] [data-action=resolve]');
    await page.selectOption('[data-testid=resolve-dialog] select[name=outcome]', 'visited');
    await page.fill('[data-testid=resolve-dialog] textarea', '社工上门，老人无恙');
    await page.click('[data-testid=resolve-dialog] button[type=submit]');
    await expect.poll(() => page.locator('[data-testid=detail-state]').innerText()).toBe('已完成');
    const timeline = await page.locator('[data-testid=timeline]').innerText();
    expect(timeline).toMatch(/已确认\s+operator:operator\.own/);
    expect(timeline).toMatch(/处理完成\s+operator:operator\.own\s+社工上门，老人无恙 · 上门处置/);

    const stored = await gw.api('GET', `/api/v1/alarms/${alarm.id}`);
    expect(stored.body).toMatchObject({ state: 'resolved', outcome: 'visited', resolvedBy: 'operator:operator.own', acknowledgedBy: 'operator:operator.own' });
    await page.click('text=返回');
    await page.waitForSelector('[data-testid=queue-empty]');
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });

  it('keyboard: select, acknowledge with A, mute with M, resolve with R', async () => {
    const { context, page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    const alarm = await sos('own');
    await row(page, alarm.id).waitFor();
    await expect.poll(() => page.getAttribute('body', 'data-alarm-sound')).toBe('on');
    await page.keyboard.press('m');
    await expect.poll(() => page.getAttribute('body', 'data-alarm-sound')).toBe('off');
    expect(await page.locator('[data-testid=mute]').innerText()).toBe('声音：关');
    await page.keyboard.press('m');
    await expect.poll(() => page.getAttribute('body', 'data-alarm-sound')).toBe('on');
    await page.keyboard.press('a');
    await expect.poll(() => row(page, alarm.id).locator('.state').innerText()).toBe('已确认');
    await page.keyboard.press('r');
    await page.waitForSelector('[data-testid=resolve-dialog]');
    await page.selectOption('[data-testid=resolve-dialog] select[name=outcome]', 'false_alarm');
    await page.click('[data-testid=resolve-dialog] button[type=submit]');
    await row(page, alarm.id).waitFor({ state: 'detached' });
    expect((await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body).toMatchObject({ state: 'resolved', outcome: 'false_alarm' });
    await context.close();
  });

  it('a waiting alarm turns amber after 60 s and red after 180 s, and a hidden tab gets a system notification', async () => {
    const { context, page } = await newPage(browser);
    await context.grantPermissions(['notifications']);
    await page.addInitScript(() => {
      const w = window as unknown as { __hidden: boolean; __notified: string[] };
      w.__hidden = false;
      w.__notified = [];
      Object.defineProperty(document, 'hidden', { get: () => w.__hidden });
      const Real = window.Notification;
      window.Notification = class extends Real {
        constructor(title: string, options?: NotificationOptions) {
          super(title, options);
          w.__notified.push(title);
        }
      } as typeof Notification;
    });
    await page.clock.install({ time: pageClockTime() }); // the gateway's time, moved or not
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    await page.evaluate(() => ((window as unknown as { __hidden: boolean }).__hidden = true));
    const alarm = await sos('own');
    await row(page, alarm.id).waitFor();
    expect(await row(page, alarm.id).getAttribute('data-urgency')).toBe('fresh');
    expect(await page.evaluate(() => (window as unknown as { __notified: string[] }).__notified)).toEqual(['紧急告警：紧急呼叫']);
    await page.clock.fastForward('01:05');
    await expect.poll(() => row(page, alarm.id).getAttribute('data-urgency')).toBe('late');
    await page.clock.fastForward('02:00');
    await expect.poll(() => row(page, alarm.id).getAttribute('data-urgency')).toBe('overdue');
    expect(await row(page, alarm.id).locator('[data-testid=elapsed]').innerText()).toMatch(/^03:0\d$/);
    await screenshot(page, 'queue-overdue');
    await gw.api('POST', `/api/v1/alarms/${alarm.id}/resolve`, { outcome: 'handled_remotely' });
    await row(page, alarm.id).waitFor({ state: 'detached' });
    await context.close();
  });

  it('says so when the live stream drops, reconnects by itself, and shows what was raised meanwhile', async () => {
    const { context, page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    await page.waitForSelector('.live-connected');
    gw.app.api.server.closeAllConnections(); // the network drops under the open stream
    await page.waitForSelector('.live-reconnecting');
    expect(await page.locator('[data-testid=live]').innerText()).toBe('连接中断，正在重新连接…');
    const alarm = await sos('own');
    await page.waitForSelector('.live-connected', { timeout: 20_000 });
    await row(page, alarm.id).waitFor();
    await gw.api('POST', `/api/v1/alarms/${alarm.id}/resolve`, { outcome: 'false_alarm' });
    await row(page, alarm.id).waitFor({ state: 'detached' });
    await context.close();
  });

  it('a gateway that cannot write its data is a red banner for the staff, gone by itself when it can again', async () => {
    const { page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    await page.waitForSelector('.live-connected');
    const { page: later } = await newPage(browser);
    await logIn(later, gw.urls.httpUrl, 'provider.own', PASSWORD);
    const banner = page.locator('[data-testid=storage-banner]');
    // The database refuses writes (as on a full disk): an SOS cannot be recorded, so it is not acknowledged.
    gw.app.db.pragma('query_only = ON');
    try {
      const pendant = await gw.connect(t.devices.own);
      void pendant.publishAsync(`devices/${t.devices.own.id}/event`, JSON.stringify({ ts: Date.now(), type: 'sos', seq: ++seq }), { qos: 1 }).catch(() => {});
      await banner.waitFor();
      expect(await banner.innerText()).toMatch(/^网关无法写入数据（.*readonly.*）：设备消息暂不确认，设备会重发，空间恢复后自动继续。请立即联系系统管理员。$/);
      await screenshot(page, 'storage-banner');
      // A page loaded meanwhile (F5) learns it from /readyz. (Logging in needs a write, so it waits for space.)
      await later.reload();
      await later.locator('[data-testid=storage-banner]').waitFor();
    } finally {
      gw.app.db.pragma('query_only = OFF');
    }
    await banner.waitFor({ state: 'detached' }); // the next probe write succeeds
  });

  it('the fleet view lists only the operator\'s devices, filters them, and shows a device\'s rejected messages', async () => {
    const pendant = await gw.connect(t.devices.own);
    await pendant.publishAsync('devices/pendant-own/telemetry', '{"battery": "full"', { qos: 1 });
    const { context, page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    await page.goto(gw.urls.httpUrl + '/#/fleet');
    await page.waitForSelector('tr[data-device="band-own"]');
    const ids = await page.locator('[data-testid=fleet] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device')));
    expect(ids.sort()).toEqual(['band-own', 'pendant-own']);
    await page.selectOption('[data-testid=filter-state]', 'online');
    await expect.poll(() => page.locator('[data-testid=fleet] tbody tr').count()).toBe(1);
    await page.selectOption('[data-testid=filter-state]', 'all');
    await screenshot(page, 'fleet');
    await page.locator('tr[data-device="pendant-own"] [data-action=dead-letters]').click();
    await page.waitForSelector('[data-testid=dead-letters] li');
    expect(await page.locator('[data-testid=dead-letters]').innerText()).toContain('{"battery": "full"');
    await pendant.endAsync();
    await context.close();
  });

  it('a family member on a phone sees only their relative, and acknowledges: "I am going over"', async () => {
    const { context, page } = await newPage(browser, 'phone');
    await logIn(page, gw.urls.httpUrl, 'family.own', PASSWORD);
    await page.waitForSelector('[data-testid=family-none-open]');
    expect(await page.locator('h1').innerText()).toBe('王秀英 的情况');
    const other = await sos('other');
    const own = await sos('own');
    await page.waitForSelector(`[data-testid=family] article[data-alarm="${own.id}"]`);
    expect(await page.locator(`article[data-alarm="${other.id}"]`).count()).toBe(0);
    expect(await page.locator('[data-testid=family]').innerText()).not.toContain('陈桂芳');
    await page.waitForSelector(`article[data-alarm="${own.id}"] .timeline li`);
    await screenshot(page, 'family-phone');
    await page.click(`article[data-alarm="${own.id}"] [data-action=ack]`);
    await expect.poll(() => page.locator(`article[data-alarm="${own.id}"] .state`).innerText()).toBe('已确认');
    await expect.poll(async () => (await gw.api('GET', `/api/v1/alarms/${own.id}`)).body.acknowledgedBy).toBe('family:family.own');
    expect(await page.locator('[data-testid=family-devices]').innerText()).toContain('band-own');
    for (const a of [own, other]) await gw.api('POST', `/api/v1/alarms/${a.id}/resolve`, { outcome: 'visited' });
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });

  it('an operator on a phone gets the same queue, narrowed to what fits, and can acknowledge', async () => {
    const { context, page } = await newPage(browser, 'phone');
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    const alarm = await sos('own');
    await row(page, alarm.id).waitFor();
    await page.waitForSelector('[data-testid=critical-banner]');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390); // nothing wider than the phone
    await screenshot(page, 'queue-phone');
    await row(page, alarm.id).locator('[data-action=ack]').tap();
    await expect.poll(() => row(page, alarm.id).locator('.state').innerText()).toBe('已确认');
    await page.waitForSelector('[data-testid=critical-banner]', { state: 'detached' });
    await gw.api('POST', `/api/v1/alarms/${alarm.id}/resolve`, { outcome: 'visited' });
    await context.close();
  });

  it('a provider sees its residents\' alarms and devices, read-only, without the call tone', async () => {
    const { context, page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'provider.own', PASSWORD);
    const other = await sos('other');
    const alarm = await sos('own');
    await row(page, alarm.id).waitFor();
    expect(await row(page, other.id).count()).toBe(0);
    expect(await row(page, alarm.id).locator('button').count()).toBe(0);
    expect(await page.getAttribute('body', 'data-alarm-sound')).not.toBe('on');
    await page.click('text=设备');
    await page.waitForSelector('tr[data-device="band-own"]');
    expect(await page.locator('tr[data-device="pendant-other"]').count()).toBe(0);
    for (const a of [alarm, other]) await gw.api('POST', `/api/v1/alarms/${a.id}/resolve`, { outcome: 'false_alarm' });
    await context.close();
  });

  it('the language switch changes every text, and the choice is kept', async () => {
    const { context, page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    const alarm = await sos('own');
    await row(page, alarm.id).waitFor();
    const zhText = await page.locator('body').innerText();
    expect(zhText).toContain('告警队列');
    await page.click('[data-testid=lang]');
    await expect.poll(() => page.locator('nav').innerText()).toContain('Alarm queue');
    const enText = await page.locator('body').innerText();
    expect(enText).toContain('Emergency call');
    expect(enText).toContain('Critical');
    expect(enText).not.toMatch(/告警|紧急|确认|处理|设备|声音|退出/); // no Chinese UI words left (resident names are data)
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await screenshot(page, 'queue-english');
    await page.reload();
    await page.waitForSelector('.topbar');
    expect(await page.locator('nav').innerText()).toContain('Alarm queue');
    await page.click('[data-testid=lang]');
    await expect.poll(() => page.locator('nav').innerText()).toContain('告警队列');
    await gw.api('POST', `/api/v1/alarms/${alarm.id}/resolve`, { outcome: 'false_alarm' });
    await context.close();
  });
});
