/**
 * Runs the whole suite (`npm test`) several times in a row while CPU hogs keep
 * cores busy, and says how many runs were green: a suite that fails under load
 * or at some hour is found here, not in CI.
 *
 *   npm run test:soak-suite -- [--runs 5] [--hogs 1] [--at 03:00,15:00] [--out DIR] [--keep-going]
 *
 * --at runs each listed local time in turn (the clock moved with
 * test/scripts/at-local-time.sh, which needs libfaketime); every run's vitest
 * JSON and output are kept in DIR.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('../../', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    hogs: { type: 'string', default: '1' },
    at: { type: 'string' },
    out: { type: 'string', default: join(root, 'test-results', 'soak-suite') },
    'keep-going': { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const hogs = Number(values.hogs);
const times = values.at ? values.at.split(',').map((t) => t.trim()) : [undefined];
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
if (!Number.isInteger(hogs) || hogs < 0) throw new Error('--hogs must be 0 or more');
const out = values.out!;
mkdirSync(out, { recursive: true });

/** One busy core each: a child process spinning until killed. */
const hogProcesses: ChildProcess[] = Array.from({ length: hogs }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
const stopHogs = () => hogProcesses.forEach((h) => h.kill('SIGKILL'));
process.on('exit', stopHogs);
process.on('SIGINT', () => process.exit(130));

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  testResults: Array<{ name: string; assertionResults: Array<{ fullName: string; status: string }> }>;
}

function runOnce(n: number, at: string | undefined): Promise<{ passed: number; failed: number; failures: string[]; seconds: number; code: number | null }> {
  const json = join(out, `run-${n}.json`);
  const log = join(out, `run-${n}.log`);
  const npm = ['npm', 'test', '--', '--reporter=dot', '--reporter=json', `--outputFile.json=${json}`];
  const [cmd, ...args] = at ? [join(root, 'test/scripts/at-local-time.sh'), at, ...npm] : npm;
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(cmd!, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout!.on('data', (c) => (text += c));
    child.stderr!.on('data', (c) => (text += c));
    child.on('close', (code) => {
      writeFileSync(log, text);
      const seconds = (performance.now() - t0) / 1000;
      try {
        const r = JSON.parse(readFileSync(json, 'utf8')) as VitestJson;
        const failures = r.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status === 'failed').map((a) => `${f.name.replace(root, '')} > ${a.fullName}`));
        resolve({ passed: r.numPassedTests, failed: r.numFailedTests, failures, seconds, code });
      } catch {
        resolve({ passed: 0, failed: 1, failures: [`no test report (exit ${code}); see ${log}`], seconds, code });
      }
    });
  });
}

let green = 0;
let total = 0;
console.log(`${runs} run(s)${times[0] ? ` at ${times.join(', ')} local` : ''}, ${hogs} CPU hog(s); output in ${out}`);
outer: for (let i = 1; i <= runs; i++) {
  for (const at of times) {
    total++;
    const r = await runOnce(total, at);
    const ok = r.failed === 0 && r.code === 0;
    if (ok) green++;
    console.log(`run ${total}${at ? ` (${at})` : ''}: ${r.passed} passed, ${r.failed} failed in ${r.seconds.toFixed(0)} s${ok ? '' : ` (exit ${r.code})`}`);
    for (const f of r.failures) console.log(`  ✗ ${f}`);
    if (!ok && !values['keep-going']) break outer;
  }
}
stopHogs();
console.log(`${green} of ${total} runs green`);
process.exit(green === total && total === runs * times.length ? 0 : 1);
