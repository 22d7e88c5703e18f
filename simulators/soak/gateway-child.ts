import { RunClock, startEmbeddedGateway, type EmbeddedGateway } from '../simulate.ts';
import { ALERT_WAIT_MS, AlertHolds, alertKey, type ToChild, type ToParent } from './gateway.ts';

/**
 * A soak's gateway in a process of its own (gateway.ts forks it), so that the
 * soak can kill it with SIGKILL and start it again on the same data and
 * ports, and so that it has a core to itself. Its clock runs at the soak's
 * speed from the simulated instant it is given, never past the last hold the
 * soak sent (the devices' progress and the people's next action).
 */
let gateway: EmbeddedGateway | undefined;
let hold: number | null = null;
/** Console alerts written and not yet seen by the people (the soak lets go of its own after ALERT_WAIT_MS and says so). */
const alerts = new AlertHolds(ALERT_WAIT_MS * 2);

const send = (m: ToParent) => process.send!(m);

process.on('message', (m: ToChild) => {
  switch (m.type) {
    case 'start': {
      const clock = new RunClock(m.speed, m.start);
      clock.holdAt(() => Math.min(hold === null ? Number.POSITIVE_INFINITY : hold, alerts.earliest()));
      if (m.begun) {
        // Started again after a kill: the soak's clock, held where the soak is now.
        hold = m.hold ?? null;
        clock.begin(m.begun);
      }
      void startEmbeddedGateway({ speed: m.speed, start: m.start, clock, dataDir: m.dataDir, httpPort: m.httpPort, mqttPort: m.mqttPort, settings: { ...m.settings, adminToken: m.token } }).then(
        (g) => {
          gateway = g;
          // Its clock, for the soak's to follow (gateway.ts).
          let said = Number.NaN;
          setInterval(() => {
            const at = clock.now();
            if (at !== said && clock.begun) send({ type: 'now', at: (said = at) });
          }, 1);
          // An alert to a station's open console: time stops here until the soak says a desk has seen it.
          // (The soak's word comes first so that it is not overtaken by the alert's own way there.)
          const live = g.app.live;
          const alertConsoles = live.alertConsoles.bind(live);
          live.alertConsoles = (alarm, stationId, event, step) => {
            const key = alertKey(alarm.id, stationId);
            alerts.add(key, clock.now());
            send({ type: 'alert', key });
            const consoles = alertConsoles(alarm, stationId, event, step);
            if (consoles === 0) {
              alerts.delete(key);
              send({ type: 'alert', key, gone: true });
            }
            return consoles;
          };
          const http = new URL(g.target.apiUrl);
          const mqtt = new URL(g.target.mqttUrl);
          send({ type: 'ready', httpPort: Number(http.port), mqttPort: Number(mqtt.port) });
        },
        (err: unknown) => {
          send({ type: 'failed', message: String((err as Error)?.stack ?? err) });
          process.exit(1);
        },
      );
      break;
    }
    case 'hold':
      hold = m.at;
      break;
    case 'seen':
      alerts.delete(m.key);
      break;
    case 'begin':
      gateway?.clock.begin(m.at);
      break;
    case 'flush':
      void (async () => {
        await gateway?.app.telemetry.flush();
        await (gateway?.app.sink as { drained?: () => Promise<void> } | undefined)?.drained?.();
        send({ type: 'flushed' });
      })();
      break;
    case 'close':
      void (gateway?.close() ?? Promise.resolve()).then(() => {
        send({ type: 'closed' });
        process.exit(0);
      });
      break;
  }
});
// The soak went away without closing it: so does the gateway.
process.on('disconnect', () => process.exit(0));
