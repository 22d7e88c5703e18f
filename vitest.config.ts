import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll waits for what a test expects (a UI update, an event) and ends as soon as it holds;
    // 5 s rather than 1 s before it fails, so a loaded machine is not taken for a bug.
    expect: { poll: { timeout: 5_000 } },
    pool: 'forks',
    // Integration tests start real servers on port 0; two workers fit the 2-core machines.
    maxWorkers: 2,
  },
});
