import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { root } from './processes.ts';

/** Debian's Chromium, never a downloaded browser. */
export const CHROMIUM = process.env.CAREBELL_CHROMIUM ?? '/usr/bin/chromium';

/**
 * When the suite runs with its clock moved (test/scripts/at-local-time.sh,
 * libfaketime), Chromium is started without the preload (it stalls under it)
 * and each page gets the same moved clock from Playwright instead.
 */
const clockMoved = process.env.FAKETIME !== undefined;
const movedByMs = clockMoved ? Number(process.env.FAKETIME) * 1000 : 0;

/**
 * The time to give Playwright's page clock (`clock.install({ time })`) so the
 * page's Date.now() is the suite's: Playwright replays an install against its
 * own Date.now(), which the moved clock shifts, while Chromium runs on the real
 * one. (It makes up for the difference only when the moved clock lags the real
 * one, so at-local-time.sh always moves clocks back.)
 */
export const pageClockTime = (): number => Date.now() + movedByMs;

/**
 * A page clock a test can fast-forward, on the suite's time. With the clock
 * moved, newPage has installed one already (installing twice would set the
 * page's time without the correction); otherwise it is installed here.
 */
export async function controlPageClock(page: Page): Promise<void> {
  if (!clockMoved) await page.clock.install({ time: Date.now() });
}
const withoutFakeTime = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FAKETIME') && k !== 'LD_PRELOAD')) as Record<string, string>;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'], ...(clockMoved ? { env: withoutFakeTime() } : {}) });
}

/** A station PC (1366×768) or a phone. */
export const viewports = {
  station: { width: 1366, height: 768 },
  phone: { width: 390, height: 844 },
} as const;

export async function newPage(browser: Browser, viewport: keyof typeof viewports = 'station'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: viewports[viewport], locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ...(viewport === 'phone' ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}) });
  if (clockMoved) await context.clock.install({ time: pageClockTime() }); // flows on from the suite's moved time
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => msg.type() === 'error' && !msg.text().startsWith('Failed to load resource') && errors.push(msg.text()));
  page.on('response', (res) => res.status() >= 400 && errors.push(`${res.status()} ${res.request().method()} ${new URL(res.url()).pathname}`));
  (page as Page & { errors: string[] }).errors = errors;
  return { context, page };
}

/** Saves a screenshot under test-results/screenshots (the CI keeps test-results as artifacts). */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = join(root, 'test-results', 'screenshots');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export async function logIn(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await page.goto(baseUrl + '/');
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('.topbar');
}
