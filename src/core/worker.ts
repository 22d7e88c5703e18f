import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread running a TypeScript or JavaScript module. Workers do
 * not inherit tsx's loader, so when the entry is a .ts file (running from a
 * checkout) the worker registers tsx itself before importing it.
 */
export function startWorker(entry: URL, workerData: unknown): Worker {
  const tsxApi = entry.pathname.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : null;
  const code = `
    const { workerData } = require('node:worker_threads');
    (async () => {
      if (workerData.tsxApi) (await import(workerData.tsxApi)).register();
      await import(workerData.entry);
    })().catch((err) => { console.error(err); process.exit(1); });`;
  return new Worker(code, { eval: true, workerData: { ...(workerData as object), entry: entry.href, tsxApi } });
}
