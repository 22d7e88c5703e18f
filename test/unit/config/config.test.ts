import { describe, expect, it } from 'vitest';
import { envVars, flagFor, loadConfig } from '../../../src/config/config.ts';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ dataDir: './data', mqttPort: 1883, httpPort: 8080, telemetryRetentionDays: 90, telemetryFlushMs: 1000 });
    expect(c.influxUrl).toBeUndefined();
    expect(c.adminToken).toBeUndefined();
  });

  it('reads variables, and flags win over variables', () => {
    const c = loadConfig({ CAREBELL_MQTT_PORT: '2883', CAREBELL_HTTP_PORT: '0' }, ['--mqtt-port', '3883', '--data-dir=/tmp/x']);
    expect(c).toMatchObject({ mqttPort: 3883, httpPort: 0, dataDir: '/tmp/x' });
  });

  it('treats an empty variable as unset, as compose passes `${VAR:-}`', () => {
    const c = loadConfig({ CAREBELL_ADMIN_TOKEN: '', CAREBELL_WEBHOOK_SECRET: '', CAREBELL_HTTP_PORT: '' });
    expect(c.adminToken).toBeUndefined();
    expect(c.webhookSecret).toBeUndefined();
    expect(c.httpPort).toBe(8080);
  });

  it('names the variable of a bad value', () => {
    expect(() => loadConfig({ CAREBELL_HTTP_PORT: '99999' })).toThrow(/^CAREBELL_HTTP_PORT: /);
    expect(() => loadConfig({ CAREBELL_INFLUX_URL: 'not a url' })).toThrow(/^CAREBELL_INFLUX_URL: /);
    expect(() => loadConfig({ CAREBELL_ADMIN_TOKEN: 'short' })).toThrow('CAREBELL_ADMIN_TOKEN: must be at least 16 characters');
  });

  it('refuses unknown flags and flags without a value', () => {
    expect(() => loadConfig({}, ['--mqtt-prot', '1'])).toThrow('unknown option --mqtt-prot');
    expect(() => loadConfig({}, ['--mqtt-port'])).toThrow('option --mqtt-port needs a value');
  });

  it('wants the TLS certificate and key together', () => {
    expect(() => loadConfig({ CAREBELL_MQTT_TLS_CERT: '/etc/carebell/cert.pem' })).toThrow('CAREBELL_MQTT_TLS_CERT and CAREBELL_MQTT_TLS_KEY must be set together');
    expect(loadConfig({ CAREBELL_MQTT_TLS_CERT: '/c.pem', CAREBELL_MQTT_TLS_KEY: '/k.pem' })).toMatchObject({ mqttTlsPort: 8883 });
  });

  it('wants the InfluxDB 2.x settings together, and only one InfluxDB', () => {
    expect(() => loadConfig({ CAREBELL_INFLUX_V2_URL: 'http://x:8086' })).toThrow('must be set together');
    expect(() =>
      loadConfig({
        CAREBELL_INFLUX_URL: 'http://x:8086/db',
        CAREBELL_INFLUX_V2_URL: 'http://x:8086',
        CAREBELL_INFLUX_V2_TOKEN: 't',
        CAREBELL_INFLUX_V2_ORG: 'o',
        CAREBELL_INFLUX_V2_BUCKET: 'b',
      }),
    ).toThrow('not both');
  });

  it('documents every variable in the README', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    for (const name of Object.keys(envVars)) {
      expect(readme, name).toContain(`| \`${name}\` | \`${flagFor(name)}\` |`);
    }
  });
});
