// Scale check: a fleet of simulated devices (default 5,000) provisioned through the API and connected
// to an embedded gateway, each a real MQTT client with its own credentials; prints the rates.
//   npm run bench:simulate -- --devices 5000 --minutes 2 --speed 60
import { runScenario } from '../simulators/simulate.ts';
import { scenarioSchema } from '../simulators/scenario.ts';
import { numberArg } from './args.ts';

const devices = numberArg('devices', 5000);
const kit = ['pendant', 'band', 'radar', 'bed', 'motion', 'door', 'smoke', 'gas', 'water'] as const;
const residents = Math.ceil(devices / kit.length);
const scenario = scenarioSchema.parse({ name: 'scale', description: 'scale check', residents, stations: 10, durationMinutes: numberArg('minutes', 2), incidents: [{ atMinutes: 1, kind: 'reconnect_storm' }] });
const t0 = performance.now();
const run = await runScenario({ scenario, seed: 1, speed: numberArg('speed', 60), out: (l) => (l.startsWith('sim ') || l.startsWith('provisioned') || l.startsWith('connected') ? console.log(l) : undefined) });
const total = (performance.now() - t0) / 1000;
console.log(`\ndevices                ${run.stats.devices}`);
console.log(`connected              ${run.stats.devices} in ${run.stats.connectSeconds.toFixed(2)} s = ${Math.round(run.stats.devices / run.stats.connectSeconds)} connections/s`);
console.log(`messages published     ${run.stats.published} (failed ${run.stats.failed}), incl. a reconnect storm of every device`);
console.log(`whole run              ${total.toFixed(1)} s`);
