// Debian's influxd in a temp directory: shared with the soak (`carebell soak --influx`).
export { freePort, Influxd } from '../../simulators/influxd.ts';
