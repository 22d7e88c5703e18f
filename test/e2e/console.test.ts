import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type DeviceCredentials, type TestGateway } from '../helpers/gateway.ts';
import { controlPageClock, launchChromium, logIn, newPage as openPage, screenshot } from '../helpers/browser.ts';
import { mosquittoPub } from '../helpers/processes.ts';
import { PASSWORD, seedTenants, type Tenants } from '../helpers/tenants.ts';

/** A station's response plan, in the station's words: data the console shows as written. */
const STATION_PLAN = '30 秒内回拨老人；无人接听立即派人上门，同时联系家属。';

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
    // Readable: one line per ladder step of notifications, actors as role and name, no ids, the note on its own.
    const timeline = page.locator('[data-testid=timeline]');
    const text = await timeline.innerText();
    expect(text).toMatch(/告警产生/);
    expect(text).toMatch(/已确认\s+值班员 张护士/);
    expect(text).toMatch(/处理完成：上门处置\s+值班员 张护士\s+“社工上门，老人无恙”/);
    expect(text).not.toMatch(/stn_|alm_|rule:|operator:|webhook|console/);
    const told = timeline.locator('li[data-kind=notify]').first();
    expect(await told.locator('summary').innerText()).toMatch(/^已通知 .*社区/);
    expect(await timeline.locator('li[data-kind=notify]').count()).toBeLessThanOrEqual(3); // raised, escalated, acknowledged: not a line per delivery
    await told.locator('summary').click();
    expect(await told.locator('ul li').count()).toBeGreaterThanOrEqual(1);
    await screenshot(page, 'alarm-detail-resolved');

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

  it('an outcome chosen the moment the resolve dialog opens is the one sent, not put back to the default', async () => {
    const { context, page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    const alarm = await sos('own');
    await row(page, alarm.id).waitFor();
    // R, then the outcome chosen as soon as the dialog is in the page, before the browser has painted it;
    // then a few frames pass (whatever the dialog does after its paint has run) before it is sent.
    await page.evaluate(async () => {
      document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'r', bubbles: true }));
      for (let i = 0; i < 1_000 && !document.querySelector('[data-testid=resolve-dialog] select[name=outcome]'); i++) await Promise.resolve();
      const select = document.querySelector<HTMLSelectElement>('[data-testid=resolve-dialog] select[name=outcome]')!;
      select.value = 'false_alarm';
      select.dispatchEvent(new Event('change', { bubbles: true }));
      for (let i = 0; i < 5; i++) await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 20)));
    });
    expect(await page.locator('[data-testid=resolve-dialog] select[name=outcome]').inputValue()).toBe('false_alarm');
    await screenshot(page, 'console-resolve-dialog-chosen-at-once');
    await page.click('[data-testid=resolve-dialog] button[type=submit]');
    await row(page, alarm.id).waitFor({ state: 'detached' });
    expect((await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body).toMatchObject({ state: 'resolved', outcome: 'false_alarm' });
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });

  it('a waiting alarm turns from neutral to amber to red by its own ladder, and a hidden tab gets a system notification', async () => {
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
    await controlPageClock(page); // the gateway's time, moved or not
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    await page.evaluate(() => ((window as unknown as { __hidden: boolean }).__hidden = true));
    const alarm = await sos('own');
    // A major alarm beside it: its ladder (the resident lives alone) is 5 and 15 minutes, not seconds.
    const major = await gw.app.alarms.raise({ type: 'heart_rate_high', severity: 'major', subject: `${t.residents.own}:hr`, deviceId: null, residentId: t.residents.own, stationId: t.stations.communityA, detail: {}, actor: 'test' });
    await row(page, alarm.id).waitFor();
    await row(page, major.id).waitFor();
    expect(await row(page, alarm.id).getAttribute('data-urgency')).toBe('fresh');
    expect(await page.evaluate(() => (window as unknown as { __notified: string[] }).__notified)).toEqual(['紧急告警：紧急呼叫']);
    // Critical, living alone: the street centre is told at 45 s, the district at 120 s.
    await page.clock.fastForward('00:50');
    await expect.poll(() => row(page, alarm.id).getAttribute('data-urgency')).toBe('late');
    await page.clock.fastForward('01:15');
    await expect.poll(() => row(page, alarm.id).getAttribute('data-urgency')).toBe('overdue');
    expect(await row(page, alarm.id).locator('[data-testid=elapsed]').innerText()).toMatch(/^02:0\d$/);
    expect(await row(page, major.id).getAttribute('data-urgency')).toBe('fresh'); // 2 minutes is nothing for a major alarm
    await screenshot(page, 'queue-overdue');
    await page.clock.fastForward('03:00');
    await expect.poll(() => row(page, major.id).getAttribute('data-urgency')).toBe('late');
    await page.clock.fastForward('10:00');
    await expect.poll(() => row(page, major.id).getAttribute('data-urgency')).toBe('overdue');
    for (const a of [alarm, major]) {
      await gw.api('POST', `/api/v1/alarms/${a.id}/resolve`, { outcome: 'handled_remotely' });
      await row(page, a.id).waitFor({ state: 'detached' });
    }
    await context.close();
  });

  it('a dropped live connection is loud (banner, stale timers), reconnects by itself, and says what came up meanwhile', async () => {
    const { context, page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    await page.waitForSelector('.live-connected');
    const first = await sos('own');
    await row(page, first.id).waitFor();
    // The gateway is unreachable: the open stream drops and every reconnect fails until the route is freed.
    await page.route('**/api/v1/stream', (route) => route.abort('connectionrefused'));
    gw.app.api.server.closeAllConnections();
    await page.waitForSelector('.live-reconnecting');
    expect(await page.locator('[data-testid=live]').innerText()).toBe('连接中断，正在重新连接…');
    const lost = page.locator('[data-testid=lost-banner]');
    await lost.waitFor();
    expect(await lost.innerText()).toMatch(/^与网关的实时连接已中断 00:0\d：新告警不会显示，等待时间可能不准。正在重新连接…$/);
    expect(await row(page, first.id).locator('[data-testid=elapsed]').getAttribute('data-stale')).toBe('true');
    await screenshot(page, 'live-lost');
    const meanwhile = await sos('other'); // another station's: not this operator's, not counted
    // The own pendant's SOS is already open (a press now would repeat it): a fall is new.
    const missed = await gw.app.alarms.raise({ type: 'fall', severity: 'critical', subject: `${t.residents.own}:fall`, deviceId: null, residentId: t.residents.own, stationId: t.stations.communityA, detail: {}, actor: 'test' });
    await page.unroute('**/api/v1/stream');
    await page.waitForSelector('.live-connected', { timeout: 20_000 });
    const back = page.locator('[data-testid=back-banner]');
    await back.waitFor();
    expect(await back.innerText()).toBe('实时连接已恢复；中断期间新增 1 条告警，已在队列中');
    await row(page, missed.id).waitFor();
    expect(await lost.count()).toBe(0);
    expect(await row(page, first.id).locator('[data-testid=elapsed]').getAttribute('data-stale')).toBeNull();
    await context.close();
  });

  it('after a reload (F5) the call tone sounds again; where the browser holds sound back, a bar says so until any click', async () => {
    const { context, page } = await newPage(browser);
    // Count the tones the page makes (each is made of oscillators).
    await page.addInitScript(() => {
      const w = window as unknown as { __tones: number };
      w.__tones = 0;
      const make = AudioContext.prototype.createOscillator;
      AudioContext.prototype.createOscillator = function (this: AudioContext) {
        if (this.state === 'running') w.__tones++;
        return make.call(this);
      };
    });
    const tones = () => page.evaluate(() => (window as unknown as { __tones: number }).__tones);
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    const alarm = await sos('own');
    await row(page, alarm.id).waitFor();
    await expect.poll(tones, { timeout: 6_000 }).toBeGreaterThan(0); // a tone every 2.5 s
    await page.reload(); // the login click is gone
    await row(page, alarm.id).waitFor();
    await expect.poll(tones, { timeout: 6_000 }).toBeGreaterThan(0); // ringing again, not silent with "声音：开" showing
    expect(await page.locator('[data-testid=mute]').innerText()).toBe('声音：开');

    // A console opened where the browser allows no sound before a gesture (a new window, the session kept).
    // Headless Chromium lets every page make sound, so a desktop browser's autoplay policy is played here:
    // audio starts suspended and resumes only after a real click or key on the page.
    const session = await page.evaluate(() => sessionStorage.getItem('carebell.session'));
    const fresh = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    contexts.add(fresh);
    await fresh.addInitScript((value) => {
      sessionStorage.setItem('carebell.session', value!);
      let activated = false;
      for (const type of ['pointerdown', 'keydown']) addEventListener(type, (e) => void (e.isTrusted && (activated = true)), { capture: true });
      const Real = AudioContext;
      window.AudioContext = class extends Real {
        constructor(options?: AudioContextOptions) {
          super(options);
          void super.suspend();
        }
        override resume(): Promise<void> {
          return activated ? super.resume() : Promise.resolve();
        }
      };
    }, session);
    const locked = await fresh.newPage();
    await locked.goto(gw.urls.httpUrl + '/');
    await locked.locator(`tr[data-alarm="${alarm.id}"]`).waitFor();
    const bar = locked.locator('[data-testid=sound-locked]');
    await bar.waitFor();
    expect(await locked.evaluate(() => document.body.dataset.audio)).toBe('locked');
    expect(await bar.innerText()).toBe('报警声音未启用：点击页面任意处或按任意键启用');
    await screenshot(locked, 'sound-locked');
    await locked.mouse.click(700, 600); // anywhere
    await expect.poll(() => locked.evaluate(() => document.body.dataset.audio)).toBe('running');
    await bar.waitFor({ state: 'detached' });
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
    gw.app.db!.pragma('query_only = ON');
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
      gw.app.db!.pragma('query_only = OFF');
    }
    await banner.waitFor({ state: 'detached' }); // the next probe write succeeds
  });

  it('the detail puts the care record and the station\'s plan first; a call, an answer and a responder on site are logged in a few keys', async () => {
    await gw.api('PATCH', `/api/v1/residents/${t.residents.own}`, {
      careRecord: {
        allergies: ['青霉素'],
        conditions: ['高血压', '2 型糖尿病'],
        medications: ['硝苯地平 10 mg 每日两次'],
        mobility: '拄拐，起身慢',
        gp: '江汉社区卫生服务中心 王医生 027-8888 0001',
        access: { keySafe: '门口电表箱，密码 2468', keyholder: '邻居 刘阿姨 502 室' },
        language: '武汉话，耳背',
      },
    });
    await gw.api('PUT', `/api/v1/stations/${t.stations.communityA}/response-plans`, { sos: STATION_PLAN });
    const { page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    const alarm = await sos('own');
    await page.goto(`${gw.urls.httpUrl}/#/alarm/${alarm.id}`);
    const care = page.locator('[data-testid=care-card]');
    await care.waitFor();
    const careText = await care.innerText();
    expect(careText).toContain('过敏\n青霉素');
    expect(careText).toContain('钥匙盒\n门口电表箱，密码 2468');
    expect(await page.locator('[data-testid=response-plan]').innerText()).toBe(`本站处置预案： ${STATION_PLAN}`);
    // The care card comes before the timeline.
    const [careBox, timelineBox] = await Promise.all([care.boundingBox(), page.locator('[data-testid=timeline]').boundingBox()]);
    expect(careBox!.y).toBeLessThan(timelineBox!.y);
    await screenshot(page, 'alarm-detail-care');

    // The son's phone: the call, his answer, in the dialog; Enter saves.
    await page.click('[data-testid=resident-card] [data-action=call]');
    const call = page.locator('[data-testid=call-dialog]');
    await call.waitFor();
    await call.locator('input[name=answer][value=going]').check();
    await call.locator('input[name=eta]').fill('15');
    await call.locator('input[name=eta]').press('Enter');
    await call.waitFor({ state: 'detached' });
    const timeline = page.locator('[data-testid=timeline]');
    await expect.poll(() => timeline.innerText()).toContain('致电 王秀英的家属：已接通');
    expect(await timeline.innerText()).toContain('儿子 王秀英的家属 赶往中，预计 15 分钟');

    // He arrives: on site.
    await page.click('[data-testid=alarm-detail] [data-action=onsite]');
    await page.locator('[data-testid=onsite-dialog] input[name=who]').fill('儿子 王秀英的家属');
    await page.keyboard.press('Enter');
    await expect.poll(() => timeline.innerText()).toContain('儿子 王秀英的家属 已到现场');
    expect((await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body).toMatchObject({ state: 'open', onSiteBy: '儿子 王秀英的家属' });

    // The queue's keys work on the detail: A acknowledges, R opens the resolve dialog.
    await page.keyboard.press('a');
    await expect.poll(() => page.locator('[data-testid=detail-state]').innerText()).toBe('已确认');
    // The resolve dialog: a note, Tab, Enter resolves (the primary button comes first); nothing is lost.
    await page.keyboard.press('r');
    await page.selectOption('[data-testid=resolve-dialog] select[name=outcome]', 'visited');
    await page.fill('[data-testid=resolve-dialog] textarea', '儿子已到，老人无碍');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('[data-testid=detail-state]').innerText()).toBe('已完成');
    expect((await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body).toMatchObject({ state: 'resolved', outcome: 'visited' });
    expect(await timeline.innerText()).toContain('“儿子已到，老人无碍”');
    await screenshot(page, 'alarm-detail-handled');
    await page.click('[data-testid=lang]');
    await screenshot(page, 'alarm-detail-handled-en');
    expect(await timeline.innerText()).toContain('son 王秀英的家属 on the way, about 15 min'); // what the son is, in English; what staff typed stays as typed
    await page.click('[data-testid=lang]');

    // The emergency card, to print.
    await page.click('[data-action=print-card]');
    const card = page.locator('[data-testid=emergency-card]');
    await card.waitFor();
    expect(await card.innerText()).toContain('急救卡 · 王秀英');
    await screenshot(page, 'emergency-card');
    expect(pageErrors(page)).toEqual([]);
  });

  it('a vitals alarm shows the values that raised it, and one episode\'s alarms are linked', async () => {
    const { page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    // As the threshold and early-warning rules raise them (their detail shapes), for the band's resident.
    const base = { residentId: t.residents.own, stationId: t.stations.communityA, deviceId: 'band-own', actor: 'rule:test' };
    const hr = await gw.app.alarms.raise({ ...base, type: 'heart_rate_high', severity: 'major', subject: 'band-own', detail: { reading: 'heart_rate', value: 132, unit: 'bpm', above: 120, forSeconds: 120, since: Date.now() - 120_000 } });
    const news = await gw.app.alarms.raise({ ...base, type: 'vitals_warning', severity: 'major', subject: 'band-own', detail: { score: 5, parts: {}, values: { heart_rate: { value: 132 }, spo2: { value: 93 } } } });
    await row(page, hr.id).waitFor();
    expect(await row(page, hr.id).locator('.values').innerText()).toBe('心率 132 次/分（> 120，持续 2 分钟）');
    expect(await row(page, news.id).locator('.values').innerText()).toBe('预警评分 5 · 心率 132 · 血氧 93');
    expect(await row(page, hr.id).locator('[data-testid=related]').innerText()).toBe('同一时段另有 1 条：体征异常');
    await screenshot(page, 'queue-vitals');
    await page.click(`tr[data-alarm="${hr.id}"] td.resident a`);
    await page.waitForSelector('[data-testid=raised-by]');
    expect(await page.locator('[data-testid=raised-by]').innerText()).toBe('心率 132 次/分（> 120，持续 2 分钟）');
    const related = page.locator('[data-testid=related-alarms]');
    expect(await related.innerText()).toContain('体征异常');
    await related.locator(`a[href="#/alarm/${news.id}"]`).click();
    await expect.poll(() => page.locator('[data-testid=raised-by]').innerText()).toBe('预警评分 5 · 心率 132 · 血氧 93');
    // Handed over to a named colleague, with a word for them.
    await page.click('[data-testid=alarm-detail] [data-action=handover]');
    const dialog = page.locator('[data-testid=handover-dialog]');
    // The first start's administrator and the tenants' admin: both can see the alarm; the operator is not offered themselves.
    await expect.poll(() => dialog.locator('select[name=to] option').allInnerTexts()).toEqual(['Administrator (admin)', 'admin.user']);
    await dialog.locator('select[name=to]').selectOption('admin.user');
    await dialog.locator('textarea').fill('心率仍高，请继续跟进');
    await dialog.locator('[data-action=confirm]').click();
    await expect.poll(() => page.locator('[data-testid=timeline]').innerText()).toContain('转交给 admin.user');
    expect((await gw.api('GET', `/api/v1/alarms/${news.id}`)).body.assignedTo).toBe('admin.user');
  });

  it('staff who see several stations get a station column and a search box', async () => {
    const { page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'admin.user', PASSWORD);
    const own = await sos('own');
    const other = await sos('other');
    await row(page, own.id).waitFor();
    await row(page, other.id).waitFor();
    const stationOf = async (id: string) => row(page, id).locator('td.station').innerText();
    expect([await stationOf(own.id), await stationOf(other.id)]).not.toContain('—');
    expect(await stationOf(own.id)).not.toBe(await stationOf(other.id));
    await page.fill('[data-testid=queue-search]', '陈桂芳');
    await expect.poll(() => page.locator('[data-testid=queue] tbody tr').count()).toBe(1);
    expect(await row(page, other.id).count()).toBe(1);
    await screenshot(page, 'queue-admin-search');
    // A resident without a health band: the vitals card says there is nothing, rather than drawing empty axes.
    await row(page, other.id).locator('td.resident a').click();
    await page.waitForSelector('[data-testid=alarm-detail]');
    await expect.poll(() => page.locator('[data-testid=vitals-empty]').count()).toBe(1);
    expect(await page.locator('[data-testid=vital-chart]').count()).toBe(0);
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

  it('a family member on a phone sees only their relative and answers "I am going, 20 minutes": not an acknowledgement, and the station sees it', async () => {
    const { page } = await newPage(browser, 'phone');
    await logIn(page, gw.urls.httpUrl, 'family.own', PASSWORD);
    await page.waitForSelector('[data-testid=family-none-open]');
    expect(await page.locator('h1').innerText()).toBe('王秀英 的情况');
    const { page: station } = await newPage(browser);
    await logIn(station, gw.urls.httpUrl, 'operator.own', PASSWORD);
    const other = await sos('other');
    const own = await sos('own');
    await page.waitForSelector(`[data-testid=family] article[data-alarm="${own.id}"]`);
    expect(await page.locator(`article[data-alarm="${other.id}"]`).count()).toBe(0);
    expect(await page.locator('[data-testid=family]').innerText()).not.toContain('陈桂芳');
    // The alarm and its two answers are above the fold of a 390×844 phone.
    for (const action of ['going', 'cannot']) {
      const box = await page.locator(`article[data-alarm="${own.id}"] [data-action=${action}]`).boundingBox();
      expect(box!.y + box!.height, action).toBeLessThanOrEqual(844);
    }
    await screenshot(page, 'family-phone');
    await page.click(`article[data-alarm="${own.id}"] [data-action=going]`);
    await page.click(`article[data-alarm="${own.id}"] [data-eta="20"]`);
    await expect.poll(() => page.locator(`article[data-alarm="${own.id}"] [data-testid=family-answered]`).innerText()).toBe('您已回复：儿子 王秀英的家属 赶往中，预计 20 分钟 修改');
    const after = (await gw.api('GET', `/api/v1/alarms/${own.id}`)).body;
    expect(after).toMatchObject({ state: 'open', acknowledgedBy: null, responses: [{ relation: 'son', going: true, etaMinutes: 20 }] });
    // The station: the row still open (and red), the answer on it.
    await expect.poll(() => row(station, own.id).locator('[data-testid=response]').innerText()).toBe('儿子 王秀英的家属 赶往中，预计 20 分钟');
    expect(await row(station, own.id).locator('.state').innerText()).toBe('待处理');
    await screenshot(station, 'queue-family-going');
    // The nurse acknowledges: the son reads who has it, in a sentence.
    await row(station, own.id).locator('[data-action=ack]').click();
    await expect.poll(() => page.locator(`article[data-alarm="${own.id}"] [data-testid=family-timeline]`).innerText()).toContain('值班员 张护士 已确认，正在处理');
    const said = await page.locator(`article[data-alarm="${own.id}"] [data-testid=family-timeline]`).innerText();
    expect(said).toContain('告警已发出，社区站正在处理');
    expect(said).not.toMatch(/operator|rule:|webhook|通知失败/);
    await screenshot(page, 'family-phone-acknowledged');
    await page.click('[data-testid=lang]');
    await expect.poll(() => page.locator(`article[data-alarm="${own.id}"] [data-testid=family-timeline]`).innerText()).toContain('operator 张护士 has it and is dealing with it');
    await screenshot(page, 'family-phone-acknowledged-en');
    await page.click('[data-testid=lang]');
    for (const a of [own, other]) await gw.api('POST', `/api/v1/alarms/${a.id}/resolve`, { outcome: 'visited' });
    expect(pageErrors(page)).toEqual([]);
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

  it('a user changes their own password in the console: every login ends, the login page says why, the new password works', async () => {
    await gw.api('POST', '/api/v1/users', { username: 'nurse.wang', password: 'first password 123', role: 'operator', stationId: t.stations.communityA, displayName: '王护士' });
    const { page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'nurse.wang', 'first password 123');
    await page.click('[data-testid=account-link]');
    await page.waitForSelector('[data-testid=password-form]');
    expect(await page.locator('[data-testid=account-username]').innerText()).toBe('nurse.wang');
    // Checked before it is sent: too short, then two different entries.
    await page.fill('input[name=password]', 'short');
    await page.fill('input[name=repeat]', 'short');
    await page.click('[data-testid=password-form] button[type=submit]');
    await expect.poll(() => page.locator('[data-testid=password-form] [role=alert]').innerText()).toBe('密码至少需要 10 个字符');
    await page.fill('input[name=password]', 'second password 456');
    await page.fill('input[name=repeat]', 'second password 457');
    await page.click('[data-testid=password-form] button[type=submit]');
    await expect.poll(() => page.locator('[data-testid=password-form] [role=alert]').innerText()).toBe('两次输入的密码不一致');
    await page.fill('input[name=repeat]', 'second password 456');
    await page.click('[data-testid=password-form] button[type=submit]');
    await page.waitForSelector('[data-testid=login-notice]');
    expect(await page.locator('[data-testid=login-notice]').innerText()).toBe('密码已修改，请用新密码登录');
    await screenshot(page, 'password-changed');
    expect((await gw.api('POST', '/api/v1/auth/login', { username: 'nurse.wang', password: 'first password 123' }, null)).status).toBe(401);
    await page.fill('input[name=username]', 'nurse.wang');
    await page.fill('input[name=password]', 'second password 456');
    await page.click('button[type=submit]');
    await page.waitForSelector('.topbar');
    expect(await page.locator('[data-testid=account-link]').innerText()).toBe('王护士');
  });

  it('an administrator manages accounts in the console: creates one with a password shown once, disables, enables, gives a new password', async () => {
    const { page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, t.users.admin.username, PASSWORD);
    await page.click('[data-testid=nav-users]');
    await page.waitForSelector('[data-testid=users] tr[data-user="operator.own"]');
    const form = page.locator('[data-testid=create-user]');
    await form.locator('input[name=username]').fill('nurse.zhao');
    await form.locator('input[name=displayName]').fill('赵护士');
    await form.locator('select[name=role]').selectOption('operator');
    await form.locator('select[name=scope]').selectOption(t.stations.communityA);
    await form.locator('button[type=submit]').click();
    const given = page.locator('[data-testid=given-password] code');
    await given.waitFor();
    const first = await given.innerText();
    expect(first).toMatch(/^[A-Za-z0-9]{16}$/);
    await page.waitForSelector('tr[data-user="nurse.zhao"]');
    expect(await page.locator('tr[data-user="nurse.zhao"]').innerText()).toContain('江汉社区养老服务站');
    await screenshot(page, 'page-users-zh');
    const login = (password: string) => gw.api('POST', '/api/v1/auth/login', { username: 'nurse.zhao', password }, null);
    expect((await login(first)).status).toBe(200);

    await page.click('tr[data-user="nurse.zhao"] [data-action=disable]');
    await page.waitForSelector('tr[data-user="nurse.zhao"] [data-action=enable]');
    expect((await login(first)).status).toBe(401);
    await page.click('tr[data-user="nurse.zhao"] [data-action=enable]');
    await page.waitForSelector('tr[data-user="nurse.zhao"] [data-action=disable]');
    expect((await login(first)).status).toBe(200);

    await page.click('tr[data-user="nurse.zhao"] [data-action=password]');
    await expect.poll(() => given.innerText()).not.toBe(first);
    const second = await given.innerText();
    expect((await login(first)).status).toBe(401);
    expect((await login(second)).status).toBe(200);
    // The search narrows the list; the page has no English left in Chinese, and none of it in English.
    await page.fill('[data-testid=users-search]', '赵护士');
    await expect.poll(() => page.locator('[data-testid=users] tbody tr').count()).toBe(1);
    expect(await page.locator('main').innerText()).not.toMatch(/\b(Accounts|Username|Disable|Enable|Scope|Password)\b/);
    await page.click('[data-testid=lang]');
    await page.fill('[data-testid=users-search]', '');
    await expect.poll(() => page.locator('h1').innerText()).toBe('Accounts');
    const english = (await page.locator('main').innerText()).replace(/赵护士|张护士|王护士|李护士|\S*社区\S*|\S*街道\S*|\S*区\S*中心|\S*公司|王秀英\S*|陈桂芳\S*|演示\S*/g, '');
    expect(english).not.toMatch(/账户|用户名|停用|启用|密码|范围|状态|正常/);
    await screenshot(page, 'page-users-en');
  });

  it('an administrator builds a district → street → community tree in the console, renames a station and sets its webhook', async () => {
    const { page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, t.users.admin.username, PASSWORD);
    await page.click('[data-testid=nav-stations]');
    await page.waitForSelector('[data-testid=stations] li[data-station="江汉社区养老服务站"]');
    const add = async (parent: string | null, name: string) => {
      if (parent === null) await page.click('[data-action=add-district]');
      else await page.click(`li[data-station="${parent}"] > .station-row [data-action=add-child]`);
      await page.fill('[data-testid=add-station] input[name=name]', name);
      await page.click('[data-testid=add-station] button[type=submit]');
      await page.waitForSelector(`li[data-station="${name}"]`);
    };
    await add(null, '拱墅区养老服务指导中心');
    await add('拱墅区养老服务指导中心', '米市巷街道居家养老服务中心');
    await add('米市巷街道居家养老服务中心', '珠儿潭社区养老服务站');
    // The tree as the console shows it: the community inside the street inside the district.
    expect(await page.locator('li[data-station="拱墅区养老服务指导中心"] li[data-station="米市巷街道居家养老服务中心"] li[data-station="珠儿潭社区养老服务站"]').count()).toBe(1);
    expect(await page.locator('li[data-station="珠儿潭社区养老服务站"] [data-action=add-child]').count()).toBe(0); // nothing below a community

    await page.click('li[data-station="珠儿潭社区养老服务站"] > .station-row [data-action=edit]');
    await page.fill('[data-testid=edit-station] input[name=name]', '珠儿潭社区居家养老服务站');
    await page.fill('[data-testid=edit-station] input[name=webhookUrl]', 'http://127.0.0.1:9/zhuertan');
    await page.click('[data-testid=edit-station] button[type=submit]');
    await page.waitForSelector('li[data-station="珠儿潭社区居家养老服务站"]');
    await screenshot(page, 'page-stations-zh');
    // A search keeps the matching stations and the branches that lead to them.
    await page.fill('[data-testid=stations-search]', '珠儿潭');
    await expect.poll(() => page.locator('[data-testid=stations] li').evaluateAll((els) => els.map((e) => e.getAttribute('data-station')))).toEqual(['拱墅区养老服务指导中心', '米市巷街道居家养老服务中心', '珠儿潭社区居家养老服务站']);
    await page.fill('[data-testid=stations-search]', '');

    const stations = (await gw.api('GET', '/api/v1/stations')).body as Array<{ id: string; name: string; level: string; parentId: string | null; webhookUrl: string | null }>;
    const byName = (name: string) => stations.find((x) => x.name === name)!;
    expect(byName('拱墅区养老服务指导中心')).toMatchObject({ level: 'district', parentId: null });
    expect(byName('米市巷街道居家养老服务中心')).toMatchObject({ level: 'street', parentId: byName('拱墅区养老服务指导中心').id });
    expect(byName('珠儿潭社区居家养老服务站')).toMatchObject({ level: 'community', parentId: byName('米市巷街道居家养老服务中心').id, webhookUrl: 'http://127.0.0.1:9/zhuertan' });

    await page.click('[data-testid=lang]');
    await expect.poll(() => page.locator('h1').innerText()).toBe('Stations');
    const english = (await page.locator('main').innerText()).replace(/\S*(社区|街道|区|中心|站)\S*/g, '');
    expect(english).not.toMatch(/[\u4e00-\u9fff]/); // no Chinese console word left besides the stations' names
    await screenshot(page, 'page-stations-en');
  });

  it('a provider imports a spreadsheet in the console: a GBK file with problems shown by line, then a clean one imported, credentials downloaded once and working over MQTT', async () => {
    const { page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'provider.own', PASSWORD);
    await page.click('[data-testid=nav-import]');
    await page.waitForSelector('[data-testid=import-file]');
    const template = page.waitForEvent('download');
    await page.click('[data-action=template]');
    expect(readFileSync((await (await template).path())!, 'utf8')).toMatch(/^\uFEFFname,address,station,lives_alone,capability_level,.+\r\n张桂兰,/);
    const header = 'name,address,station,lives_alone,capability_level,contact_name,contact_relation,contact_phone,contact2_name,contact2_relation,contact2_phone,devices,notes';
    const gbk = (text: string) => execFileSync('iconv', ['-f', 'UTF-8', '-t', 'GB18030'], { input: text });
    const broken = [header, '钱桂芳,江汉路 40 号,西兴街道居家养老服务中心,是,2,钱军,son,12345,,,,carebell-sos-pendant=import-sos-1,'].join('\r\n');
    await page.setInputFiles('[data-testid=import-file]', { name: '名单.csv', mimeType: 'text/csv', buffer: gbk(broken) });
    await page.waitForSelector('[data-testid=dry-run] tr[data-line="2"]');
    const problems = await page.locator('[data-testid=dry-run] tbody tr').allInnerTexts();
    // Every problem in the user's language, the column by its name and its header.
    expect(problems.map((p) => p.split('\t').slice(0, 2).join(' '))).toEqual(['2 站点 (station)', '2 联系人电话 (contact_phone)']);
    expect(problems[0]).toContain('“西兴街道居家养老服务中心”是街道中心；老人应归属其下的社区站：江汉社区养老服务站');
    expect(problems[1]).toContain('“12345”不是可拨打的电话号码');
    expect(await page.locator('[data-action=import]').count()).toBe(0); // nothing to import until it is clean
    await screenshot(page, 'import-problems');

    // The same list saved as CSV UTF-8 (the template's encoding) reads too.
    const utf8 = [header, '钱桂芳,江汉路 40 号,江汉社区养老服务站,是,2,钱军,son,139 0000 4001,,,,carebell-sos-pendant=import-sos-1,'].join('\r\n');
    await page.setInputFiles('[data-testid=import-file]', { name: 'list.csv', mimeType: 'text/csv', buffer: Buffer.from('\uFEFF' + utf8) });
    await page.waitForSelector('[data-action=import]');
    expect(await page.locator('[data-testid=dry-run]').innerText()).toContain('将新建 1 位老人、1 台设备');

    const clean = [header, '钱桂芳,江汉路 40 号,江汉社区养老服务站,是,2,钱军,son,139 0000 4001,,,,carebell-sos-pendant=import-sos-1; carebell-door-contact=import-door-1,'].join('\r\n');
    await page.setInputFiles('[data-testid=import-file]', { name: '名单.csv', mimeType: 'text/csv', buffer: gbk(clean) });
    await page.waitForSelector('[data-action=import]');
    expect(await page.locator('[data-testid=dry-run]').innerText()).toContain('将新建 1 位老人、2 台设备');
    await page.click('[data-action=import]');
    await page.waitForSelector('[data-testid=imported]');
    const downloading = page.waitForEvent('download');
    await page.click('[data-action=credentials]');
    const file = await downloading;
    const csv = readFileSync((await file.path())!, 'utf8').replace(/^\uFEFF/, '');
    await screenshot(page, 'import-done');
    const rows = csv.split('\r\n').map((l) => l.split(','));
    expect(rows[0]).toEqual(['resident', 'device', 'profile', 'mqtt_client_id', 'mqtt_username', 'mqtt_password', 'publish_topics']);
    const sosRow = rows.find((r) => r[1] === 'import-sos-1')!;
    expect(sosRow[0]).toBe('钱桂芳');
    // The downloaded credentials work: the pendant's SOS raises an alarm.
    const raised = gw.waitFor('alarm.raised', (p) => p.alarm.deviceId === 'import-sos-1');
    // (A value starting with - or + carries the apostrophe that makes a spreadsheet show it as text, not run it.)
    const cell = (v: string) => v.replace(/^'/, '');
    const res = await mosquittoPub({ port: gw.urls.mqttPort, id: 'import-sos-1', password: cell(sosRow[5]!), topic: cell(sosRow[6]!).split(' ').find((topic) => topic.endsWith('/event'))!, message: JSON.stringify({ ts: Date.now(), type: 'sos', seq: 1 }) });
    expect(res.code, res.stderr).toBe(0);
    expect((await raised).alarm.type).toBe('sos');
    // The provider watches that device's checklist turn green; the door contact, not yet installed, says what is missing.
    await page.click('nav a[href="#/fleet"]');
    await page.click('tr[data-device=import-sos-1] [data-action=open-device]');
    const dialog = page.locator('[data-testid=device-dialog][data-device=import-sos-1]');
    await expect.poll(() => dialog.locator('[data-testid=provisioned]').innerText()).toBe('✓ 调试完成：安装人员可以离开');
    await dialog.locator('[data-action=close-device]').click();
    await page.click('tr[data-device=import-door-1] [data-action=open-device]');
    const door = page.locator('[data-testid=device-dialog][data-device=import-door-1]');
    await expect.poll(() => door.locator('[data-check=connected]').getAttribute('data-ok')).toBe('false');
    expect(await door.locator('[data-check=valid_message]').innerText()).toContain('还没有收到可识别的消息');
  });

  it('an operator edits a resident\'s contacts in the console, is told a number nobody can call, and records that a resident left', async () => {
    const make = async (name: string) =>
      (await gw.api('POST', '/api/v1/residents', { name, address: '江汉路 50 号', stationId: t.stations.communityA, livesAlone: true, capabilityLevel: 2, contacts: [{ name: '孔明', relation: 'son', phone: '139 0000 5001', priority: 1 }] })).body.id as string;
    const kong = await make('孔秀兰');
    const leaver = await make('曹淑珍');
    await gw.onboardDevice('carebell-sos-pendant', leaver, 'pendant-leaving');
    const { page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    await page.click('[data-testid=nav-residents]');
    // A new resident, from the console.
    await page.click('[data-action=add-resident]');
    const created = page.locator('[data-testid=resident-form]');
    await created.locator('select[name=stationId]').selectOption(t.stations.communityA);
    await created.locator('input[name=name]').fill('严桂兰');
    await created.locator('input[name=address]').fill('江汉路 52 号 3 单元 101');
    await created.locator('input[name=livesAlone]').check();
    await created.locator('[data-action=add-contact]').click();
    await created.locator('[data-contact="0"] input[name=contactName]').fill('严军');
    await created.locator('[data-contact="0"] input[name=contactPhone]').fill('139 0000 5201');
    await created.locator('input[name=care-allergies]').fill('青霉素');
    await created.locator('input[name=birthDate]').fill('1942-08-15');
    await created.locator('input[name=category-low_income]').check();
    await created.locator('button[type=submit]').click();
    await page.waitForSelector('tr[data-resident="严桂兰"]');
    const yan = ((await gw.api('GET', '/api/v1/residents')).body as Array<{ name: string }>).find((r) => r.name === '严桂兰');
    expect(yan).toMatchObject({ address: '江汉路 52 号 3 单元 101', stationId: t.stations.communityA, livesAlone: true, contacts: [{ name: '严军', relation: 'son', phone: '139 0000 5201', priority: 1 }], careRecord: { allergies: ['青霉素'] }, birthDate: '1942-08-15', categories: ['lives_alone', 'low_income'], oldestOld: true });
    expect(await page.locator('tr[data-resident="严桂兰"]').innerText()).toContain('80+');
    await page.fill('[data-testid=residents-search]', '孔秀兰');
    await page.click('tr[data-resident="孔秀兰"] [data-action=edit]');
    const form = page.locator('[data-testid=resident-form]');
    await form.locator('[data-action=add-contact]').click();
    const second = form.locator('[data-contact="1"]');
    await second.locator('input[name=contactName]').fill('孔丽');
    await second.locator('select[name=contactRelation]').selectOption('daughter');
    await second.locator('input[name=contactPhone]').fill('12345');
    await form.locator('button[type=submit]').click();
    await expect.poll(() => form.locator('[role=alert]').innerText()).toBe('联系人 2 · 电话：不是可拨打的电话号码（手机 11 位，或带区号的座机）');
    await second.locator('input[name=contactPhone]').fill('139 0000 5002');
    await form.locator('input[name=notes]').fill('女儿每周日来');
    await screenshot(page, 'page-residents-edit-zh');
    await form.locator('button[type=submit]').click();
    await page.waitForSelector('[data-testid=resident-form]', { state: 'detached' });
    const saved = (await gw.api('GET', `/api/v1/residents/${kong}`)).body;
    expect(saved.contacts).toEqual([
      { name: '孔明', relation: 'son', phone: '139 0000 5001', priority: 1, webhookUrl: null },
      { name: '孔丽', relation: 'daughter', phone: '139 0000 5002', priority: 2, webhookUrl: null },
    ]);
    expect(saved.notes).toBe('女儿每周日来');

    // The care record: what a responder reads first, edited in the same form and shown on the emergency card.
    await page.click('tr[data-resident="孔秀兰"] [data-action=edit]');
    const care = page.locator('[data-testid=care-edit]');
    await care.locator('input[name=care-allergies]').fill('青霉素、磺胺');
    await care.locator('input[name=care-medications]').fill('硝苯地平 10 mg 每日两次；二甲双胍 0.5 g 每日三次');
    await care.locator('input[name=care-mobility]').fill('拄拐，楼梯需搀扶');
    await care.locator('input[name=care-keySafe]').fill('门左侧钥匙盒，密码 2580');
    await form.locator('button[type=submit]').click();
    await page.waitForSelector('[data-testid=resident-form]', { state: 'detached' });
    expect((await gw.api('GET', `/api/v1/residents/${kong}`)).body.careRecord).toEqual({
      allergies: ['青霉素', '磺胺'],
      medications: ['硝苯地平 10 mg 每日两次', '二甲双胍 0.5 g 每日三次'],
      mobility: '拄拐，楼梯需搀扶',
      access: { keySafe: '门左侧钥匙盒，密码 2580' },
    });
    await page.goto(`${gw.urls.httpUrl}/#/card/${kong}`);
    await expect.poll(() => page.locator('[data-testid=care-card]').innerText()).toContain('青霉素、磺胺');
    await page.goto(`${gw.urls.httpUrl}/#/residents`);

    await page.fill('[data-testid=residents-search]', '曹淑珍');
    await page.click('tr[data-resident="曹淑珍"] [data-action=edit]');
    await page.click('[data-action=leave]');
    await page.locator('[data-testid=leave] select[name=reason]').selectOption('moved_to_care_home');
    await page.fill('[data-testid=leave] input[name=leaveNote]', '入住福寿养老院');
    await page.click('[data-action=confirm-leave]');
    await page.waitForSelector('tr[data-resident="曹淑珍"]', { state: 'detached' });
    await page.locator('[data-testid=residents-include]').selectOption('inactive');
    await page.waitForSelector('tr[data-resident="曹淑珍"]');
    expect(await page.locator('tr[data-resident="曹淑珍"]').innerText()).toContain('入住养老机构');
    expect((await gw.api('GET', '/api/v1/devices/pendant-leaving')).body).toMatchObject({ decommissioned: true });
    await screenshot(page, 'page-residents-left-zh');
  });

  it('a provider adds a device to a home in the console, copies its password, prints the sheet, and watches its checklist turn green as the device connects; then a new password and decommissioning', async () => {
    const { page, context } = await newPage(browser);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.urls.httpUrl });
    await logIn(page, gw.urls.httpUrl, 'provider.own', PASSWORD);
    await page.click('nav a[href="#/fleet"]');
    await page.click('[data-action=add-device]');
    const add = page.locator('[data-testid=add-device]');
    await add.locator('select[name=residentId]').selectOption(t.residents.own);
    await add.locator('select[name=profile]').selectOption('carebell-sos-pendant');
    await add.locator('input[name=id]').fill('walk-sos-1');
    await add.locator('button[type=submit]').click();

    // The password once, with a copy button and the home's printable sheet.
    const creds = page.locator('[data-testid=credentials]');
    await creds.waitFor();
    const password = await creds.locator('[data-copy=password]').innerText();
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect(await creds.locator('[data-copy=port]').innerText()).toBe(String(gw.urls.mqttPort));
    await creds.locator('[data-action=copy-password]').click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(password);
    expect(await creds.locator('[data-action=copy-password]').innerText()).toBe('已复制');
    await screenshot(page, 'device-credentials');
    await page.emulateMedia({ media: 'print' });
    const sheet = page.locator('[data-testid=print-sheet]');
    expect(await sheet.isVisible()).toBe(true);
    expect(await creds.isVisible()).toBe(false);
    const resident = (await gw.api('GET', `/api/v1/residents/${t.residents.own}`)).body;
    expect(await sheet.innerText()).toContain(`${resident.name} · ${resident.address}`);
    expect(await sheet.innerText()).toContain(password);
    await screenshot(page, 'device-sheet-print');
    await page.emulateMedia({ media: 'screen' });
    expect(await sheet.isVisible()).toBe(false);

    // Closing the credentials opens the device: its checklist, each ✗ with its reason.
    await creds.locator('[data-action=close-credentials]').click();
    const dialog = page.locator('[data-testid=device-dialog][data-device=walk-sos-1]');
    const check = (name: string) => dialog.locator(`[data-check=${name}]`);
    await expect.poll(() => check('connected').getAttribute('data-ok')).toBe('false');
    expect(await check('connected').innerText()).toContain('从未连接：请核对服务器地址、端口');
    expect(await dialog.locator('[data-testid=provisioned]').innerText()).toBe('尚未完成调试');
    // The installer mistypes the password: the checklist says so.
    const wrong = await mosquittoPub({ port: gw.urls.mqttPort, id: 'walk-sos-1', password: `${password}x`, topic: 'devices/walk-sos-1/telemetry', message: '{"battery": 96}' });
    expect(wrong.code).not.toBe(0);
    await expect.poll(() => check('connected').innerText()).toContain('被拒绝（密码错误）；请核对设备编号和密码');
    await screenshot(page, 'device-checklist-refused');
    // With the right one the device connects and reports: every line turns green while the dialog is open.
    const right = await mosquittoPub({ port: gw.urls.mqttPort, id: 'walk-sos-1', password, topic: 'devices/walk-sos-1/telemetry', message: JSON.stringify({ ts: Date.now(), battery: 96 }) });
    expect(right.code, right.stderr).toBe(0);
    await expect.poll(() => dialog.locator('[data-testid=provisioned]').innerText()).toBe('✓ 调试完成：安装人员可以离开');
    expect(await dialog.locator('[data-ok=false]').count()).toBe(0);
    await screenshot(page, 'device-checklist-green');

    // A new password: shown once, the old one refused from now on.
    await dialog.locator('[data-action=rotate]').click();
    await dialog.locator('[data-action=confirm-rotate]').click();
    await creds.waitFor();
    const renewed = await creds.locator('[data-copy=password]').innerText();
    expect(renewed).not.toBe(password);
    const old = await mosquittoPub({ port: gw.urls.mqttPort, id: 'walk-sos-1', password, topic: 'devices/walk-sos-1/telemetry', message: '{"battery": 95}' });
    expect(old.code).not.toBe(0);
    // Decommissioned: off the list, unable to connect, its history kept.
    await creds.locator('[data-action=close-credentials]').click();
    await dialog.locator('[data-action=decommission]').click();
    expect(await dialog.locator('[data-testid=confirm]').innerText()).toContain('确定停用 walk-sos-1 吗');
    await dialog.locator('[data-action=confirm-decommission]').click();
    await expect.poll(() => page.locator('[data-testid=devices-notice]').innerText()).toBe('walk-sos-1 已停用');
    await page.waitForSelector('tr[data-device=walk-sos-1]', { state: 'detached' });
    expect((await gw.api('GET', '/api/v1/devices/walk-sos-1')).body).toMatchObject({ decommissioned: true, provisioned: true });
    const after = await mosquittoPub({ port: gw.urls.mqttPort, id: 'walk-sos-1', password: renewed, topic: 'devices/walk-sos-1/telemetry', message: '{"battery": 95}' });
    expect(after.code).not.toBe(0);
    // The search finds a device by its home.
    await page.fill('[data-testid=devices-search]', resident.address);
    await expect.poll(() => page.locator('[data-testid=fleet] tbody tr').count()).toBeGreaterThan(0);
    for (const text of await page.locator('[data-testid=fleet] tbody tr').allInnerTexts()) expect(text).toContain(resident.name);
    expect(pageErrors(page)).toEqual([]);
  });

  it('the month in progress: a raised and answered SOS with its answer time in the report, the chart and the export; drill-down from the district; device health with names and addresses', async () => {
    const asOperator = (path: string) => gw.api('GET', path, undefined, t.users.operator.token);
    await gw.onboardDevice('carebell-door-contact', t.residents.own, 'door-never-heard'); // installed, never connected: a visit to make
    const before = (await asOperator('/api/v1/reports/station-month')).body;
    const alarm = await sos('own');
    // Answered by the operator after a measured wait.
    await expect.poll(async () => (await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body.state).toBe('open');
    const ack = await gw.api('POST', `/api/v1/alarms/${alarm.id}/ack`, {}, t.users.operator.token);
    expect(ack.status).toBe(200);
    const after = (await asOperator('/api/v1/reports/station-month')).body;
    expect(after.response.critical.answered).toBe(before.response.critical.answered + 1);
    const answerSeconds = (Date.parse(ack.body.acknowledgedAt) - Date.parse(ack.body.raisedAt)) / 1000;

    const { page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    await page.click('[data-testid=nav-reports]');
    const month = page.locator('[data-testid=station-month]');
    await month.waitFor();
    expect(await month.getAttribute('data-station')).toBe(t.stations.streetA);
    expect(await month.innerText()).toContain('本月进行中，统计到现在');
    expect(await page.locator('[data-testid=kpi-critical]').innerText()).toContain(`已应答 ${after.response.critical.answered} / ${after.response.critical.answerable}`);
    expect(await page.locator('[data-testid=kpi-within-60]').innerText()).toContain('60 秒内应答');
    expect(await page.locator('[data-testid=by-type] tr[data-key=sos]').innerText()).toBe(`紧急呼叫\t${after.byType.sos}`);
    // The chart: our answer is in the bar of its time.
    const bucket = after.answerTimes.buckets.findIndex((b: { upTo: number | null }) => b.upTo === null || answerSeconds <= b.upTo);
    expect(bucket).toBeGreaterThanOrEqual(0);
    expect(Number(await page.locator(`[data-testid=answer-chart] [data-bar="${bucket}"]`).getAttribute('data-count'))).toBe(after.answerTimes.buckets[bucket].count);
    expect(after.answerTimes.buckets[bucket].count).toBe(before.answerTimes.buckets[bucket].count + 1);
    await screenshot(page, 'page-reports-month');

    // The export: the same figures, formulas neutralised.
    const downloading = page.waitForEvent('download');
    await page.click('[data-action=export-month]');
    const csv = readFileSync((await (await downloading).path())!, 'utf8');
    expect(csv).toContain(`critical answered,${after.response.critical.answered}`);
    expect(csv).toContain('type sos,');
    // Drill down to the community below the street.
    await page.click(`[data-testid=below] tr[data-station="${t.stations.communityA}"] [data-action=drill]`);
    await expect.poll(() => month.getAttribute('data-station')).toBe(t.stations.communityA);
    // Device health: the homes to visit, by name and address.
    const health = page.locator('[data-testid=device-health]');
    const resident = (await gw.api('GET', `/api/v1/residents/${t.residents.own}`)).body;
    await expect.poll(() => health.innerText()).toContain(resident.address);
    expect(await health.locator('tr[data-device=door-never-heard]').innerText()).toBe(`${resident.name}\t${resident.address}\t门磁 door-never-heard\t安装后从未收到消息\t从未连接`);
    expect(await health.innerText()).not.toContain('陈桂芳'); // the other side's resident
    await screenshot(page, 'page-reports-community');

    // An administrator starts at a district and drills down to a community.
    const { page: admin } = await newPage(browser);
    await logIn(admin, gw.urls.httpUrl, 'admin.user', PASSWORD);
    await admin.goto(`${gw.urls.httpUrl}/#/reports/${t.stations.districtA}`);
    const adminMonth = admin.locator('[data-testid=station-month]');
    await expect.poll(() => adminMonth.getAttribute('data-station')).toBe(t.stations.districtA);
    await admin.click(`[data-testid=below] tr[data-station="${t.stations.streetA}"] [data-action=drill]`);
    await expect.poll(() => adminMonth.getAttribute('data-station')).toBe(t.stations.streetA);
    await admin.click(`[data-testid=below] tr[data-station="${t.stations.communityA}"] [data-action=drill]`);
    await expect.poll(() => adminMonth.getAttribute('data-station')).toBe(t.stations.communityA);
    await admin.click('[data-action=up]');
    await expect.poll(() => adminMonth.getAttribute('data-station')).toBe(t.stations.streetA);
    expect(pageErrors(page)).toEqual([]);
    expect(pageErrors(admin)).toEqual([]);
  });

  it('the duty desk sees who is due a visit, only in its own stations, and records one in a few clicks', async () => {
    // The station asks for a home visit every 3 days for those living alone: its resident falls due within the week.
    expect((await gw.api('PUT', `/api/v1/stations/${t.stations.communityA}/visit-plans`, { lives_alone: [{ kind: 'home', everyDays: 3 }] })).status).toBe(200);
    const { page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    await page.click('[data-testid=nav-visits]');
    await page.locator('[data-testid=visits-within]').selectOption('7');
    const row = page.locator(`[data-testid=visits-due] tr[data-resident="${t.residents.own}"][data-kind=home]:not([data-task])`);
    await row.waitFor();
    expect(await row.innerText()).toContain('尚未探访');
    expect(await page.locator(`[data-testid=visits-due] tr[data-resident="${t.residents.other}"]`).count()).toBe(0); // another street's resident
    await screenshot(page, 'page-visits-due-zh');
    await row.locator('[data-action=record-visit]').click();
    const form = page.locator('[data-testid=record-visit]');
    await form.locator('input[name=outcome][value=needs_follow_up]').check();
    await form.locator('input[name=observations]').fill('膝盖疼，走路慢');
    await form.locator('button[type=submit]').click();
    await expect.poll(() => page.locator('[data-testid=visit-recorded]').innerText()).toBe('已记录对王秀英的探访');
    const visits = (await gw.api('GET', `/api/v1/residents/${t.residents.own}/visits`)).body.visits;
    expect(visits[0]).toMatchObject({ kind: 'home', outcome: 'needs_follow_up', observations: '膝盖疼，走路慢', by: 'operator:operator.own' });
    await expect.poll(() => row.innerText()).not.toContain('尚未探访'); // the row now says when they were last visited
    // …and the follow-up the visit asked for is on the list, with its reason.
    const followUp = page.locator(`[data-testid=visits-due] tr[data-resident="${t.residents.own}"][data-task=needs_follow_up]`);
    await expect.poll(() => followUp.innerText()).toContain('需要跟进');
    expect(pageErrors(page)).toEqual([]);
  });

  it("a press of the service button reaches the duty desk live; dispatched, the provider's staff work it to done; the family follows it and asks for another", async () => {
    const d = t.devices.own;
    const { page: desk } = await newPage(browser);
    await logIn(desk, gw.urls.httpUrl, 'operator.own', PASSWORD);
    await desk.waitForSelector('.live-connected');
    await desk.click('[data-testid=nav-services]');
    await desk.waitForSelector('[data-testid=services]');
    const created = gw.waitFor('service.request', (e) => e.change === 'created');
    const res = await mosquittoPub({ port: gw.urls.mqttPort, id: d.id, password: d.mqtt.password, topic: `devices/${d.id}/event`, message: JSON.stringify({ ts: Date.now(), type: 'service', seq: ++seq }) });
    expect(res.code, res.stderr).toBe(0);
    const { request } = await created;
    const line = desk.locator(`tr[data-request="${request.id}"]`);
    await line.waitFor(); // live: no reload
    expect(await line.innerText()).toContain('王秀英');
    expect(await line.getAttribute('data-state')).toBe('new');
    await screenshot(desk, 'page-services-new-zh');

    // The desk called her back: lunch. Dispatched to her provider.
    await line.locator('[data-action=assign]').click();
    const form = desk.locator('[data-testid=assign-service]');
    await form.locator('select[name=kind]').selectOption('meals');
    await form.locator('select[name=provider]').selectOption(t.providers.own);
    await form.locator('button[type=submit]').click();
    await expect.poll(() => line.getAttribute('data-state')).toBe('assigned');

    // The provider's dispatcher names the worker and marks the steps; the desk sees each one.
    const { page: provider } = await newPage(browser);
    await logIn(provider, gw.urls.httpUrl, 'provider.own', PASSWORD);
    await provider.click('[data-testid=nav-services]');
    const theirs = provider.locator(`tr[data-request="${request.id}"]`);
    await theirs.waitFor();
    await theirs.locator('[data-action=assign]').click();
    await provider.locator('[data-testid=assign-service] input[name=worker]').fill('陈阿姨 139 0000 1234');
    await provider.locator('[data-testid=assign-service] button[type=submit]').click();
    await expect.poll(() => theirs.innerText()).toContain('陈阿姨');
    await theirs.locator('[data-action=start]').click();
    await expect.poll(() => line.getAttribute('data-state')).toBe('on_the_way');
    await theirs.locator('[data-action=arrive]').click();
    await expect.poll(() => theirs.getAttribute('data-state')).toBe('on_site');

    // The family's phone shows where it is, and they ask for housekeeping.
    const { page: family } = await newPage(browser, 'phone');
    await logIn(family, gw.urls.httpUrl, 'family.own', PASSWORD);
    const mine = family.locator(`[data-testid=family-services] li[data-request="${request.id}"]`);
    await mine.waitFor();
    expect(await mine.innerText()).toContain('已到达');
    await theirs.locator('[data-action=done]').click();
    await expect.poll(() => mine.getAttribute('data-state')).toBe('done');
    await screenshot(family, 'page-family-services-zh');
    await family.click('[data-action=ask-service]');
    const ask = family.locator('[data-testid=new-service]');
    await ask.locator('input[name=kind][value=housekeeping]').check();
    await ask.locator('input[name=note]').fill('周六上午打扫');
    await ask.locator('button[type=submit]').click();
    await expect.poll(async () => (await gw.api('GET', '/api/v1/service-requests?state=new')).body.map((r: { kind: string; source: string; note: string }) => [r.kind, r.source, r.note])).toContainEqual(['housekeeping', 'family', '周六上午打扫']);
    // …which the desk sees arrive.
    await desk.locator('[data-filter=open]').click();
    await expect.poll(() => desk.locator('[data-testid=service-list]').innerText()).toContain('周六上午打扫');
    const done = (await gw.api('GET', `/api/v1/service-requests/${request.id}`)).body;
    expect(done).toMatchObject({ state: 'done', kind: 'meals', worker: '陈阿姨 139 0000 1234', assigned: { by: 'operator:operator.own' }, done: { by: 'provider:provider.own' } });
    for (const p of [desk, provider, family]) expect(pageErrors(p)).toEqual([]);
  });

  it("a button test says 'test received' at once on the duty console (never an alarm); the tests page lists the buttons never tested", async () => {
    const { page } = await newPage(browser);
    await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
    await page.waitForSelector('.live-connected');
    await page.click('[data-testid=nav-tests]');
    await page.locator('[data-testid=tests-within]').selectOption('7');
    const own = page.locator(`[data-testid=tests-due] tr[data-device="${t.devices.own.id}"]`);
    await own.waitFor();
    expect(await own.innerText()).toContain('从未测试');
    expect(await page.locator(`[data-testid=tests-due] tr[data-device="${t.devices.other.id}"]`).count()).toBe(0); // another street's
    await screenshot(page, 'page-tests-zh');
    const d = t.devices.own;
    const res = await mosquittoPub({ port: gw.urls.mqttPort, id: d.id, password: d.mqtt.password, topic: `devices/${d.id}/event`, message: JSON.stringify({ ts: Date.now(), type: 'test', seq: ++seq }) });
    expect(res.code, res.stderr).toBe(0);
    await expect.poll(() => page.locator('[data-testid=test-received]').innerText()).toContain('王秀英');
    await expect.poll(() => own.innerText()).not.toContain('从未测试'); // tested: due again in a week
    expect(await page.locator('[data-testid=tests-received]').innerText()).toContain(d.id);
    expect((await gw.api('GET', `/api/v1/alarms?residentId=${t.residents.own}&state=open`)).body).toEqual([]);
    expect(pageErrors(page)).toEqual([]);
  });

  it("a visitor's phone: today's round with the number to call, a visit in a few taps, and one kept on the phone without a network and sent when it is back", async () => {
    await gw.api('PATCH', `/api/v1/residents/${t.residents.own}`, { phone: '0571-8888 1234' });
    expect((await gw.api('PUT', `/api/v1/stations/${t.stations.communityA}/visit-plans`, { lives_alone: [{ kind: 'phone', everyDays: 1 }] })).status).toBe(200);
    const { context, page } = await newPage(browser, 'phone');
    await logIn(page, gw.urls.httpUrl, 'visitor.own', PASSWORD);
    const item = page.locator(`article.round-item[data-resident="${t.residents.own}"]`);
    await item.first().waitFor();
    expect(await item.first().locator('[data-action=call]').getAttribute('href')).toBe('tel:057188881234');
    await screenshot(page, 'page-round-zh');
    // No alarms, no live stream for a visitor: nothing but the round.
    expect(await page.locator('[data-testid=live]').count()).toBe(0);

    await item.first().locator('[data-action=record]').click();
    await page.locator('[data-testid=round-record] [data-outcome=well]').click();
    await expect.poll(() => page.locator('[data-testid=round-saved]').innerText()).toContain('王秀英');
    await expect.poll(() => page.locator('[data-testid=round-made]').innerText()).toContain('王秀英');

    // Out of signal in the stairwell: kept on the phone, and sent once back.
    const before = (await gw.api('GET', `/api/v1/residents/${t.residents.own}/visits`)).body.visits.length;
    await gw.api('PUT', `/api/v1/stations/${t.stations.communityA}/visit-plans`, { lives_alone: [{ kind: 'home', everyDays: 1 }] });
    await page.reload();
    await item.first().waitFor();
    await context.setOffline(true);
    await item.first().locator('[data-action=record]').click();
    await page.locator('[data-testid=round-record] [data-kind=home]').click();
    await page.locator('[data-testid=round-record] textarea[name=note]').fill('精神好，屋里整洁');
    await page.locator('[data-testid=round-record] [data-outcome=well]').click();
    await expect.poll(() => page.locator('[data-testid=round-pending]').innerText()).toContain('1');
    expect((await gw.api('GET', `/api/v1/residents/${t.residents.own}/visits`)).body.visits).toHaveLength(before);
    await context.setOffline(false);
    await expect.poll(async () => (await gw.api('GET', `/api/v1/residents/${t.residents.own}/visits`)).body.visits.length).toBe(before + 1);
    expect((await gw.api('GET', `/api/v1/residents/${t.residents.own}/visits`)).body.visits[0]).toMatchObject({ kind: 'home', outcome: 'well', note: '精神好，屋里整洁', by: 'visitor:visitor.own' });
    await expect.poll(() => page.locator('[data-testid=round-pending]').count()).toBe(0);
    await gw.api('PUT', `/api/v1/stations/${t.stations.communityA}/visit-plans`, {});
    expect(pageErrors(page)).toEqual([]);
  });

  it('every page in both languages: screenshots to look at, and no untranslated word of the console left', async () => {
    const alarm = await sos('own');
    await gw.api('POST', `/api/v1/alarms/${alarm.id}/respond`, { going: true, etaMinutes: 30, contact: '王秀英的家属' });
    for (const [lang, words] of [['zh', /\b(Alarm|Resident|Timeline|Devices|Critical)\b/], ['en', /告警|紧急|确认|处理|设备|声音|退出|老人|急救/]] as const) {
      const { page } = await newPage(browser);
      await page.addInitScript((l) => localStorage.setItem('carebell.lang', JSON.stringify(l)), lang);
      await logIn(page, gw.urls.httpUrl, 'operator.own', PASSWORD);
      await row(page, alarm.id).waitFor();
      const pages: Array<[string, string, string]> = [
        ['queue', '#/', `tr[data-alarm="${alarm.id}"]`],
        ['detail', `#/alarm/${alarm.id}`, '[data-testid=care-card]'],
        ['fleet', '#/fleet', '[data-testid=fleet]'],
        ['card', `#/card/${t.residents.own}`, '[data-testid=emergency-card]'],
        ['account', '#/account', '[data-testid=password-form]'],
        ['reports', '#/reports', '[data-testid=station-month]'],
        ['visits', '#/visits', '[data-testid=visits]'],
        ['services', '#/services', '[data-testid=services]'],
        ['tests', '#/tests', '[data-testid=device-tests]'],
        ['residents', '#/residents', '[data-testid=residents] tbody tr'],
      ];
      for (const [name, hash, ready] of pages) {
        await page.goto(`${gw.urls.httpUrl}/${hash}`);
        await page.waitForSelector(ready);
        const text = (await page.locator('main').innerText()).replace(/王秀英\S*|陈桂芳\S*|测试路 1 号|江汉\S*|\S*社区\S*|\S*街道\S*|\S*区\S*中心/g, '').replaceAll(STATION_PLAN, ''); // data, not the console's words
        expect(text, `${name} (${lang})`).not.toMatch(words);
        await screenshot(page, `page-${name}-${lang}`);
      }
      const { page: family } = await newPage(browser, 'phone');
      await family.addInitScript((l) => localStorage.setItem('carebell.lang', JSON.stringify(l)), lang);
      await logIn(family, gw.urls.httpUrl, 'family.own', PASSWORD);
      await family.waitForSelector(`article[data-alarm="${alarm.id}"]`);
      await screenshot(family, `page-family-${lang}`);
    }
  }, 90_000); // two languages × every page, with screenshots: about 20 s alone, more on a loaded machine
});
