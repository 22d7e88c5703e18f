import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { exited, root } from './processes.ts';

export const HAPROXY_CONFIG = join(root, 'deploy/haproxy.cfg');
/** Debian's package puts it in /usr/sbin, which a user's PATH may not hold. */
export const HAPROXY = existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy';

import { freePort } from '../../simulators/influxd.ts';

export { freePort };

export const accepting = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

/**
 * Debian's HAProxy running the shipped deploy/haproxy.cfg in front of three
 * nodes (`host:port` of each node's MQTT and HTTP listeners), on free ports of
 * 127.0.0.1; resolves once it accepts MQTT connections (or rejects with what it said).
 */
export async function startHaproxy(nodes: Array<{ mqtt: string; http: string }>) {
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const env: Record<string, string> = {
    CAREBELL_HAPROXY_HOST: '127.0.0.1',
    CAREBELL_HAPROXY_MAXCONN: '4000', // this machine allows a process 20,000 open files
    CAREBELL_HAPROXY_MQTT_PORT: String(mqttPort),
    CAREBELL_HAPROXY_HTTP_PORT: String(httpPort),
    ...Object.fromEntries(nodes.flatMap((n, i) => [[`CAREBELL_NODE${i + 1}_MQTT`, n.mqtt], [`CAREBELL_NODE${i + 1}_HTTP`, n.http]])),
  };
  const child: ChildProcess = spawn(HAPROXY, ['-db', '-f', HAPROXY_CONFIG], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  child.stderr!.on('data', (c) => (said += c));
  const failed = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`haproxy exited with ${code}: ${said}`))));
  const up = (async () => {
    while (!(await accepting(mqttPort))) await new Promise((r) => setImmediate(r));
  })();
  await Promise.race([up, failed]);
  failed.catch(() => {});
  return {
    env,
    child,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}
