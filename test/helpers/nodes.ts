import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exited, startProcess } from './processes.ts';

/** A `carebell start` process of a cluster, with a data directory of its own (its telemetry file). */
export interface NodeProcess {
  id: string;
  dataDir: string;
  proc: Awaited<ReturnType<typeof startProcess>>;
}

/** Starts a node on the shared database (`CAREBELL_DATABASE_URL` among `env`) named `id`. */
export async function startNode(id: string, env: Record<string, string>): Promise<NodeProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), `carebell-${id}-`));
  try {
    return { id, dataDir, proc: await startProcess({ CAREBELL_NODE_ID: id, CAREBELL_DATA_DIR: dataDir, ...env }) };
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/** Stops the nodes still running (SIGTERM, awaited) and removes their data directories. */
export async function stopNodes(nodes: NodeProcess[]): Promise<void> {
  for (const n of nodes.splice(0)) {
    if (n.proc.child.exitCode === null && n.proc.child.signalCode === null) {
      n.proc.child.kill('SIGTERM');
      await exited(n.proc.child);
    }
    rmSync(n.dataDir, { recursive: true, force: true });
  }
}

export type ApiAnswer = { status: number; body: any };

/** One API call with a bearer token; the body parsed when there is one. */
export async function call(base: string, token: string, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** The body of a call that must succeed; otherwise an error with the status and the answer. */
export async function must(answer: Promise<ApiAnswer>): Promise<any> {
  const { status, body } = await answer;
  if (status >= 300) throw new Error(`${status}: ${JSON.stringify(body)}`);
  return body;
}
