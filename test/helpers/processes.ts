import { execFile } from 'node:child_process';

/** Runs a command; resolves with its exit code and output (never rejects on a non-zero exit). */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number; input?: Buffer } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 15_000, encoding: 'utf8' }, (err, stdout, stderr) => {
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
