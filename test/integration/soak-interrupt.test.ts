import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { carebell, exited } from '../helpers/processes.ts';

/** Ctrl-C on a soak (its first days showing it is wrong, or it takes too long) must not leave its gateway or its data behind. */
describe('carebell soak, stopped with Ctrl-C', () => {
  it('stops its gateway, removes the run\'s temporary data and exits 130 without a verdict', async () => {
    // The run's temporary directories (the gateway's database, WAL and telemetry) go under a TMPDIR of the test's own.
    const tmp = mkdtempSync(join(tmpdir(), 'soak-interrupt-'));
    const { child, stdout, until } = carebell(['soak', '--days', '3', '--residents', '6', '--speed', '200', '--seed', '5', '--faults', 'none'], { TMPDIR: tmp });
    try {
      // Under way: the devices are playing and the gateway's data directory is in use.
      await until((out) => /^sim day 1\/3 /m.test(out));
      expect(readdirSync(tmp).filter((f) => f.startsWith('carebell-soak-'))).toHaveLength(1);
      child.kill('SIGINT');
      expect(await exited(child)).toBe(130);
      expect(stdout()).toMatch(/soak stopped at 11-0\d \d\d:\d\d simulated time \(Shanghai\): no verdict/);
      expect(stdout()).not.toContain('KPI');
      expect(readdirSync(tmp).filter((f) => f.startsWith('carebell-soak-'))).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);
});
