import { defaultProfilesDir } from '../src/app.ts';
import { newSecret } from '../src/core/secrets.ts';
import { loadProfileDirectory } from '../src/profiles/registry.ts';
import { generateActions } from './behaviour.ts';
import { planFleet } from './fleet.ts';
import { ApiClient, connectAll, play, provision } from './runner.ts';
import { scenarioSchema } from './scenario.ts';
import { startEmbeddedGateway } from './simulate.ts';

/**
 * `npm run demo`: a gateway with a simulated fleet of about 50 homes across 3
 * community stations, a few incidents in the first minute, and logins for an
 * admin, each station's operator and one family member, printed at start.
 * Runs until Ctrl-C.
 */
/**
 * `settings`: CAREBELL_* variables and flags as `start` reads them; the demo's
 * defaults (ports 8080 and 1883, a fresh data directory) apply where they say nothing.
 */
export async function runDemo(opts: { residents: number; speed: number; settings: Record<string, string>; out: (line: string) => void }): Promise<void> {
  const { out } = opts;
  const profiles = loadProfileDirectory(defaultProfilesDir);
  const incidents = [
    { atMinutes: 0.25, resident: 0, kind: 'sos' },
    { atMinutes: 0.4, resident: Math.min(7, opts.residents - 1), kind: 'fall' },
    { atMinutes: 0.5, resident: Math.min(12, opts.residents - 1), kind: 'fall_cancelled' },
    { atMinutes: 0.6, resident: Math.min(3, opts.residents - 1), kind: 'heart_rate_climb' },
    { atMinutes: 0.8, resident: Math.min(20, opts.residents - 1), kind: 'smoke' },
    { atMinutes: 1, resident: Math.min(30, opts.residents - 1), kind: 'water_leak' },
  ];
  const first = scenarioSchema.parse({ name: 'demo', description: 'demo', residents: opts.residents, stations: 3, durationMinutes: 60, incidents });
  const quiet = scenarioSchema.parse({ ...first, incidents: [] });
  const plan = planFleet(first, Date.now() % 100_000, profiles, 'demo');
  const start = Math.ceil(Date.now() / 1000) * 1000;
  const gw = await startEmbeddedGateway({ mode: 'demo', speed: opts.speed, start, httpPort: 8080, mqttPort: 1883, settings: opts.settings });
  const api = new ApiClient(gw.target);
  out(`provisioning ${opts.residents} residents across 3 stations …`);
  await provision(plan, api);
  const password = newSecret().slice(0, 12);
  const users: Array<[string, string]> = [['admin.demo', 'admin']];
  await api.call('POST', '/api/v1/users', { username: 'admin.demo', password, role: 'admin', displayName: '演示管理员' });
  for (const [i, station] of plan.stations.entries()) {
    await api.call('POST', '/api/v1/users', { username: `operator${i + 1}`, password, role: 'operator', stationId: station.id, displayName: `${station.name} 值班员` });
    users.push([`operator${i + 1}`, station.name]);
  }
  await api.call('POST', '/api/v1/users', { username: 'family', password, role: 'family', residentId: plan.residents[0]!.id });
  users.push(['family', `${plan.residents[0]!.name} 的家属`]);
  const clients = await connectAll(plan, gw.target.mqttUrl, 200);
  out('');
  out(`  carebell demo: ${clients.size} devices in ${opts.residents} homes are live (speed ${opts.speed}×)`);
  out(`  console   ${gw.httpUrl}/`);
  out(`  API docs  ${gw.httpUrl}/docs`);
  out(`  MQTT      ${gw.target.mqttUrl}`);
  out(`  logins (password for all: ${password}):`);
  for (const [u, what] of users) out(`    ${u.padEnd(12)} ${what}`);
  out('  incidents in the first minute: an SOS, a fall, a cancelled fall, a heart rate climbing, smoke, a water leak');
  out('  Ctrl-C to stop');
  out('');

  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  gw.clock.begin();
  let chunkStart = start;
  const run = (async () => {
    for (let hour = 0; !stop.signal.aborted; hour++) {
      const actions = generateActions(plan, hour === 0 ? first : quiet, chunkStart, profiles);
      await play({ plan, actions, clients, target: gw.target, simNow: () => gw.clock.now(), speed: opts.speed, closeClients: false, signal: stop.signal });
      chunkStart += 60 * 60_000;
    }
  })();
  await run;
  out('stopping …');
  await Promise.all([...clients.values()].map((c) => c.endAsync(true).catch(() => {})));
  await gw.close();
}
