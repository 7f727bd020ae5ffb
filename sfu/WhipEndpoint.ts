import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/codes.js';
import { Policy } from '../server/auth/Policy.js';
import type { Principal } from '../server/auth/TokenService.js';
import { FlashcastError } from '../server/errors.js';
import type { ApiRequest, ApiResponse, HttpRouter } from '../server/http/HttpRouter.js';
import { logger } from '../server/common/logger.js';
import { isValidId } from '../server/redis/keys.js';
import { MediaInvalidError, MediaLimitError } from './errors.js';
import type { types } from './mediasoup.js';
import type { SfuService } from './SfuService.js';
import { buildAnswer, parseOffer, producerParameters } from './WhipSdp.js';

const log = logger('WhipEndpoint');
const MAX_PER_ROOM = 2;

interface WhipSession {
  id: string;
  roomId: string;
  userId: string;
  transport: types.WebRtcTransport;
}

/**
 * WHIP ingest (RFC 9725): a host goes live from OBS (WHIP output) or any WHIP
 * client. POST /whip/{room} with an SDP offer and `Authorization: Bearer <host
 * token>` answers 201 with the SDP answer and a Location; DELETE on that
 * Location ends the broadcast. The producers join the room like a browser host's.
 */
export class WhipEndpoint {
  readonly #sfu: SfuService;
  readonly #sessions = new Map<string, WhipSession>();
  #closed = false;

  constructor(sfu: SfuService) {
    this.#sfu = sfu;
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  /**
   * Mounts the routes. The route needs the raw SDP text: `req.rawBody` (see
   * docs/media.md for the gateway change), or a string `req.body`.
   */
  register(router: HttpRouter): void {
    router.add('POST', '/whip/:roomId', 'whip.ingest', (req) => this.#post(req));
    router.add('DELETE', '/whip/:roomId/:resourceId', 'whip.end', (req) => this.#delete(req));
  }

  /** Starts an ingest; returns the resource id and the SDP answer. */
  async ingest(roomId: string, principal: Principal | null, offer: string): Promise<{ id: string; answer: string }> {
    if (!isValidId(roomId)) throw new MediaInvalidError('invalid room id');
    principal = Policy.require(principal, 'whip.ingest', { roomId });
    if ([...this.#sessions.values()].filter((s) => s.roomId === roomId).length >= MAX_PER_ROOM) {
      throw new MediaLimitError(`at most ${MAX_PER_ROOM} WHIP ingests per room`);
    }
    const parsed = parseOffer(offer);
    const room = await this.#sfu.room(roomId);
    const cfg = this.#sfu.config;
    const listen = (protocol: 'udp' | 'tcp'): types.TransportListenInfo => ({
      protocol,
      ip: cfg.listenIp,
      ...(cfg.announcedAddress ? { announcedAddress: cfg.announcedAddress } : {}),
    });
    const rtps = parsed.media.map((m) => ({ media: m, rtp: producerParameters(m, room.rtpCapabilities) }));
    const transport = await room.origin.router.createWebRtcTransport({
      listenInfos: [listen('udp'), listen('tcp')],
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      appData: { whip: true },
    });
    const id = randomUUID();
    try {
      await transport.setMaxIncomingBitrate(cfg.maxIncomingBitrate).catch(() => undefined);
      await transport.connect({
        dtlsParameters: { role: 'client', fingerprints: [{ algorithm: parsed.fingerprint.algorithm as types.FingerprintAlgorithm, value: parsed.fingerprint.value }] },
      });
      for (const { media, rtp } of rtps) {
        let producer: types.Producer;
        try {
          producer = await transport.produce({
            kind: media.kind,
            rtpParameters: rtp,
            keyFrameRequestDelay: media.kind === 'video' ? cfg.keyFrameRequestDelayMs : undefined,
            appData: { userId: principal.userId, whip: id },
          });
        } catch (error) {
          throw new MediaInvalidError(`cannot ingest the ${media.kind} section: ${(error as Error).message}`);
        }
        room.addProducer({ producer, userId: principal.userId, kind: media.kind, source: 'whip' });
      }
    } catch (error) {
      transport.close();
      throw error;
    }
    const session: WhipSession = { id, roomId, userId: principal.userId, transport };
    this.#sessions.set(id, session);
    transport.observer.once('close', () => this.#sessions.delete(id));
    transport.on('dtlsstatechange', (state) => {
      if (state === 'failed' || state === 'closed') transport.close();
    });
    log.info({ roomId, userId: principal.userId, id }, 'WHIP ingest started');
    return { id, answer: buildAnswer(parsed, transport, rtps) };
  }

  /** Ends an ingest (its producers close for every viewer). */
  end(roomId: string, id: string, principal: Principal | null): void {
    const session = this.#sessions.get(id);
    if (!session || session.roomId !== roomId) throw new FlashcastError(ErrorCode.NotFound, 'no such WHIP session', 404);
    Policy.require(principal, 'whip.end', { roomId, ownerUserId: session.userId });
    session.transport.close();
  }

  /** Closes every ingest. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#sessions.values()]) s.transport.close();
    this.#sessions.clear();
  }

  async #post(req: ApiRequest): Promise<ApiResponse> {
    const sdp = (req as ApiRequest & { rawBody?: string }).rawBody ?? (typeof req.body === 'string' ? req.body : '');
    const contentType = req.headers['content-type'] ?? '';
    if (!contentType.startsWith('application/sdp')) throw new FlashcastError(ErrorCode.InvalidArgument, 'content-type must be application/sdp', 415);
    const { id, answer } = await this.ingest(req.params.roomId, req.principal, sdp);
    return {
      status: 201,
      headers: { 'content-type': 'application/sdp', location: `/whip/${encodeURIComponent(req.params.roomId)}/${id}` },
      raw: answer,
    };
  }

  #delete(req: ApiRequest): ApiResponse {
    this.end(req.params.roomId, req.params.resourceId, req.principal);
    return { status: 200, raw: '' };
  }
}
