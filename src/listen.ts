import type { Server as NetServer, AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { CarebellApp } from './app.ts';

export interface Listening {
  mqttPort: number;
  /** MQTT over TLS, when a certificate is configured. */
  mqttsPort: number | null;
  mqttsUrl: string | null;
  httpPort: number;
  mqttUrl: string;
  httpUrl: string;
  wsUrl: string;
}

const local = (host: string): string => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);

/**
 * Opens the gateway's sockets: MQTT over TCP, and HTTP with the API, the
 * console and MQTT over WebSocket at /mqtt. Port 0 picks a free port.
 */
export async function listen(app: CarebellApp): Promise<Listening> {
  const { config, broker, api } = app;
  const mqttServer: NetServer = await broker.listenTcp(config.mqttPort, config.mqttHost);
  let mqttsPort: number | null = null;
  if (config.mqttTlsCert && config.mqttTlsKey) {
    const tls = { cert: readFileSync(config.mqttTlsCert), key: readFileSync(config.mqttTlsKey) };
    const tlsServer = await broker.listenTls(config.mqttTlsPort, config.mqttHost, tls);
    mqttsPort = (tlsServer.address() as AddressInfo).port;
  }

  // A WebSocket frame carries one or more MQTT packets; the packet guard checks each of them.
  const wss = new WebSocketServer({ noServer: true, maxPayload: broker.limits.packets.publishBytes + 16 });
  api.server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/mqtt') {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => ws.terminate());
      broker.handleStream(stream, req);
    });
  });
  api.addHook('onClose', async () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
  });
  await api.listen({ port: config.httpPort, host: config.httpHost });

  const mqttPort = (mqttServer.address() as AddressInfo).port;
  const httpPort = (api.server.address() as AddressInfo).port;
  const httpHost = local(config.httpHost);
  return {
    mqttPort,
    mqttsPort,
    mqttsUrl: mqttsPort === null ? null : `mqtts://${local(config.mqttHost)}:${mqttsPort}`,
    httpPort,
    mqttUrl: `mqtt://${local(config.mqttHost)}:${mqttPort}`,
    httpUrl: `${config.httpTlsCert ? 'https' : 'http'}://${httpHost}:${httpPort}`,
    wsUrl: `${config.httpTlsCert ? 'wss' : 'ws'}://${httpHost}:${httpPort}/mqtt`,
  };
}
