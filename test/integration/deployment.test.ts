import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envVars } from '../../src/config/config.ts';
import { exited, root, run, startProcess } from '../helpers/processes.ts';

interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, string | null>;
  ports?: Array<{ target: number; published: number | string } | string>;
  /** docker-compose 1.x normalises volumes to `source:target:mode`. */
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

/** `docker-compose config` as JSON: Debian's docker-compose validates and normalises, python3-yaml reads its YAML. */
async function composeConfig(env: Record<string, string> = {}, file = 'docker-compose.yml'): Promise<{ services: Record<string, ComposeService>; volumes: Record<string, unknown> }> {
  const composeFile = join(root, file);
  const script = `import json, subprocess, sys, yaml
out = subprocess.run(['docker-compose', '-f', sys.argv[1], 'config'], capture_output=True, text=True)
if out.returncode != 0:
    sys.stderr.write(out.stderr); sys.exit(out.returncode)
json.dump(yaml.safe_load(out.stdout), sys.stdout)`;
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const res = await run('env', [...envArgs, 'python3', '-c', script, composeFile], { timeoutMs: 30_000 });
  if (res.code !== 0) throw new Error(`docker-compose config failed: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

/** The Dockerfile's instructions, continuation lines joined, grouped by stage. */
function dockerfileStages(): Array<{ from: string; name: string | undefined; instructions: Array<{ op: string; args: string }> }> {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages: ReturnType<typeof dockerfileStages> = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(trimmed)!;
    if (op!.toUpperCase() === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args!)!;
      stages.push({ from: from!, name, instructions: [] });
    } else stages.at(-1)!.instructions.push({ op: op!.toUpperCase(), args: args!.trim() });
  }
  return stages;
}

describe('deployment files', () => {
  it('docker-compose config accepts the stack: carebell, InfluxDB 1.8, Grafana and Prometheus, each with a healthcheck', async () => {
    const config = await composeConfig();
    expect(Object.keys(config.services).sort()).toEqual(['carebell', 'grafana', 'influxdb', 'prometheus']);
    for (const [name, service] of Object.entries(config.services)) expect(service.healthcheck?.test.length, `${name} has a healthcheck`).toBeGreaterThan(0);
    expect(config.services.influxdb!.image).toMatch(/^influxdb:1\.8/);
    expect(config.services.carebell!.build).toBeDefined();
    expect(config.services.carebell!.depends_on).toMatchObject({ influxdb: { condition: 'service_healthy' } });
    expect(Object.keys(config.volumes).sort()).toEqual(['carebell-data', 'grafana-data', 'influxdb-data', 'prometheus-data']);
  });

  it('wires carebell to InfluxDB through known CAREBELL_* variables, and an unset secret stays unset', async () => {
    const config = await composeConfig();
    const env = config.services.carebell!.environment!;
    const known = new Set(Object.keys(envVars));
    for (const name of Object.keys(env)) expect(known.has(name), `${name} is a carebell setting`).toBe(true);
    expect(env.CAREBELL_INFLUX_URL).toBe('http://influxdb:8086/carebell');
    expect(config.services.influxdb!.environment!.INFLUXDB_DB).toBe('carebell');
    expect(env.CAREBELL_ADMIN_TOKEN ?? '').toBe('');
    const withToken = await composeConfig({ CAREBELL_ADMIN_TOKEN: 'a-token-for-automation-0123' });
    expect(withToken.services.carebell!.environment!.CAREBELL_ADMIN_TOKEN).toBe('a-token-for-automation-0123');
  });

  it('mounts the Grafana provisioning, the dashboards and the Prometheus config from this repository', async () => {
    const config = await composeConfig();
    const binds = Object.values(config.services)
      .flatMap((s) => s.volumes ?? [])
      .map((v) => v.split(':'))
      .filter(([source]) => source!.startsWith('/'))
      .map(([source, target]) => ({ source: source!, target: target! }));
    expect(binds.map((b) => b.target).sort()).toEqual(['/etc/grafana/provisioning', '/etc/prometheus/prometheus.yml', '/var/lib/grafana/dashboards']);
    for (const b of binds) expect(existsSync(b.source), b.source).toBe(true);
    const home = config.services.grafana!.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!;
    expect(existsSync(join(root, 'grafana/dashboards', home.split('/').at(-1)!))).toBe(true);
    expect(readFileSync(join(root, 'grafana/provisioning/dashboards/carebell.yml'), 'utf8')).toContain('path: /var/lib/grafana/dashboards');
    const prometheus = readFileSync(join(root, 'prometheus/prometheus.yml'), 'utf8');
    expect(prometheus).toContain("targets: ['carebell:8080']");
    expect(prometheus).toContain('metrics_path: /metrics');
  });

  it('the cluster file: three nodes on one PostgreSQL behind HAProxy, with InfluxDB and Grafana; one webhook secret for all, required', async () => {
    const secrets = { POSTGRES_PASSWORD: 'a-database-password', CAREBELL_WEBHOOK_SECRET: 'one-secret-for-every-node' };
    const config = await composeConfig(secrets, 'deploy/docker-compose.cluster.yml');
    expect(Object.keys(config.services).sort()).toEqual(['grafana', 'haproxy', 'influxdb', 'node1', 'node2', 'node3', 'postgres']);
    for (const [name, service] of Object.entries(config.services)) expect(service.healthcheck?.test.length, `${name} has a healthcheck`).toBeGreaterThan(0);
    const known = new Set(Object.keys(envVars));
    const nodes = ['node1', 'node2', 'node3'].map((n) => config.services[n]!);
    for (const [i, node] of nodes.entries()) {
      const env = node.environment!;
      for (const name of Object.keys(env)) expect(known.has(name), `${name} is a carebell setting`).toBe(true);
      expect(env).toMatchObject({
        CAREBELL_NODE_ID: `node${i + 1}`,
        CAREBELL_DATABASE_URL: 'postgres://carebell:a-database-password@postgres:5432/carebell',
        CAREBELL_WEBHOOK_SECRET: 'one-secret-for-every-node',
        CAREBELL_INFLUX_URL: 'http://influxdb:8086/carebell',
      });
      expect(node.depends_on).toMatchObject({ postgres: { condition: 'service_healthy' }, influxdb: { condition: 'service_healthy' } });
      expect(node.volumes).toEqual([`node${i + 1}-data:/data:rw`]);
      expect(node.ports ?? []).toEqual([]); // reached through HAProxy only
    }
    expect(config.services.postgres!.environment).toMatchObject({ POSTGRES_USER: 'carebell', POSTGRES_DB: 'carebell', POSTGRES_PASSWORD: 'a-database-password' });
    // HAProxy runs the shipped configuration, pointed at the three nodes by the variables it reads.
    const haproxy = config.services.haproxy!;
    const [cfg] = haproxy.volumes!.map((v) => v.split(':')).filter(([, target]) => target === '/usr/local/etc/haproxy/haproxy.cfg');
    expect(cfg![0]).toBe(join(root, 'deploy/haproxy.cfg'));
    const shipped = readFileSync(join(root, 'deploy/haproxy.cfg'), 'utf8');
    for (const [name, value] of Object.entries(haproxy.environment!)) {
      expect(shipped, `haproxy.cfg reads ${name}`).toContain(`\${${name}}`);
      expect(value).toMatch(/^node[123]:(1883|8080)$/);
    }
    expect(Object.keys(haproxy.environment!)).toHaveLength(6);
    // Without the shared secrets the file refuses to start anything.
    await expect(composeConfig({ POSTGRES_PASSWORD: 'p' }, 'deploy/docker-compose.cluster.yml')).rejects.toThrow(/CAREBELL_WEBHOOK_SECRET/);
    await expect(composeConfig({ CAREBELL_WEBHOOK_SECRET: 's' }, 'deploy/docker-compose.cluster.yml')).rejects.toThrow(/POSTGRES_PASSWORD/);
  });

  it('the Dockerfile builds in one stage and runs as a non-root user in a slim one, with a healthcheck on /healthz', () => {
    const stages = dockerfileStages();
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages[0]!;
    const runtime = stages.at(-1)!;
    const runs = build.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => r.includes('npm ci'))).toBe(true);
    expect(runs.some((r) => r.includes('npm run build') && r.includes('npm prune --omit=dev'))).toBe(true);
    const user = runtime.instructions.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(runtime.instructions.find((i) => i.op === 'HEALTHCHECK')?.args).toContain('/healthz');
    expect(runtime.instructions.find((i) => i.op === 'CMD')?.args).toBe('["node", "dist/main.js", "start"]');
    // What the build stage copies from the context exists, and the runtime copies only built output from it.
    for (const stage of stages) {
      for (const copy of stage.instructions.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))) {
        const sources = copy.args.split(/\s+/).slice(0, -1);
        for (const s of sources) expect(existsSync(join(root, s)), `COPY ${s}`).toBe(true);
      }
    }
    const fromBuild = runtime.instructions.filter((i) => i.op === 'COPY' && i.args.startsWith(`--from=${build.name}`)).map((i) => i.args.split(/\s+/)[1]);
    expect(fromBuild.sort()).toEqual(['/app/dist', '/app/node_modules', '/app/package.json']);
    // npm run build is what the Dockerfile runs, so it must exist.
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.scripts.build).toBeDefined();
  });

  it('the image\'s command works: `npm run build`, then `node dist/main.js start` serves /healthz and stops on SIGTERM', async () => {
    const build = await run('npm', ['run', 'build', '--silent'], { timeoutMs: 120_000 });
    expect(build.code, build.stdout + build.stderr).toBe(0);
    const dataDir = mkdtempSync(join(tmpdir(), 'carebell-dist-'));
    try {
      const gw = await startProcess({ CAREBELL_DATA_DIR: dataDir }, ['dist/main.js', 'start']);
      const page = await fetch(`${gw.http}/`);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toContain('/console/app.js');
      const script = await (await fetch(`${gw.http}/console/app.js`)).text();
      expect(script.length).toBeGreaterThan(10_000);
      expect(script.split('\n').length).toBeLessThan(50); // the minified bundle from npm run build, not a dev bundle
      const health = await fetch(`${gw.http}/healthz`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { status: string }).status).toBe('ok');
      const profiles = await fetch(`${gw.http}/api/v1/profiles`, { headers: { authorization: `Bearer ${gw.token}` } });
      expect(((await profiles.json()) as unknown[]).length).toBeGreaterThan(5);
      gw.child.kill('SIGTERM');
      expect(await exited(gw.child)).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 150_000);
});
