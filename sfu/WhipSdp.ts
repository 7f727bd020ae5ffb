import { MediaInvalidError } from './errors.js';
import type { types } from './mediasoup.js';

/** One media section of a WHIP offer, as far as ingest needs it. */
export interface OfferMedia {
  kind: 'audio' | 'video';
  mid: string;
  payloadTypes: number[];
  rtpmap: Map<number, { name: string; clockRate: number; channels?: number }>;
  fmtp: Map<number, Record<string, string | number>>;
  rtcpFb: Map<number, types.RtcpFeedback[]>;
  extmap: { id: number; uri: string }[];
  ssrcs: number[];
  fidGroups: number[][];
  cname: string;
  rids: string[];
}

export interface ParsedOffer {
  /** The DTLS fingerprint the client's certificate must match (algorithm lower case, value upper case). */
  fingerprint: { algorithm: types.FingerprintAlgorithm; value: string };
  /** The client's ICE credentials (mediasoup is ICE-lite and does not need them; checked for shape). */
  ice: { usernameFragment: string; password: string };
  media: OfferMedia[];
}

/** Limits on what an offer may be. A real OBS or browser offer is 2-8 KiB, under 200 lines. */
export const SDP_LIMITS = {
  bytes: 32 * 1024,
  lines: 1000,
  lineLength: 1024,
  payloadTypesPerSection: 64,
  ssrcsPerSection: 32,
  paramsPerFmtp: 32,
} as const;

/** Bytes of each DTLS fingerprint algorithm mediasoup accepts (RFC 8122). */
const FINGERPRINT_BYTES: Record<types.FingerprintAlgorithm, number> = {
  'sha-1': 20,
  'sha-224': 28,
  'sha-256': 32,
  'sha-384': 48,
  'sha-512': 64,
};

/** C0 controls but CR/LF, DEL, C1 controls. */
const CONTROL = /[\x00-\x09\x0B\x0C\x0E-\x1F\x7F-\x9F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const M_LINE = /^m=([a-z]+) (\d{1,5})(?:\/\d{1,5})? ([A-Za-z/]{1,32}) (\d{1,3}(?: \d{1,3})*)$/;
const FINGERPRINT = /^([A-Za-z0-9-]{1,16}) ((?:[0-9A-Fa-f]{2}:)*[0-9A-Fa-f]{2})$/;
const RTPMAP = /^(\d{1,3}) ([A-Za-z0-9_.+-]{1,32})\/(\d{1,10})(?:\/(\d{1,2}))?$/;
const FMTP = /^(\d{1,3}) ([\x21-\x7E](?:[\x20-\x7E]*[\x21-\x7E])?)$/;
const FMTP_KEY = /^[A-Za-z0-9_.-]{1,64}$/;
const FMTP_VALUE = /^[\x21-\x3A\x3C-\x7E]{0,512}$/;
const FMTP_BARE = /^[\x21-\x3A\x3C\x3E-\x7E]{1,64}$/;
const RTCP_FB = /^(\d{1,3}|\*) ([A-Za-z0-9_-]{1,32})(?: ([A-Za-z0-9_=-]{1,32}(?: [A-Za-z0-9_=-]{1,32}){0,3}))?$/;
const EXTMAP = /^(\d{1,3})(?:\/(?:sendonly|recvonly|sendrecv|inactive))? ([\x21-\x7E]{1,256})(?: [\x21-\x7E]{1,256})*$/;
const SSRC = /^(\d{1,10}) ([A-Za-z0-9_-]{1,32})(?::([\x20-\x7E]{0,256}))?$/;
const SSRC_GROUP = /^([A-Za-z0-9_-]{1,32})((?: \d{1,10}){1,8})$/;
const RID = /^([A-Za-z0-9_-]{1,16}) (send|recv)(?: [\x21-\x7E]{1,256})?$/;
/** RFC 5888 token, at most 16 characters so it fits a one-byte header extension. */
const MID = /^[A-Za-z0-9!#$%&'*+.^_`{|}~-]{1,16}$/;
const CNAME = /^[\x21-\x7E]{1,255}$/;
const ICE_UFRAG = /^[A-Za-z0-9+/]{4,256}$/;
const ICE_PWD = /^[A-Za-z0-9+/]{22,256}$/;
const SETUP = new Set(['active', 'passive', 'actpass', 'holdconn']);
const UINT32_MAX = 0xffff_ffff;

/** The transport-level attributes of one level (session or a media section). */
interface Level {
  fingerprints: ParsedOffer['fingerprint'][];
  iceUfrag?: string;
  icePwd?: string;
  setup?: string;
}

/**
 * Parses and validates the parts of an SDP offer (OBS, browsers, GStreamer)
 * that WHIP ingest uses. Hostile input never throws anything but a
 * MediaInvalidError (400, `INVALID_ARGUMENT`): size, line count, control
 * characters and lone surrogates are refused first; then every line is
 * `x=...`, and every attribute ingest reads (fingerprint, ICE credentials,
 * setup, mid, rtpmap, fmtp, rtcp-fb, extmap, ssrc, ssrc-group, rid) must be
 * well formed and refer to payload types of its m-line.
 */
export function parseOffer(sdp: unknown): ParsedOffer {
  if (typeof sdp !== 'string') throw new MediaInvalidError('body is not an SDP offer');
  if (sdp.length > SDP_LIMITS.bytes || Buffer.byteLength(sdp, 'utf8') > SDP_LIMITS.bytes) {
    throw new MediaInvalidError(`SDP offer over ${SDP_LIMITS.bytes} bytes`);
  }
  if (!sdp.startsWith('v=0\r\n') && !sdp.startsWith('v=0\n')) throw new MediaInvalidError('body is not an SDP offer');
  if (LONE_SURROGATE.test(sdp)) throw new MediaInvalidError('SDP offer is not valid text (lone surrogate)');
  const lines = sdp.split('\n');
  if (lines.length > SDP_LIMITS.lines) throw new MediaInvalidError(`SDP offer over ${SDP_LIMITS.lines} lines`);

  const session: Level = { fingerprints: [] };
  const levels: Level[] = [];
  const media: OfferMedia[] = [];
  let m: OfferMedia | null = null;
  let level = session;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    const fail = (why: string): never => {
      throw new MediaInvalidError(`SDP line ${i + 1}: ${why}`);
    };
    if (line.length === 0) continue;
    if (line.length > SDP_LIMITS.lineLength) fail(`longer than ${SDP_LIMITS.lineLength} characters`);
    if (CONTROL.test(line) || line.includes('\r')) fail('control character');
    if (line.length < 2 || line[1] !== '=' || line[0] < 'a' || line[0] > 'z') fail('not a <type>=<value> line');
    if (line.startsWith('m=')) {
      m = mediaSection(line, media.length, fail);
      if (media.some((x) => x.kind === m!.kind)) fail(`a second ${m.kind} section (one audio and/or one video)`);
      media.push(m);
      level = { fingerprints: [] };
      levels.push(level);
      continue;
    }
    if (!line.startsWith('a=')) continue;
    const attr = line.slice(2);
    const colon = attr.indexOf(':');
    const name = colon < 0 ? attr : attr.slice(0, colon);
    const value = colon < 0 ? '' : attr.slice(colon + 1);
    switch (name) {
      case 'fingerprint':
        level.fingerprints.push(fingerprint(value, fail));
        continue;
      case 'ice-ufrag':
        if (level.iceUfrag !== undefined) fail('a=ice-ufrag repeated');
        if (!ICE_UFRAG.test(value)) fail('a=ice-ufrag must be 4-256 ICE characters');
        level.iceUfrag = value;
        continue;
      case 'ice-pwd':
        if (level.icePwd !== undefined) fail('a=ice-pwd repeated');
        if (!ICE_PWD.test(value)) fail('a=ice-pwd must be 22-256 ICE characters');
        level.icePwd = value;
        continue;
      case 'setup':
        if (level.setup !== undefined) fail('a=setup repeated');
        if (!SETUP.has(value)) fail('a=setup must be active, passive, actpass or holdconn');
        level.setup = value;
        continue;
      default:
        break;
    }
    if (m) mediaAttribute(m, name, value, fail);
  }

  if (media.length === 0) throw new MediaInvalidError('SDP offer has no audio or video section');
  if (new Set(media.map((x) => x.mid)).size !== media.length) throw new MediaInvalidError('SDP offer repeats an a=mid');
  let first: Required<Level> | null = null;
  for (let i = 0; i < media.length; i++) {
    const own = levels[i];
    const eff: Level = {
      fingerprints: own.fingerprints.length > 0 ? own.fingerprints : session.fingerprints,
      iceUfrag: own.iceUfrag ?? session.iceUfrag,
      icePwd: own.icePwd ?? session.icePwd,
      setup: own.setup ?? session.setup,
    };
    const where = `the ${media[i].kind} section`;
    if (eff.fingerprints.length === 0) throw new MediaInvalidError(`SDP offer has no DTLS fingerprint for ${where}`);
    if (eff.iceUfrag === undefined || eff.icePwd === undefined) throw new MediaInvalidError(`SDP offer has no ICE ufrag/pwd for ${where}`);
    // Ingest answers a=setup:passive: the client must be the DTLS client.
    const setup = eff.setup ?? 'actpass';
    if (setup !== 'actpass' && setup !== 'active') throw new MediaInvalidError(`a=setup:${setup} in ${where}: a WHIP client must offer actpass or active`);
    if (!first) {
      first = { ...eff, setup } as Required<Level>;
    } else if (!sameFingerprints(first.fingerprints, eff.fingerprints)) {
      throw new MediaInvalidError('SDP offer has different DTLS fingerprints per section (one bundled transport needs one)');
    }
    finishSection(media[i]);
  }
  return {
    fingerprint: first!.fingerprints[0],
    ice: { usernameFragment: first!.iceUfrag, password: first!.icePwd },
    media,
  };
}

type Fail = (why: string) => never;

function mediaSection(line: string, index: number, fail: Fail): OfferMedia {
  const kind = /^m=([^ ]*)/.exec(line)![1];
  if (kind !== 'audio' && kind !== 'video') fail(`unsupported m-line ${JSON.stringify(kind.slice(0, 16))} (audio and video only)`);
  const parts = M_LINE.exec(line);
  if (!parts) return fail('malformed m-line (m=<media> <port> <proto> <payload types>)');
  if (Number(parts[2]) > 65535) fail('m-line port out of range');
  if (!/RTP\/SAVPF?$/.test(parts[3])) fail('m-line protocol must be (UDP/TLS/)RTP/SAVPF');
  const pts = parts[4].split(' ').map(Number);
  if (pts.length > SDP_LIMITS.payloadTypesPerSection) fail(`more than ${SDP_LIMITS.payloadTypesPerSection} payload types`);
  if (pts.some((pt) => pt > 127)) fail('payload type over 127');
  if (new Set(pts).size !== pts.length) fail('payload type listed twice');
  if (index >= 2) fail('SDP offer needs one audio and/or one video section');
  return { kind: kind as OfferMedia['kind'], mid: String(index), payloadTypes: pts, rtpmap: new Map(), fmtp: new Map(), rtcpFb: new Map(), extmap: [], ssrcs: [], fidGroups: [], cname: '', rids: [] };
}

function fingerprint(value: string, fail: Fail): ParsedOffer['fingerprint'] {
  const parts = FINGERPRINT.exec(value);
  if (!parts) return fail('malformed a=fingerprint (a=fingerprint:<algorithm> <hex bytes, colon separated>)');
  const algorithm = parts[1].toLowerCase() as types.FingerprintAlgorithm;
  const bytes = FINGERPRINT_BYTES[algorithm];
  if (!Object.hasOwn(FINGERPRINT_BYTES, algorithm)) fail('a=fingerprint algorithm must be sha-1, sha-224, sha-256, sha-384 or sha-512');
  if ((parts[2].length + 1) / 3 !== bytes) fail(`a=fingerprint ${algorithm} must be ${bytes} bytes`);
  return { algorithm, value: parts[2].toUpperCase() };
}

function sameFingerprints(a: ParsedOffer['fingerprint'][], b: ParsedOffer['fingerprint'][]): boolean {
  const key = (l: ParsedOffer['fingerprint'][]) => l.map((f) => `${f.algorithm} ${f.value}`).sort().join(',');
  return key(a) === key(b);
}

function requirePt(m: OfferMedia, text: string, what: string, fail: Fail): number {
  const pt = Number(text);
  if (!m.payloadTypes.includes(pt)) fail(`${what} for payload type ${pt}, which the m-line does not list`);
  return pt;
}

/** Reads one attribute of a media section into `m`; unknown attributes are ignored. */
function mediaAttribute(m: OfferMedia, name: string, value: string, fail: Fail): void {
  switch (name) {
    case 'mid':
      if (!MID.test(value)) fail('a=mid must be a token of at most 16 characters');
      m.mid = value;
      return;
    case 'rtpmap': {
      const parts = RTPMAP.exec(value);
      if (!parts) return fail('malformed a=rtpmap (a=rtpmap:<payload type> <encoding>/<clock rate>[/<channels>])');
      const pt = requirePt(m, parts[1], 'a=rtpmap', fail);
      if (m.rtpmap.has(pt)) fail(`a=rtpmap for payload type ${pt} repeated`);
      const clockRate = Number(parts[3]);
      if (clockRate === 0 || clockRate > UINT32_MAX) fail('a=rtpmap clock rate must be a positive 32-bit integer');
      const channels = parts[4] === undefined ? undefined : Number(parts[4]);
      if (channels === 0) fail('a=rtpmap channels must be positive');
      m.rtpmap.set(pt, { name: parts[2], clockRate, channels });
      return;
    }
    case 'fmtp': {
      const parts = FMTP.exec(value);
      if (!parts) return fail('malformed a=fmtp (a=fmtp:<payload type> <parameters>)');
      const pt = requirePt(m, parts[1], 'a=fmtp', fail);
      if (m.fmtp.has(pt)) fail(`a=fmtp for payload type ${pt} repeated`);
      const params = new Map<string, string | number>();
      for (const piece of parts[2].split(';')) {
        const kv = piece.trim();
        if (kv === '') continue;
        const eq = kv.indexOf('=');
        const k = eq < 0 ? kv : kv.slice(0, eq);
        const v = eq < 0 ? '' : kv.slice(eq + 1);
        if (eq < 0 ? !FMTP_BARE.test(k) : !FMTP_KEY.test(k) || !FMTP_VALUE.test(v)) fail('malformed a=fmtp parameter');
        if (params.has(k)) fail(`a=fmtp parameter ${k} repeated`);
        params.set(k, /^\d{1,9}$/.test(v) ? Number(v) : v);
      }
      if (params.size > SDP_LIMITS.paramsPerFmtp) fail(`more than ${SDP_LIMITS.paramsPerFmtp} a=fmtp parameters`);
      m.fmtp.set(pt, Object.fromEntries(params));
      return;
    }
    case 'rtcp-fb': {
      const parts = RTCP_FB.exec(value);
      if (!parts) return fail('malformed a=rtcp-fb');
      const pt = parts[1] === '*' ? -1 : requirePt(m, parts[1], 'a=rtcp-fb', fail);
      const list = m.rtcpFb.get(pt) ?? [];
      if (list.length >= 16) fail('too many a=rtcp-fb for one payload type');
      list.push({ type: parts[2], parameter: parts[3] ?? '' });
      m.rtcpFb.set(pt, list);
      return;
    }
    case 'extmap': {
      const parts = EXTMAP.exec(value);
      if (!parts) return fail('malformed a=extmap');
      const id = Number(parts[1]);
      if (id < 1 || id > 255) fail('a=extmap id must be 1-255');
      if (m.extmap.some((e) => e.id === id)) fail(`a=extmap id ${id} repeated`);
      if (m.extmap.length >= 32) fail('too many a=extmap');
      m.extmap.push({ id, uri: parts[2] });
      return;
    }
    case 'ssrc': {
      const parts = SSRC.exec(value);
      if (!parts) return fail('malformed a=ssrc');
      const ssrc = Number(parts[1]);
      if (ssrc > UINT32_MAX) fail('a=ssrc out of range');
      if (!m.ssrcs.includes(ssrc)) {
        if (m.ssrcs.length >= SDP_LIMITS.ssrcsPerSection) fail(`more than ${SDP_LIMITS.ssrcsPerSection} SSRCs`);
        m.ssrcs.push(ssrc);
      }
      if (parts[2] === 'cname') {
        if (!CNAME.test(parts[3] ?? '')) fail('a=ssrc cname must be 1-255 printable characters');
        m.cname = parts[3]!;
      }
      return;
    }
    case 'ssrc-group': {
      const parts = SSRC_GROUP.exec(value);
      if (!parts) return fail('malformed a=ssrc-group');
      const ssrcs = parts[2].trim().split(' ').map(Number);
      if (ssrcs.some((s) => s > UINT32_MAX)) fail('a=ssrc-group SSRC out of range');
      if (parts[1] === 'FID') {
        if (ssrcs.length !== 2) fail('a=ssrc-group:FID needs two SSRCs');
        m.fidGroups.push(ssrcs);
      }
      return;
    }
    case 'rid': {
      const parts = RID.exec(value);
      if (!parts) return fail('malformed a=rid');
      if (parts[2] === 'send') {
        if (m.rids.includes(parts[1])) fail(`a=rid ${parts[1]} repeated`);
        if (m.rids.length >= 8) fail('too many a=rid');
        m.rids.push(parts[1]);
      }
      return;
    }
    default:
      return;
  }
}

/** Applies wildcard rtcp-fb and checks references between attributes of one section. */
function finishSection(m: OfferMedia): void {
  const wildcard = m.rtcpFb.get(-1);
  m.rtcpFb.delete(-1);
  if (wildcard) {
    for (const pt of m.payloadTypes) m.rtcpFb.set(pt, [...(m.rtcpFb.get(pt) ?? []), ...wildcard]);
  }
  for (const group of m.fidGroups) {
    if (!group.every((s) => m.ssrcs.includes(s))) throw new MediaInvalidError(`a=ssrc-group:FID in the ${m.kind} section names an SSRC without a=ssrc`);
  }
}

/**
 * Producer RTP parameters for one offered section: the first codec the router
 * supports (plus its RTX), the header extensions mediasoup knows, and encodings
 * by rid (simulcast) or SSRC.
 */
export function producerParameters(m: OfferMedia, caps: types.RtpCapabilities): types.RtpParameters {
  const supported = (caps.codecs ?? []).filter((c) => c.kind === m.kind);
  let chosen: number | undefined;
  for (const pt of m.payloadTypes) {
    const map = m.rtpmap.get(pt);
    if (!map) continue;
    const mime = `${m.kind}/${map.name}`.toLowerCase();
    const fmtp = m.fmtp.get(pt) ?? {};
    const ok = supported.some((c) => c.mimeType.toLowerCase() === mime && c.clockRate === map.clockRate &&
      (mime !== 'video/h264' || (Number(fmtp['packetization-mode'] ?? 0) === 1)));
    if (ok) {
      chosen = pt;
      break;
    }
  }
  if (chosen === undefined) throw new MediaInvalidError(`no ${m.kind} codec in the offer is supported (opus, VP8, H264 packetization-mode=1)`);
  const map = m.rtpmap.get(chosen)!;
  const codecs: types.RtpCodecParameters[] = [
    {
      mimeType: `${m.kind}/${map.name}`,
      payloadType: chosen,
      clockRate: map.clockRate,
      ...(map.channels ? { channels: map.channels } : {}),
      parameters: m.fmtp.get(chosen) ?? {},
      rtcpFeedback: m.rtcpFb.get(chosen) ?? [],
    },
  ];
  for (const [pt, r] of m.rtpmap) {
    if (r.name.toLowerCase() === 'rtx' && Number(m.fmtp.get(pt)?.apt) === chosen) {
      codecs.push({ mimeType: `${m.kind}/rtx`, payloadType: pt, clockRate: r.clockRate, parameters: { apt: chosen }, rtcpFeedback: [] });
      break;
    }
  }
  const known = new Set((caps.headerExtensions ?? []).filter((h) => h.kind === m.kind).map((h) => h.uri));
  const headerExtensions = m.extmap.filter((e) => known.has(e.uri as types.RtpHeaderExtensionUri)).map((e) => ({ uri: e.uri as types.RtpHeaderExtensionUri, id: e.id }));
  let encodings: types.RtpEncodingParameters[];
  if (m.rids.length > 0) {
    encodings = m.rids.slice(0, 4).map((rid) => ({ rid }));
  } else if (m.ssrcs.length > 0) {
    const group = m.fidGroups[0];
    encodings = [group ? { ssrc: group[0], rtx: { ssrc: group[1] } } : { ssrc: m.ssrcs[0] }];
  } else {
    throw new MediaInvalidError(`the ${m.kind} section has neither SSRCs nor rids`);
  }
  return { mid: m.mid, codecs, headerExtensions, encodings, rtcp: { cname: m.cname || 'whip', reducedSize: true } };
}

/** The SDP answer for the offer: ICE-lite, DTLS passive, receive-only, the transport's candidates. */
export function buildAnswer(offer: ParsedOffer, transport: types.WebRtcTransport, produced: { media: OfferMedia; rtp: types.RtpParameters }[]): string {
  const ice = transport.iceParameters;
  const fp = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256') ?? transport.dtlsParameters.fingerprints[0];
  const lines = ['v=0', `o=- ${Date.now()} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', 'a=ice-lite', `a=group:BUNDLE ${offer.media.map((m) => m.mid).join(' ')}`, 'a=msid-semantic: WMS *'];
  for (const { media, rtp } of produced) {
    const pts = rtp.codecs.map((c) => c.payloadType);
    const first = transport.iceCandidates[0];
    lines.push(`m=${media.kind} ${first?.port ?? 9} UDP/TLS/RTP/SAVPF ${pts.join(' ')}`, `c=IN IP4 ${first?.address ?? '0.0.0.0'}`);
    lines.push(`a=ice-ufrag:${ice.usernameFragment}`, `a=ice-pwd:${ice.password}`, `a=fingerprint:${fp.algorithm} ${fp.value}`, 'a=setup:passive');
    lines.push(`a=mid:${media.mid}`, 'a=recvonly', 'a=rtcp-mux', 'a=rtcp-rsize');
    for (const c of rtp.codecs) {
      const name = c.mimeType.split('/')[1];
      lines.push(`a=rtpmap:${c.payloadType} ${name}/${c.clockRate}${c.channels ? `/${c.channels}` : ''}`);
      const params = Object.entries(c.parameters ?? {}).map(([k, v]) => `${k}=${v}`).join(';');
      if (params) lines.push(`a=fmtp:${c.payloadType} ${params}`);
      for (const fb of c.rtcpFeedback ?? []) lines.push(`a=rtcp-fb:${c.payloadType} ${fb.type}${fb.parameter ? ` ${fb.parameter}` : ''}`);
    }
    for (const h of rtp.headerExtensions ?? []) lines.push(`a=extmap:${h.id} ${h.uri}`);
    const rids = (rtp.encodings ?? []).map((e) => e.rid).filter((r): r is string => !!r);
    if (rids.length > 0) {
      for (const rid of rids) lines.push(`a=rid:${rid} recv`);
      lines.push(`a=simulcast:recv ${rids.join(';')}`);
    }
    for (const c of transport.iceCandidates) {
      lines.push(`a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.address} ${c.port} typ host${c.protocol === 'tcp' ? ' tcptype passive' : ''}`);
    }
    lines.push('a=end-of-candidates');
  }
  return `${lines.join('\r\n')}\r\n`;
}
