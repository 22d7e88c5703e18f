import { hostname } from 'node:os';
import { z } from 'zod';
import { CarebellError } from '../core/errors.ts';
import { timeZoneSchema } from '../core/time-zone.ts';

/**
 * Every setting, with its environment variable, its `--flag` and its default.
 * The README's configuration table is this list.
 */
const port = z.coerce.number().int().min(0).max(65535);
const optionalUrl = z
  .string()
  .url()
  .optional()
  .or(z.literal('').transform(() => undefined));

export const configSchema = z.object({
  dataDir: z.string().min(1).default('./data'),
  mqttHost: z.string().default('0.0.0.0'),
  mqttPort: port.default(1883),
  mqttTlsPort: port.default(8883),
  mqttTlsCert: z.string().optional(),
  mqttTlsKey: z.string().optional(),
  httpHost: z.string().default('0.0.0.0'),
  httpPort: port.default(8080),
  httpTlsCert: z.string().optional(),
  httpTlsKey: z.string().optional(),
  /** Reverse proxies whose X-Forwarded-For is believed: addresses or CIDR ranges, comma-separated. */
  trustProxy: z
    .string()
    .optional()
    .transform((s) => (s ? s.split(',').map((a) => a.trim()).filter(Boolean) : []))
    .refine((list) => list.every((a) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(a)), 'must be addresses or CIDR ranges, comma-separated (e.g. 127.0.0.1,10.0.0.0/8)'),
  adminToken: z.string().min(16, 'must be at least 16 characters').optional(),
  influxUrl: optionalUrl,
  influxV2Url: optionalUrl,
  influxV2Token: z.string().optional(),
  influxV2Org: z.string().optional(),
  influxV2Bucket: z.string().optional(),
  webhookSecret: z.string().optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  telemetryRetentionDays: z.coerce.number().int().min(1).default(90),
  deadLetterRetentionDays: z.coerce.number().int().min(1).default(30),
  maxPayloadBytes: z.coerce.number().int().min(64).max(1_048_576).default(16_384),
  mqttMaxConnectBytes: z.coerce.number().int().min(256).max(65_536).default(4_096),
  mqttConnectTimeoutMs: z.coerce.number().int().min(500).max(120_000).default(10_000),
  mqttMaxRetainedBytes: z.coerce.number().int().min(0).max(1_048_576).default(1_024),
  deviceRate: z.coerce.number().positive().max(100_000).default(20),
  deviceBurst: z.coerce.number().int().min(1).max(1_000_000).default(200),
  deviceEventRate: z.coerce.number().positive().max(100_000).default(2),
  deviceEventBurst: z.coerce.number().int().min(1).max(1_000_000).default(20),
  /** Below this much free space in the data directory, telemetry is shed so events and alarms keep the room. */
  minFreeMb: z.coerce.number().min(0).max(1_000_000).default(64),
  telemetryFlushMs: z.coerce.number().int().min(1).max(60_000).default(1000),
  loginTtlHours: z.coerce.number().positive().max(24 * 90).default(12),
  /** This node's name in a cluster (several nodes, one database): deliveries it sends are leased to it. Default: the host name. */
  nodeId: z.string().trim().min(1).max(100).default(hostname()),
  /** Several nodes: one not heard for this long (its heartbeat, every fifth of it) is taken for dead and another adopts its devices. */
  nodeTimeoutSeconds: z.coerce.number().min(1).max(3600).default(15),
  /**
   * The shared PostgreSQL database of several nodes (postgres://user:password@host:port/db);
   * unset, everything stays in the embedded database in the data directory.
   */
  databaseUrl: z
    .string()
    .trim()
    .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
    .optional(),
  /** Alarm and call buttons are tested this often (JGJ/T 484-2019 §10.3.1: weekly); older is listed and reminded. */
  deviceTestDays: z.coerce.number().int().min(1).max(366).default(7),
  timeZone: timeZoneSchema.default('Asia/Shanghai'),
  mode: z.enum(['production', 'demo', 'test']).default('production'),
  simSpeed: z.coerce.number().positive().max(10_000).optional(),
  simEpoch: z.coerce.number().int().positive().optional(),
  simStart: z.union([z.coerce.number().int().positive(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]).optional(),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** Environment variable name → config key. */
export const envVars: Record<string, keyof Config> = {
  CAREBELL_DATA_DIR: 'dataDir',
  CAREBELL_MQTT_HOST: 'mqttHost',
  CAREBELL_MQTT_PORT: 'mqttPort',
  CAREBELL_MQTT_TLS_PORT: 'mqttTlsPort',
  CAREBELL_MQTT_TLS_CERT: 'mqttTlsCert',
  CAREBELL_MQTT_TLS_KEY: 'mqttTlsKey',
  CAREBELL_HTTP_HOST: 'httpHost',
  CAREBELL_HTTP_PORT: 'httpPort',
  CAREBELL_HTTP_TLS_CERT: 'httpTlsCert',
  CAREBELL_HTTP_TLS_KEY: 'httpTlsKey',
  CAREBELL_TRUST_PROXY: 'trustProxy',
  CAREBELL_ADMIN_TOKEN: 'adminToken',
  CAREBELL_INFLUX_URL: 'influxUrl',
  CAREBELL_INFLUX_V2_URL: 'influxV2Url',
  CAREBELL_INFLUX_V2_TOKEN: 'influxV2Token',
  CAREBELL_INFLUX_V2_ORG: 'influxV2Org',
  CAREBELL_INFLUX_V2_BUCKET: 'influxV2Bucket',
  CAREBELL_WEBHOOK_SECRET: 'webhookSecret',
  CAREBELL_LOG_LEVEL: 'logLevel',
  CAREBELL_TELEMETRY_RETENTION_DAYS: 'telemetryRetentionDays',
  CAREBELL_DEADLETTER_RETENTION_DAYS: 'deadLetterRetentionDays',
  CAREBELL_MAX_PAYLOAD_BYTES: 'maxPayloadBytes',
  CAREBELL_MQTT_MAX_CONNECT_BYTES: 'mqttMaxConnectBytes',
  CAREBELL_MQTT_CONNECT_TIMEOUT_MS: 'mqttConnectTimeoutMs',
  CAREBELL_MQTT_MAX_RETAINED_BYTES: 'mqttMaxRetainedBytes',
  CAREBELL_DEVICE_RATE: 'deviceRate',
  CAREBELL_DEVICE_BURST: 'deviceBurst',
  CAREBELL_DEVICE_EVENT_RATE: 'deviceEventRate',
  CAREBELL_DEVICE_EVENT_BURST: 'deviceEventBurst',
  CAREBELL_TELEMETRY_FLUSH_MS: 'telemetryFlushMs',
  CAREBELL_MIN_FREE_MB: 'minFreeMb',
  CAREBELL_TIMEZONE: 'timeZone',
  CAREBELL_LOGIN_TTL_HOURS: 'loginTtlHours',
  CAREBELL_NODE_ID: 'nodeId',
  CAREBELL_NODE_TIMEOUT_SECONDS: 'nodeTimeoutSeconds',
  CAREBELL_DATABASE_URL: 'databaseUrl',
  CAREBELL_DEVICE_TEST_DAYS: 'deviceTestDays',
  CAREBELL_MODE: 'mode',
  CAREBELL_SIM_SPEED: 'simSpeed',
  CAREBELL_SIM_EPOCH: 'simEpoch',
  CAREBELL_SIM_START: 'simStart',
};

/** `CAREBELL_MQTT_PORT` → `--mqtt-port`. */
export const flagFor = (envVar: string): string =>
  '--' + envVar.replace(/^CAREBELL_/, '').toLowerCase().replace(/_/g, '-');

/**
 * Reads settings from the environment, then `--flag value` / `--flag=value`
 * arguments (flags win). Unknown flags and bad values are errors that name them.
 */
export function loadConfig(env: NodeJS.ProcessEnv, argv: readonly string[] = []): Config {
  return parseConfig(configSettings(env, argv));
}

/**
 * The settings given in the environment and as flags (flags win), before
 * defaults: for a command with defaults of its own (the demo) that must still
 * honour every CAREBELL_* setting. `own` lists flags (with a value each) that
 * the command reads itself.
 */
export function configSettings(env: NodeJS.ProcessEnv, argv: readonly string[] = [], own: readonly string[] = []): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const [name, key] of Object.entries(envVars)) {
    const value = env[name];
    // An empty variable is an unset one: compose files pass `${VAR:-}` through as "".
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const byFlag = new Map(Object.entries(envVars).map(([name, key]) => [flagFor(name), key]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) continue;
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (own.includes(flag)) {
      if (eq === -1) i++;
      continue;
    }
    const key = byFlag.get(flag);
    if (!key) throw new CarebellError('validation_failed', `unknown option ${flag}; known: ${[...byFlag.keys()].join(', ')}`);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new CarebellError('validation_failed', `option ${flag} needs a value`);
    raw[key] = value;
  }
  return raw;
}

export function parseConfig(input: ConfigInput | Record<string, unknown>): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    const envName = Object.entries(envVars).find(([, k]) => k === key)?.[0] ?? key;
    throw new CarebellError('validation_failed', `${envName}: ${issue.message}`, { field: envName });
  }
  const config = result.data;
  const v2 = [config.influxV2Url, config.influxV2Token, config.influxV2Org, config.influxV2Bucket];
  if (v2.some((v) => v) && !v2.every((v) => v)) {
    throw new CarebellError(
      'validation_failed',
      'CAREBELL_INFLUX_V2_URL, _TOKEN, _ORG and _BUCKET must be set together',
      { field: 'CAREBELL_INFLUX_V2_URL' },
    );
  }
  if ((config.mqttTlsCert === undefined) !== (config.mqttTlsKey === undefined)) {
    throw new CarebellError('validation_failed', 'CAREBELL_MQTT_TLS_CERT and CAREBELL_MQTT_TLS_KEY must be set together', { field: 'CAREBELL_MQTT_TLS_CERT' });
  }
  if ((config.httpTlsCert === undefined) !== (config.httpTlsKey === undefined)) {
    throw new CarebellError('validation_failed', 'CAREBELL_HTTP_TLS_CERT and CAREBELL_HTTP_TLS_KEY must be set together', { field: 'CAREBELL_HTTP_TLS_CERT' });
  }
  if ((config.simSpeed !== undefined || config.simEpoch !== undefined || config.simStart !== undefined) && config.mode === 'production') {
    throw new CarebellError('validation_failed', 'CAREBELL_SIM_SPEED and CAREBELL_SIM_EPOCH need CAREBELL_MODE=demo or test: a production gateway runs on real time', {
      field: 'CAREBELL_SIM_SPEED',
    });
  }
  if (config.influxUrl && config.influxV2Url) {
    throw new CarebellError('validation_failed', 'set either CAREBELL_INFLUX_URL (1.x) or CAREBELL_INFLUX_V2_URL (2.x), not both');
  }
  return config;
}
