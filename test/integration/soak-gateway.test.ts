import { afterAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../simulators/runner.ts';
import { GatewayProcess } from '../../simulators/soak/gateway.ts';

const START = Date.parse('2026-11-01T16:00:00Z');
const MIN = 60_000;

/** Waits (bounded) until `ok()` holds, checking as the event loop turns. */
async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const t0 = performance.now();
  while (!ok()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * The soak's gateway in a process of its own (simulators/soak/gateway.ts):
 * on the soak's clock, killed with SIGKILL and started again on the same data
 * and ports, its clock going on from where the soak's is.
 */
describe("the soak's gateway process", () => {
  let gateway: GatewayProcess | undefined;
  afterAll(async () => gateway?.close());

  it('follows the soak clock, and after a SIGKILL starts again on the same data and ports without time going back', async () => {
    gateway = await GatewayProcess.start(600, START);
    const g = gateway;
    let hold = START + 5 * MIN;
    g.holdAt(() => hold);
    g.begin();
    // Time runs (600×) up to the hold and stops there, here and in the gateway (whose clock this one never passes).
    await until('the hold', () => g.clock.now() === hold);
    const api = new ApiClient(g.target);
    const station = await api.call<{ id: string }>('POST', '/api/v1/stations', { name: 'soak-gateway district', level: 'district' });
    const alarmsBefore = await api.call<unknown[]>('GET', '/api/v1/alarms');

    await g.kill();
    // Gone: the API does not answer.
    await expect(fetch(`${g.target.apiUrl}/api/v1/stations`)).rejects.toThrow();
    const atKill = g.clock.now();
    hold = START + 10 * MIN;
    // While it is down the soak's time goes on (nobody to wait for) up to the hold.
    await until('time while down', () => g.clock.now() === hold);
    await g.restart();
    expect(g.restarts).toBe(1);
    hold = START + 20 * MIN;
    await until('the new hold', () => g.clock.now() === hold);
    expect(g.clock.now()).toBeGreaterThan(atKill);
    // Same ports, same data: the station made before the kill is there.
    const stations = await api.call<Array<{ id: string; name: string }>>('GET', '/api/v1/stations');
    expect(stations.map((s) => s.id)).toContain(station.id);
    expect(await api.call<unknown[]>('GET', '/api/v1/alarms')).toHaveLength(alarmsBefore.length);

    // Killed by anyone but the soak: the run is told (it stops and fails) instead of waiting for it for ever.
    expect(g.crashed).toBeUndefined();
    const told = new Promise<void>((resolve) => (g.onCrash = resolve));
    process.kill(g.pid!, 'SIGKILL');
    await told;
    expect(g.crashed).toMatch(/exited on its own \(SIGKILL\)/);
  }, 60_000);
});
