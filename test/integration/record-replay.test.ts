import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordTraffic, type RecordedMessage } from '../../simulators/record.ts';
import { loadScenario } from '../../simulators/scenario.ts';
import { freshPlan, runReplay, runScenario } from '../../simulators/simulate.ts';
import { startGateway } from '../helpers/gateway.ts';
import { root } from '../helpers/processes.ts';
import { seedTenants } from '../helpers/tenants.ts';

describe('record and replay', () => {
  it('a recorded run, replayed into a fresh gateway with timestamps shifted to now, raises the same alarms', async () => {
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
    expect(original.verification.ok).toBe(true);
    expect(recording.length).toBe(original.stats.published); // every message, the malformed one too
    expect(recording.some((m) => Buffer.from(m.payload, 'base64').toString().includes('garbage'))).toBe(true);
    expect(new Set(recording.map((m) => m.profile))).toContain('anxin-smoke-sd3');

    const before = Date.now();
    const replay = await runReplay({ recording, plan: freshPlan(original.plan), speed: 600, expect: scenario });
    expect(replay.verification.missing).toEqual([]);
    expect(replay.verification.unexpected).toEqual([]);
    const raised = (run: typeof original) => run.verification.rows.filter((r) => r.raised).map((r) => `${r.resident}:${r.alarm}:${r.severity}:${r.cancelled}`);
    expect(raised(replay)).toEqual(raised(original));
    expect(replay.start).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000); // shifted to now, not the scenario's evening
  }, 90_000);

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
});
