import { describe, expect, it } from 'vitest';
import { carebell, exited } from '../helpers/processes.ts';
import { openStream } from '../helpers/sse.ts';

/** `carebell demo` as a newcomer runs it: a gateway, a live fleet, logins printed, incidents in the first minute. */
describe('carebell demo', () => {
  it('prints the console URL and logins, and an operator sees the first SOS arrive', async () => {
    // The gateway's settings as for `start`: a variable (the MQTT port) and a flag (the HTTP port).
    const { child, stdout, until } = carebell(['demo', '--residents', '6', '--speed', '20', '--http-port', '0'], { CAREBELL_MQTT_PORT: '0', CAREBELL_HTTP_HOST: '127.0.0.1', CAREBELL_MQTT_HOST: '127.0.0.1' });
    try {
      await until((out) => out.includes('Ctrl-C to stop'));
      const out = stdout();
      const consoleUrl = /console\s+(http:\/\/\S+)\//.exec(out)![1]!;
      expect(consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(/MQTT\s+mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]).not.toBe('1883'); // CAREBELL_MQTT_PORT=0 honoured
      const password = /password for all: (\S+)\)/.exec(out)![1]!;
      expect(out).toMatch(/operator1\s+\S+社区养老服务站/);
      expect(out).toMatch(/family\s+\S+ 的家属/);
      const index = (await (await fetch(`${consoleUrl}/api`)).json()) as { clock: { speed: number; mode: string } };
      expect(index.clock).toMatchObject({ speed: 20, mode: 'demo' }); // what a simulator pointed at this gateway follows
      const page = await fetch(`${consoleUrl}/`);
      expect(await page.text()).toContain('/console/app.js');
      const login = await fetch(`${consoleUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'operator1', password }) });
      const { token } = (await login.json()) as { token: string };
      const stream = await openStream(`${consoleUrl}/api/v1/stream`, token);
      const alarms = await fetch(`${consoleUrl}/api/v1/alarms`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json() as Promise<Array<{ type: string }>>);
      if (!alarms.some((a) => a.type === 'sos')) await stream.next((e) => e.event === 'alarm.raised' && e.data.type === 'sos');
      await stream.close();
    } finally {
      child.kill('SIGINT');
      expect(await exited(child)).toBe(0);
    }
  }, 60_000);
});
