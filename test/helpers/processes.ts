import { execFile, spawn, type ChildProcess } from 'node:child_process';

/** Runs a command; resolves with its exit code and output (never rejects on a non-zero exit). */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number; input?: Buffer; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 15_000, encoding: 'utf8', ...(opts.cwd ? { cwd: opts.cwd } : {}) }, (err, stdout, stderr) => {
      const code = err && typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? ((err as unknown as { code: number }).code) : err ? (child.exitCode ?? 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (opts.input) child.stdin?.end(opts.input);
  });
}

/** mosquitto_pub as a real, independent MQTT peer. */
export function mosquittoPub(opts: { port: number; id: string; password: string; topic: string; message?: string; file?: string; qos?: 0 | 1 | 2; clientId?: string }) {
  const args = ['-h', '127.0.0.1', '-p', String(opts.port), '-V', 'mqttv311', '-i', opts.clientId ?? opts.id, '-u', opts.id, '-P', opts.password, '-t', opts.topic, '-q', String(opts.qos ?? 1)];
  if (opts.file) args.push('-f', opts.file);
  else args.push('-m', opts.message ?? '');
  return run('mosquitto_pub', args);
}

export const root = new URL('../../', import.meta.url).pathname;

/**
 * Starts `carebell start` as its own process (from the sources through tsx,
 * unless other node arguments are given) and resolves when it prints its banner.
 */
export function startProcess(
  env: Record<string, string>,
  nodeArgs: string[] = ['--import', 'tsx', 'src/main.ts', 'start'],
  opts: { spawn?: typeof spawn } = {},
): Promise<Watched & { http: string; mqtt: string; token: string | undefined }> {
  const child = (opts.spawn ?? spawn)(process.execPath, nodeArgs, {
    cwd: root,
    env: { ...process.env, CAREBELL_MQTT_PORT: '0', CAREBELL_HTTP_PORT: '0', CAREBELL_MQTT_HOST: '127.0.0.1', CAREBELL_HTTP_HOST: '127.0.0.1', CAREBELL_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = watch(child, 'carebell');
  const http = (out: string) => /HTTP API\s+(http:\/\/\S+?)\/api\/v1\s/.exec(out)?.[1];
  const mqtt = (out: string) => /MQTT\s+(mqtt:\/\/\S+)/.exec(out)?.[1];
  return run
    .until((out) => http(out) !== undefined && mqtt(out) !== undefined && out.includes('\n\n', out.indexOf('data ')))
    .then(() => {
      const out = run.stdout();
      return { ...run, http: http(out)!, mqtt: mqtt(out)!, token: /Authorization: Bearer (\S+)/.exec(out)?.[1] };
    });
}

/** `carebell ARGS` from the sources as its own process, its output collected (see watch). */
export function carebell(args: string[], env: Record<string, string> = {}): Watched {
  return watch(spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }), `carebell ${args[0]}`);
}

export interface Watched {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once the output so far passes `test`; rejects, with what the process printed, if it exits first. */
  until: (test: (stdout: string) => boolean) => Promise<void>;
}

/** Collects a child process's output, to wait on. */
function watch(child: ChildProcess, what: string): Watched {
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err += c));
  const until = (test: (stdout: string) => boolean) =>
    new Promise<void>((resolve, reject) => {
      const early = (code: number | null) => reject(new Error(`${what} exited with ${code}\n${out}\n${err}`));
      const check = () => {
        if (!test(out)) return;
        child.stdout!.off('data', check);
        child.off('exit', early);
        resolve();
      };
      child.stdout!.on('data', check);
      child.once('exit', early);
      check();
    });
  return { child, stdout: () => out, stderr: () => err, until };
}

/** Resolves with the exit code (null: ended by a signal), at once if it has already exited. */
export const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

