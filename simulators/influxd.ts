import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Debian's real influxd (1.x) with a config of its own in a temp directory,
 * on free ports. start() resolves when influxd says it is listening.
 */
export class Influxd {
  readonly dir: string;
  #port: number;
  #rpcPort: number;
  #child: ChildProcess | undefined;
  /** Started once: its port is known to whoever it serves, and stays. */
  #started = false;

  private constructor(dir: string, port: number, rpcPort: number) {
    this.dir = dir;
    this.#port = port;
    this.#rpcPort = rpcPort;
  }

  get port(): number {
    return this.#port;
  }

  static async create(): Promise<Influxd> {
    const server = new Influxd(mkdtempSync(join(tmpdir(), 'carebell-influxd-')), await freePort(), await freePort());
    server.#writeConfig();
    return server;
  }

  #writeConfig(): void {
    const dir = this.dir;
    writeFileSync(
      join(dir, 'influxdb.conf'),
      `reporting-disabled = true
bind-address = "127.0.0.1:${this.#rpcPort}"
[meta]
  dir = "${dir}/meta"
[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:${this.#port}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
[logging]
  level = "info"
`,
    );
  }

  url(database: string): string {
    return `http://127.0.0.1:${this.port}/${database}`;
  }

  /**
   * Starts influxd. A free port is picked before influxd binds it, and another process (a test
   * beside this one) may take it meanwhile: at the first start, when nobody knows the port yet,
   * influxd is tried again on other ports (up to 5 times). A restart keeps its ports.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#startOnce();
        this.#started = true;
        return;
      } catch (err) {
        if (this.#started || attempt >= 5 || !/address already in use/.test((err as Error).message)) throw err;
        this.#port = await freePort();
        this.#rpcPort = await freePort();
        this.#writeConfig();
      }
    }
  }

  #startOnce(): Promise<void> {
    if (this.#child && this.#child.exitCode === null) throw new Error('influxd already running');
    const child = spawn('influxd', ['run', '-config', join(this.dir, 'influxdb.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    return new Promise((resolve, reject) => {
      let log = '';
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('msg="Listening for signals"')) {
          child.stderr!.off('data', onData);
          child.stdout!.off('data', onData);
          child.stderr!.resume();
          child.stdout!.resume();
          resolve();
        }
      };
      child.stderr!.on('data', onData);
      child.stdout!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`influxd exited with ${code} before it was ready:\n${log.slice(-2000)}`)));
      child.once('error', reject);
    });
  }

  /** Stops influxd (SIGKILL: it dies as a crashed server does) and resolves when the process has exited. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
