import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultFaults } from '../../simulators/soak/faults.ts';
import { expectedAlarm, soakScenario } from '../../simulators/soak/plan.ts';
import { runSoak, type SoakResult } from '../../simulators/soak/soak.ts';
import { chartFiles } from '../../simulators/soak/report.ts';

/**
 * A short soak in the suite: two simulated days of a dozen homes, incidents
 * at fifty times the telecare rates so that every kind comes up, the people on
 * duty answering through the API and the live stream, and the default faults
 * (webhook receivers down, a reconnect storm, a malformed burst, the gateway
 * killed and started again, the desk empty for an hour), with telemetry in a
 * real InfluxDB that is killed once a day. The verdict is read from outside;
 * every KPI must hold.
 */
describe('carebell soak: two simulated days with faults and people on duty', () => {
  const out = mkdtempSync(join(tmpdir(), 'carebell-soak-'));
  let run: SoakResult;
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('meets every KPI: no alarm lost or doubled, every critical alarm reached a human in time, every webhook delivered once', async () => {
    run = await runSoak({ days: 2, residents: 12, speed: 2000, seed: 7, faults: 'default', rateScale: 50, influx: true, out });
    const k = run.kpis;
    expect(k.checks.filter((c) => !c.ok)).toEqual([]);
    expect(k.ok).toBe(true);
    // The run was not empty: incidents of most kinds, critical alarms answered, webhooks owed and made.
    expect(k.incidents).toBeGreaterThan(15);
    expect(k.answer.count).toBeGreaterThan(40);
    expect(k.deliveries.owed).toBeGreaterThan(10);
    expect(k.deliveries.made).toBe(k.deliveries.owed);
    // The faults happened: receivers refused while down (and got what they missed later), garbage reached the dead-letter.
    expect(k.deliveries.refusedWhileDown).toBeGreaterThan(0);
    expect(k.deadLetters.sent).toBeGreaterThan(0);
    expect(k.deadLetters.kept).toBe(k.deadLetters.sent);
    // The desks acted through the API: acknowledgements and closes.
    expect(run.staff.filter((a) => a.action === 'ack' && a.result === 'done').length).toBeGreaterThanOrEqual(k.answer.count);
    expect(run.staff.some((a) => a.action === 'away') && run.staff.some((a) => a.action === 'back')).toBe(true);
    const written = JSON.parse(readFileSync(join(out, 'kpis.json'), 'utf8'));
    expect(written.checks).toEqual(k.checks);
    const planned = defaultFaults(2, 7, { influx: true });
    expect(planned.influxOutages).toHaveLength(2);
    expect(run.influxRestarts).toBe(2);
    expect(written.run.faults.length).toBe(planned.webhookOutages.length + planned.reconnectStorms.length + planned.malformedBursts.length + planned.gatewayKills.length + planned.unstaffed.length + planned.influxOutages.length);
    // The gateway was killed with SIGKILL and started again once a day, and nothing above was lost for it.
    expect(planned.gatewayKills).toHaveLength(2);
    expect(run.restarts).toBe(2);
    // Every reading the devices' acknowledged messages carried is stored, across the kills (read back from the API).
    expect(k.telemetry.sent).toBeGreaterThan(k.messages.published);
    expect(k.telemetry.short).toEqual([]);
    expect(k.telemetry.stored).toBe(k.telemetry.sent);
    expect(run.staff.filter((a) => a.result === 'failed')).toEqual([]);
    // Families answer on the family page only what their phone was told of.
    expect(k.families.answered).toBeLessThanOrEqual(k.families.told);
    expect(run.staff.filter((a) => a.action === 'respond' && a.result === 'done').length).toBe(k.families.answered);
    // The report: the KPI table and five charts rendered on the server as SVG.
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('Every KPI met.');
    expect(html.match(/<svg /g)).toHaveLength(5);
    for (const c of k.checks) expect(html).toContain(c.name);
    // Each chart also as a file of its own (a README shows one), the same drawing as the page's.
    for (const file of Object.values(chartFiles)) {
      const chart = readFileSync(join(out, 'charts', file), 'utf8');
      expect(chart.startsWith('<svg '), file).toBe(true);
      expect(html).toContain(chart);
    }
  }, 300_000);

  it('draws the same incidents from the same seed, each kind at its rate, never two alarms of a home within two hours', () => {
    const a = soakScenario({ days: 30, residents: 200, seed: 3 });
    expect(soakScenario({ days: 30, residents: 200, seed: 3 })).toEqual(a);
    expect(soakScenario({ days: 30, residents: 200, seed: 4 }).incidents).not.toEqual(a.incidents);
    // 6,000 resident-days at one SOS a month: about 200 (Poisson, a few fewer for the spacing).
    const sos = a.incidents.filter((i) => i.kind === 'sos').length;
    expect(sos).toBeGreaterThan(150);
    expect(sos).toBeLessThan(240);
    const raising = a.incidents.filter((i) => expectedAlarm[i.kind]);
    for (let r = 0; r < 200; r++) {
      const times = raising.filter((i) => i.resident === r).map((i) => i.atMinutes).sort((x, y) => x - y);
      for (let j = 1; j < times.length; j++) expect(times[j]! - times[j - 1]!).toBeGreaterThanOrEqual(120);
    }
    // Night bed exits at night: 23:00–04:00 local (the run starts at 00:00 local).
    for (const i of a.incidents.filter((x) => x.kind === 'night_bed_exit')) {
      const hour = (i.atMinutes / 60) % 24;
      expect(hour >= 23 || hour < 4, `bed exit at ${hour.toFixed(2)} h`).toBe(true);
    }
  });
});
