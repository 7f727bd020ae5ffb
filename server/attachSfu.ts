import type { flashcast } from '../protocol/gen/flashcast.js';
import { Policy } from '../common/auth/Policy.js';
import type { HttpRouter } from '../common/http/HttpRouter.js';
import type { Gateway } from './realtime/Gateway.js';
import { SfuMetrics } from '../sfu/SfuMetrics.js';
import type { MediaBackend } from '../sfu/SfuService.js';
import { SfuService } from '../sfu/SfuService.js';
import { WhipEndpoint } from '../sfu/WhipEndpoint.js';

/**
 * Wires a media plane into a gateway: `media` frames go to the SFU (a host may
 * produce only in rooms its token lists; every media request needs the socket
 * to have joined the room), media events are pushed to their session, a session
 * whose media worker died is told to reconnect, a closed session releases its
 * transports. With an in-process SfuService it also mounts WHIP ingest
 * (POST/DELETE /whip/:roomId) and SFU gauges on the gateway's /metrics.
 * Returns a function that detaches the listeners.
 */
export function attachSfu(gateway: Gateway, router: HttpRouter, sfu: MediaBackend): () => void {
  gateway.handle('media', async (principal, frame, session) => {
    const request = frame.media as flashcast.MediaRequest;
    const roomId = request.room ?? '';
    Policy.authorize(principal, 'media.consume', { roomId, member: session.rooms.has(roomId) });
    const media = await sfu.handle(
      { sessionId: session.sessionId, userId: principal.userId, canProduce: Policy.decide(principal, 'media.produce', { roomId }).allow },
      request,
    );
    return { media };
  });
  const onNotify = (sessionId: string, event: flashcast.IMediaEvent) => {
    gateway.pushToSession(sessionId, { mediaEvent: event });
  };
  const onReconnect = (sessionId: string, reason: string) => {
    gateway.reconnectSession(sessionId, reason);
  };
  const onSessionClosed = (sessionId: string) => sfu.closeSession(sessionId);
  sfu.on('notify', onNotify);
  sfu.on('reconnect', onReconnect);
  gateway.on('sessionclosed', onSessionClosed);
  let metrics: SfuMetrics | null = null;
  let whip: WhipEndpoint | null = null;
  if (sfu instanceof SfuService) {
    metrics = new SfuMetrics(sfu, [gateway.metrics.registry]);
    whip = new WhipEndpoint(sfu);
    whip.register(router);
  }
  return () => {
    const emitter = sfu as unknown as { off(e: string, l: (...a: never[]) => void): void };
    emitter.off('notify', onNotify);
    emitter.off('reconnect', onReconnect);
    gateway.off('sessionclosed', onSessionClosed);
    metrics?.close();
    whip?.close();
  };
}
