import type { Registry } from 'prom-client';
import type { flashcast } from '../protocol/gen/flashcast.js';
import { Policy } from '../common/auth/Policy.js';
import type { HttpRouter } from '../common/http/HttpRouter.js';
import type { FrameDispatcher } from './realtime/FrameDispatcher.js';
import type { SocketTransport } from './realtime/SocketTransport.js';
import { SfuMetrics } from '../sfu/SfuMetrics.js';
import type { MediaBackend } from '../sfu/SfuService.js';
import { SfuService } from '../sfu/SfuService.js';
import { WhipEndpoint } from '../sfu/WhipEndpoint.js';

/** The gateway parts a media plane is wired into (GatewayNode hands them in). */
export interface SfuAttachment {
  /** `media` frames register here, like every other frame kind. */
  frames: FrameDispatcher;
  /** Media events go to sessions; a session whose media worker died is told to reconnect; closed sessions release media. */
  sessions: Pick<SocketTransport, 'pushToSession' | 'reconnectSession' | 'on' | 'off'>;
  /** The gateway's /metrics registry (SFU gauges join it). */
  registry: Registry;
  /** WHIP ingest routes mount here. */
  router: HttpRouter;
}

/**
 * Wires a media plane into a gateway: `media` frames go to the SFU (the dispatcher has
 * asked the policy for media.consume: joined, not banned; a host may produce only in rooms
 * its token lists), media events are pushed to their session, a session whose media worker
 * died is told to reconnect, a closed session releases its transports. With an in-process
 * SfuService it also mounts WHIP ingest (POST/DELETE /whip/:roomId) and SFU gauges on the
 * gateway's /metrics. Returns a function that detaches it again.
 */
export function attachSfu(gateway: SfuAttachment, sfu: MediaBackend): () => void {
  const { frames, sessions, registry, router } = gateway;
  const unregister = frames.register('media', async (frame, { sessionId, principal }) => {
    const request = frame.media as flashcast.MediaRequest;
    const roomId = request.room ?? '';
    const media = await sfu.handle(
      { sessionId, userId: principal.userId, canProduce: Policy.decide(principal, 'media.produce', { roomId }).allow },
      request,
    );
    return { media };
  });
  const onNotify = (sessionId: string, event: flashcast.IMediaEvent) => {
    sessions.pushToSession(sessionId, { mediaEvent: event });
  };
  const onReconnect = (sessionId: string, reason: string) => {
    sessions.reconnectSession(sessionId, reason);
  };
  const onSessionClosed = (sessionId: string) => sfu.closeSession(sessionId);
  sfu.on('notify', onNotify);
  sfu.on('reconnect', onReconnect);
  sessions.on('sessionclosed', onSessionClosed);
  let metrics: SfuMetrics | null = null;
  let whip: WhipEndpoint | null = null;
  if (sfu instanceof SfuService) {
    metrics = new SfuMetrics(sfu, [registry]);
    whip = new WhipEndpoint(sfu);
    whip.register(router);
  }
  return () => {
    unregister();
    const emitter = sfu as unknown as { off(e: string, l: (...a: never[]) => void): void };
    emitter.off('notify', onNotify);
    emitter.off('reconnect', onReconnect);
    sessions.off('sessionclosed', onSessionClosed);
    metrics?.close();
    whip?.close();
  };
}
