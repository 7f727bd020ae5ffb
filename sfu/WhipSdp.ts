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
  fingerprint: { algorithm: string; value: string };
  media: OfferMedia[];
}

const MAX_SDP_BYTES = 32 * 1024;

/** Parses the parts of an SDP offer (OBS, browsers) that WHIP ingest uses. */
export function parseOffer(sdp: string): ParsedOffer {
  if (typeof sdp !== 'string' || !sdp.startsWith('v=0')) throw new MediaInvalidError('body is not an SDP offer');
  if (sdp.length > MAX_SDP_BYTES) throw new MediaInvalidError('SDP offer too large');
  let fingerprint: ParsedOffer['fingerprint'] | null = null;
  const media: OfferMedia[] = [];
  let m: OfferMedia | null = null;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) {
      const [kind, , , ...pts] = line.slice(2).split(' ');
      if (kind !== 'audio' && kind !== 'video') throw new MediaInvalidError(`unsupported m-line ${kind}`);
      m = { kind, mid: String(media.length), payloadTypes: pts.map(Number), rtpmap: new Map(), fmtp: new Map(), rtcpFb: new Map(), extmap: [], ssrcs: [], fidGroups: [], cname: '', rids: [] };
      media.push(m);
      continue;
    }
    if (!line.startsWith('a=')) continue;
    const attr = line.slice(2);
    const colon = attr.indexOf(':');
    const name = colon < 0 ? attr : attr.slice(0, colon);
    const value = colon < 0 ? '' : attr.slice(colon + 1);
    if (name === 'fingerprint') {
      const [algorithm, fp] = value.split(' ');
      fingerprint = { algorithm: algorithm.toLowerCase(), value: fp };
      continue;
    }
    if (!m) continue;
    switch (name) {
      case 'mid':
        m.mid = value;
        break;
      case 'rtpmap': {
        const [pt, codec] = value.split(' ');
        const [codecName, clock, channels] = codec.split('/');
        m.rtpmap.set(Number(pt), { name: codecName, clockRate: Number(clock), channels: channels ? Number(channels) : undefined });
        break;
      }
      case 'fmtp': {
        const sp = value.indexOf(' ');
        const params: Record<string, string | number> = {};
        for (const kv of value.slice(sp + 1).split(';')) {
          const [k, v] = kv.trim().split('=');
          if (k) params[k] = v !== undefined && /^\d+$/.test(v) ? Number(v) : (v ?? '');
        }
        m.fmtp.set(Number(value.slice(0, sp)), params);
        break;
      }
      case 'rtcp-fb': {
        const [pt, type, parameter] = value.split(' ');
        const list = m.rtcpFb.get(Number(pt)) ?? [];
        list.push({ type, parameter: parameter ?? '' });
        m.rtcpFb.set(Number(pt), list);
        break;
      }
      case 'extmap': {
        const [id, uri] = value.split(' ');
        m.extmap.push({ id: Number(id.split('/')[0]), uri });
        break;
      }
      case 'ssrc': {
        const [ssrc, rest] = [value.slice(0, value.indexOf(' ')), value.slice(value.indexOf(' ') + 1)];
        if (!m.ssrcs.includes(Number(ssrc))) m.ssrcs.push(Number(ssrc));
        if (rest.startsWith('cname:')) m.cname = rest.slice(6);
        break;
      }
      case 'ssrc-group': {
        const [semantics, ...ssrcs] = value.split(' ');
        if (semantics === 'FID') m.fidGroups.push(ssrcs.map(Number));
        break;
      }
      case 'rid': {
        const [rid, dir] = value.split(' ');
        if (dir === 'send') m.rids.push(rid);
        break;
      }
      default:
        break;
    }
  }
  if (!fingerprint) throw new MediaInvalidError('SDP offer has no DTLS fingerprint');
  if (media.length === 0 || media.length > 2) throw new MediaInvalidError('SDP offer needs one audio and/or one video section');
  return { fingerprint, media };
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
