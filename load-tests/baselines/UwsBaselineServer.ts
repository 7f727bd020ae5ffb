import uWS from 'uWebSockets.js';

/** Per-socket user data of the baseline: viewers subscribe, the publisher publishes. */
interface SocketData {
  role: 'viewer' | 'publisher';
}

/** Topic every viewer subscribes to. */
export const UWS_TOPIC = 'bench';
/** Sent to a viewer once it is subscribed (one byte; see Viewer.UWS_READY_BYTE). */
const READY = new Uint8Array([0x01]);

/** Options of the bare uWebSockets.js baseline. */
export interface UwsBaselineOptions {
  host: string;
  port: number;
  /** Per-socket send buffer limit; the same default as Flashcast's gateway. */
  maxBackpressure: number;
}

/**
 * The ceiling of the broadcast benchmark: a bare uWebSockets.js server. Viewers
 * (`/ws`) subscribe to one topic on open; every binary message from the publisher
 * (`/ws?role=pub`) is forwarded with one `app.publish` (encode once, fan out in
 * C++). No auth, no protocol, no Redis: nothing a real server could skip.
 */
export class UwsBaselineServer {
  readonly #app: uWS.TemplatedApp;
  readonly #listenSocket: uWS.us_listen_socket;
  readonly port: number;
  #closed = false;

  private constructor(app: uWS.TemplatedApp, listenSocket: uWS.us_listen_socket) {
    this.#app = app;
    this.#listenSocket = listenSocket;
    this.port = uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket);
  }

  /** Listens; rejects if the port cannot be bound. */
  static create(options: UwsBaselineOptions): Promise<UwsBaselineServer> {
    const app = uWS.App();
    app
      .ws<SocketData>('/ws', {
        compression: uWS.DISABLED,
        maxPayloadLength: 64 * 1024,
        maxBackpressure: options.maxBackpressure,
        idleTimeout: 120,
        sendPingsAutomatically: true,
        upgrade: (res, req, context) => {
          const role = new URLSearchParams(req.getQuery() ?? '').get('role') === 'pub' ? 'publisher' : 'viewer';
          res.upgrade<SocketData>(
            { role },
            req.getHeader('sec-websocket-key'),
            req.getHeader('sec-websocket-protocol'),
            req.getHeader('sec-websocket-extensions'),
            context,
          );
        },
        open: (ws) => {
          if (ws.getUserData().role === 'viewer') {
            ws.subscribe(UWS_TOPIC);
            ws.send(READY, true);
          }
        },
        message: (ws, message, isBinary) => {
          if (isBinary && ws.getUserData().role === 'publisher') app.publish(UWS_TOPIC, message, true);
        },
      })
      .get('/readyz', (res) => {
        res.end('ok');
      })
      .any('/*', (res) => {
        res.writeStatus('404 Not Found').end();
      });
    return new Promise((resolve, reject) => {
      app.listen(options.host, options.port, (listenSocket) => {
        if (listenSocket) resolve(new UwsBaselineServer(app, listenSocket));
        else reject(new Error(`uWS baseline could not listen on ${options.host}:${options.port}`));
      });
    });
  }

  /** Stops listening and closes every socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    uWS.us_listen_socket_close(this.#listenSocket);
    (this.#app as { close?: () => void }).close?.();
  }
}
