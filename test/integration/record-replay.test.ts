import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordCommand } from '../../simulators/cli.ts';
import { readRecording, recordTraffic, type RecordedMessage } from '../../simulators/record.ts';
import { loadScenario } from '../../simulators/scenario.ts';
import { freshPlan, runReplay, runScenario } from '../../simulators/simulate.ts';
import { ADMIN_TOKEN, startGateway } from '../helpers/gateway.ts';
import { carebell, mosquittoPub, root } from '../helpers/processes.ts';
import { seedTenants } from '../helpers/tenants.ts';

describe('record and replay', () => {
  it('a recorded run, replayed into a fresh gateway shifted to a given now or kept at its time of day, raises the same alarms', async () => {
    const scenario = loadScenario(join(root, 'simulators/scenarios/evening-fall-sos.json'));
    const recording: RecordedMessage[] = [];
    const stop = new AbortController();
    let recorder: Promise<void> | undefined;
    const original = await runScenario({
      scenario,
      seed: 5,
      speed: 600,
      beforePlay: (target) =>
        new Promise<void>((ready, fail) => {
          recorder = recordTraffic({ apiUrl: target.apiUrl, token: target.token, signal: stop.signal, onMessage: (m) => recording.push(m), onReady: ready }).catch(fail);
        }),
    });
    stop.abort();
    await recorder;
    expect(original.verification, JSON.stringify(original.verification)).toMatchObject({ ok: true });
    expect(recording.length).toBe(original.stats.published); // every message, the malformed one too
    expect(recording.some((m) => Buffer.from(m.payload, 'base64').toString().includes('garbage'))).toBe(true);
    expect(new Set(recording.map((m) => m.profile))).toContain('anxin-smoke-sd3');
    const raised = (run: typeof original) => run.verification.rows.filter((r) => r.raised).map((r) => `${r.resident}:${r.alarm}:${r.severity}:${r.cancelled}`);

    // Shifted to "now": pinned to a weekday morning, so the outcome never depends on when the suite runs.
    const morning = Date.parse('2026-12-03T10:00:00.400+08:00');
    const shifted = await runReplay({ recording, plan: freshPlan(original.plan), speed: 600, expect: scenario, now: morning });
    expect(shifted.verification.missing).toEqual([]);
    expect(shifted.verification.unexpected).toEqual([]);
    expect(raised(shifted)).toEqual(raised(original));
    expect(shifted.start).toBe(Date.parse('2026-12-03T10:00:01+08:00'));

    // Kept at its time of day: replayed at 03:00 two weeks later, the evening stays an evening.
    const lateNight = Date.parse('2026-12-05T03:00:00+08:00');
    const sameHour = await runReplay({ recording, plan: freshPlan(original.plan), speed: 600, expect: scenario, now: lateNight, keepTimeOfDay: true });
    expect(sameHour.verification.missing).toEqual([]);
    expect(sameHour.verification.unexpected).toEqual([]);
    expect(raised(sameHour)).toEqual(raised(original));
    expect(sameHour.start - recording[0]!.at).toBe(14 * 86_400_000);
  }, 120_000);

  it('only an admin may tap the traffic', async () => {
    const gw = await startGateway();
    try {
      const t = await seedTenants(gw);
      for (const role of ['operator', 'provider', 'family'] as const) {
        const res = await fetch(`${gw.urls.httpUrl}/api/v1/traffic`, { headers: { authorization: `Bearer ${t.users[role].token}` } });
        expect(res.status, role).toBe(403);
        await res.arrayBuffer();
      }
    } finally {
      await gw.stop();
    }
  });

  it('`carebell record` writes each message it hears as a line and stops on Ctrl-C or after --seconds, its file complete and its signal listeners gone', async () => {
    const gw = await startGateway();
    const dir = mkdtempSync(join(tmpdir(), 'carebell-record-'));
    try {
      const { residentId } = await gw.seedResident();
      const pendant = await gw.onboardDevice('carebell-sos-pendant', residentId);
      const file = join(dir, 'traffic.jsonl');
      const recorder = carebell(['record', '--api', gw.urls.httpUrl, '--token', ADMIN_TOKEN, '--out', file]);
      await recorder.until((out) => out.includes('(Ctrl-C to stop)'));
      const message = JSON.stringify({ ts: Date.now(), type: 'sos', seq: 1 });
      expect((await mosquittoPub({ port: gw.urls.mqttPort, id: pendant.id, password: pendant.mqtt.password, topic: `devices/${pendant.id}/event`, message })).code).toBe(0);
      await expect.poll(() => readFileSync(file, 'utf8'), { timeout: 10_000 }).toContain(pendant.id);
      const exited = once(recorder.child, 'exit');
      recorder.child.kill('SIGINT');
      expect(await exited).toEqual([0, null]);
      expect(recorder.stdout()).toContain('1 messages recorded');
      const [line] = readRecording(file);
      expect(readRecording(file)).toHaveLength(1);
      expect(line).toMatchObject({ deviceId: pendant.id, profile: 'carebell-sos-pendant', topic: `devices/${pendant.id}/event` });
      expect(Buffer.from(line!.payload, 'base64').toString()).toBe(message);

      // In this process, bounded by --seconds: it returns by itself and leaves no listener on the process's signals.
      const listeners = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
      const timed = join(dir, 'timed.jsonl');
      expect(await recordCommand(['--api', gw.urls.httpUrl, '--token', ADMIN_TOKEN, '--out', timed, '--seconds', '0.5'])).toBe(0);
      expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(listeners);
      expect(readFileSync(timed, 'utf8')).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await gw.stop();
    }
  });
});
