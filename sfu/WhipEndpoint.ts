import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Policy } from '../common/auth/Policy.js';
import type { Principal } from '../common/auth/TokenService.js';
import { FlashcastError, NotFoundError, UnsupportedMediaTypeError } from '../common/errors.js';
import type { ApiRequest, ApiResponse, HttpRouter } from '../common/http/HttpRouter.js';
import { logger } from '../common/logger.js';
import { isValidId } from '../common/keys.js';
import { MediaInvalidError, MediaUnavailableError } from './errors.js';
import { IngestSlots, type IngestSlot } from './IngestSlots.js';
import type { types } from './mediasoup.js';
import type { SfuService } from './SfuService.js';
import { buildAnswer, parseOffer, producerParameters } from './WhipSdp.js';

const log = logger('WhipEndpoint');

interface WhipSession {
  id: string;
  roomId: string;
  userId: string;
  transport: types.WebRtcTransport;
  slot: IngestSlot;
  /** Closes the ingest unless it is (again) connected in time. */
  timer: NodeJS.Timeout | null;
}

/**
 * WHIP ingest (RFC 9725): a host goes live from OBS (WHIP output) or any WHIP
 * client. POST /whip/{room} with an SDP offer and `Authorization: Bearer <host
 * token>` answers 201 with the SDP answer and a Location; DELETE on that
 * Location ends the broadcast. The producers join the room like a browser host's.
 *
 * Limits (SfuConfig): `whipMaxIngestsPerRoom` per room and `whipMaxIngests` per
 * endpoint (one per process), counted from before the first `await` so racing
 * POSTs cannot overshoot (429 `MEDIA_LIMIT_REACHED`). An ingest not connected
 * (ICE and DTLS) within `whipConnectTimeoutMs` of its 201, or ICE-disconnected
 * that long, is closed and its slot freed.
 */
export class WhipEndpoint {
  readonly #sfu: SfuService;
  readonly #slots: IngestSlots;
  readonly #sessions = new Map<string, WhipSession>();
  #closed = false;

  constructor(sfu: SfuService) {
    this.#sfu = sfu;
    this.#slots = new IngestSlots({ perRoom: sfu.config.whipMaxIngestsPerRoom, total: sfu.config.whipMaxIngests });
  }

  /** Live ingests (answered with 201 and not closed since). */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** Ingests holding a slot: live ones and those being set up. */
  get reserved(): number {
    return this.#slots.size;
  }

  /**
   * Mounts the routes. The route needs the raw SDP text: `req.rawBody` (see
   * docs/media.md for the gateway change), or a string `req.body`.
   */
  register(router: HttpRouter): void {
    router.add('POST', '/whip/:roomId', 'whip.ingest', {
      summary: 'Go live from OBS or any WHIP client (RFC 9725): an SDP offer in, the SDP answer out',
      tag: 'media',
      body: z.string().describe('The SDP offer'),
      bodyType: 'application/sdp',
      responses: { 201: { contentType: 'application/sdp', description: 'The SDP answer', headers: { location: 'The session: DELETE it to stop' } } },
      errors: { 429: 'MEDIA_LIMIT_REACHED: the room or the process holds its most ingests', 503: 'UNAVAILABLE' },
    }, (req) => this.#post(req));
    router.add('DELETE', '/whip/:roomId/:resourceId', 'whip.end', {
      summary: 'Stop a WHIP ingest (its producers close for every viewer)',
      tag: 'media',
      responses: { 200: null },
    }, (req) => this.#delete(req));
  }

  /**
   * Starts an ingest; returns the resource id and the SDP answer. Client
   * mistakes (offer, DTLS, RTP parameters mediasoup refuses) are
   * MediaInvalidError (400); a full room or process is MediaLimitError (429).
   */
  async ingest(roomId: string, principal: Principal | null, offer: string): Promise<{ id: string; answer: string }> {
    if (!isValidId(roomId)) throw new MediaInvalidError('invalid room id');
    principal = Policy.require(principal, 'whip.ingest', { roomId });
    if (this.#closed) throw new MediaUnavailableError('WHIP ingest is shutting down');
    const parsed = parseOffer(offer);
    // Reserved synchronously, before the first await: racing POSTs see each other.
    const slot = this.#slots.reserve(roomId);
    let transport: types.WebRtcTransport | null = null;
    try {
      const room = await this.#sfu.room(roomId).catch((error: unknown) => {
        if (error instanceof FlashcastError) throw error;
        log.warn({ err: error, roomId }, 'WHIP room media could not open');
        throw new MediaUnavailableError();
      });
      const cfg = this.#sfu.config;
      const listen = (protocol: 'udp' | 'tcp'): types.TransportListenInfo => ({
        protocol,
        ip: cfg.listenIp,
        ...(cfg.announcedAddress ? { announcedAddress: cfg.announcedAddress } : {}),
      });
      const rtps = parsed.media.map((m) => ({ media: m, rtp: producerParameters(m, room.rtpCapabilities) }));
      try {
        transport = await room.origin.router.createWebRtcTransport({
          listenInfos: [listen('udp'), listen('tcp')],
          enableUdp: true,
          enableTcp: true,
          preferUdp: true,
          appData: { whip: true },
        });
      } catch (error) {
        log.warn({ err: error, roomId }, 'WHIP transport creation failed');
        throw new MediaUnavailableError();
      }
      const t = transport;
      // Whatever closes the transport from now on (DELETE, expiry, DTLS failure, worker death) frees the slot.
      t.observer.once('close', () => slot.release());
      const id = randomUUID();
      await t.setMaxIncomingBitrate(cfg.maxIncomingBitrate).catch(() => undefined);
      try {
        await t.connect({ dtlsParameters: { role: 'client', fingerprints: [parsed.fingerprint] } });
      } catch (error) {
        if (t.closed) throw new MediaUnavailableError();
        throw new MediaInvalidError(`DTLS parameters refused: ${(error as Error).message}`);
      }
      for (const { media, rtp } of rtps) {
        let producer: types.Producer;
        try {
          producer = await t.produce({
            kind: media.kind,
            rtpParameters: rtp,
            keyFrameRequestDelay: media.kind === 'video' ? cfg.keyFrameRequestDelayMs : undefined,
            appData: { userId: principal.userId, whip: id },
          });
        } catch (error) {
          if (t.closed) throw new MediaUnavailableError();
          throw new MediaInvalidError(`cannot ingest the ${media.kind} section: ${(error as Error).message}`);
        }
        room.addProducer({ producer, userId: principal.userId, kind: media.kind, source: 'whip' });
      }
      if (this.#closed || t.closed) throw new MediaUnavailableError('WHIP ingest closed while starting');
      const answer = buildAnswer(parsed, t, rtps);
      this.#track({ id, roomId, userId: principal.userId, transport: t, slot, timer: null });
      log.info({ roomId, userId: principal.userId, id }, 'WHIP ingest started');
      return { id, answer };
    } catch (error) {
      transport?.close();
      slot.release();
      throw error;
    }
  }

  /** Ends an ingest (its producers close for every viewer). */
  end(roomId: string, id: string, principal: Principal | null): void {
    const session = this.#sessions.get(id);
    if (!session || session.roomId !== roomId) throw new NotFoundError('no such WHIP session');
    Policy.require(principal, 'whip.end', { roomId, ownerUserId: session.userId });
    session.transport.close();
  }

  /** Closes every ingest. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#sessions.values()]) s.transport.close();
    for (const s of this.#sessions.values()) this.#forget(s);
    this.#sessions.clear();
  }

  /** Registers a started ingest and arms its connect timer; the transport's close undoes both. */
  #track(session: WhipSession): void {
    const { transport } = session;
    this.#sessions.set(session.id, session);
    transport.observer.once('close', () => this.#forget(session));
    const connected = () => transport.dtlsState === 'connected' && (transport.iceState === 'connected' || transport.iceState === 'completed');
    transport.on('dtlsstatechange', (state) => {
      if (state === 'failed' || state === 'closed') transport.close();
      else if (connected()) this.#disarm(session);
    });
    transport.on('icestatechange', (state) => {
      if (state === 'disconnected') this.#arm(session, 'ICE disconnected');
      else if (connected()) this.#disarm(session);
    });
    if (!connected()) this.#arm(session, 'never connected');
  }

  #arm(session: WhipSession, reason: string): void {
    if (session.timer || session.transport.closed) return;
    const ms = this.#sfu.config.whipConnectTimeoutMs;
    session.timer = setTimeout(() => {
      session.timer = null;
      log.warn({ roomId: session.roomId, userId: session.userId, id: session.id, reason, ms }, 'WHIP ingest expired');
      session.transport.close();
    }, ms);
    session.timer.unref();
  }

  #disarm(session: WhipSession): void {
    if (!session.timer) return;
    clearTimeout(session.timer);
    session.timer = null;
  }

  #forget(session: WhipSession): void {
    this.#disarm(session);
    session.slot.release();
    if (this.#sessions.get(session.id) === session) this.#sessions.delete(session.id);
  }

  async #post(req: ApiRequest): Promise<ApiResponse> {
    const sdp = (req as ApiRequest & { rawBody?: string }).rawBody ?? (typeof req.body === 'string' ? req.body : '');
    const contentType = req.headers['content-type'] ?? '';
    if (!contentType.startsWith('application/sdp')) throw new UnsupportedMediaTypeError('content-type must be application/sdp');
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
