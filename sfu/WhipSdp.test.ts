import { describe, expect, it } from 'vitest';
import { MediaInvalidError } from './errors.js';
import type { types } from './mediasoup.js';
import { MEDIA_CODECS } from './SfuConfig.js';
import { parseOffer, producerParameters, SDP_LIMITS } from './WhipSdp.js';
import { after, edit, FP256, OBS } from '../test/sfu/offers.js';

/** Router capabilities as mediasoup derives them from MEDIA_CODECS (enough for producerParameters). */
const CAPS: types.RtpCapabilities = {
  codecs: MEDIA_CODECS.map((c) => ({ ...c, preferredPayloadType: c.preferredPayloadType ?? 100, rtcpFeedback: [] })),
  headerExtensions: [
    { kind: 'audio', uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', preferredId: 1 },
    { kind: 'video', uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', preferredId: 1 },
    { kind: 'video', uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', preferredId: 4 },
  ],
};

const fp = (v: string) => edit(OBS, 'a=fingerprint:', `a=fingerprint:${v}`);
const rtpmap = (v: string) => edit(OBS, 'a=rtpmap:96', `a=rtpmap:${v}`);
const fmtp = (v: string) => edit(OBS, 'a=fmtp:96', `a=fmtp:${v}`);
const mVideo = (v: string) => edit(OBS, 'm=video', v);
const hex = (bytes: number) => Array.from({ length: bytes }, () => 'AB').join(':');

function rejection(sdp: unknown): MediaInvalidError {
  try {
    parseOffer(sdp);
  } catch (error) {
    expect(error).toBeInstanceOf(MediaInvalidError);
    return error as MediaInvalidError;
  }
  throw new Error('parseOffer accepted it');
}

describe('parseOffer', () => {
  it('reads an OBS offer: session-level transport attributes, opus + H264', () => {
    const offer = parseOffer(OBS);
    expect(offer.fingerprint).toEqual({ algorithm: 'sha-256', value: FP256 });
    expect(offer.ice).toEqual({ usernameFragment: 'PNKf', password: 'vOu3ox0QX3obJGrWmIxSGD' });
    expect(offer.media.map((m) => [m.kind, m.mid, m.payloadTypes, m.ssrcs, m.cname])).toEqual([
      ['audio', '0', [111], [2893236346], '1kG2b5h2lhYc0QaU'],
      ['video', '1', [96], [1720385234], '1kG2b5h2lhYc0QaU'],
    ]);
    expect(offer.media[1].fmtp.get(96)).toEqual({ 'profile-level-id': '42e01f', 'packetization-mode': 1, 'level-asymmetry-allowed': 1 });
    const video = producerParameters(offer.media[1], CAPS);
    expect(video.codecs.map((c) => [c.mimeType, c.payloadType])).toEqual([['video/H264', 96]]);
    expect(video.codecs[0].rtcpFeedback).toEqual([{ type: 'nack', parameter: '' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb', parameter: '' }]);
    expect(video.encodings).toEqual([{ ssrc: 1720385234 }]);
    expect(producerParameters(offer.media[0], CAPS).codecs[0]).toMatchObject({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 });
  });

  it('reads a Chromium offer: per-section transport attributes, 23 video codecs, RTX, RED with a bare fmtp', () => {
    const offer = parseOffer(CHROMIUM);
    expect(offer.fingerprint.algorithm).toBe('sha-256');
    expect(offer.media.map((m) => m.payloadTypes.length)).toEqual([8, 23]);
    expect(offer.media[0].fmtp.get(63)).toEqual({ '111/111': '' });
    const video = producerParameters(offer.media[1], CAPS);
    expect(video.codecs.map((c) => c.mimeType)).toEqual(['video/VP8', 'video/rtx']);
    expect(video.encodings).toEqual([{ ssrc: 1448849960, rtx: { ssrc: 1106328886 } }]);
  });

  it('normalises fingerprints and accepts every algorithm mediasoup knows, LF line endings and wildcard rtcp-fb', () => {
    expect(parseOffer(fp(`SHA-256 ${FP256.toLowerCase()}`)).fingerprint).toEqual({ algorithm: 'sha-256', value: FP256 });
    for (const [algorithm, bytes] of [['sha-1', 20], ['sha-224', 28], ['sha-384', 48], ['sha-512', 64]] as const) {
      expect(parseOffer(fp(`${algorithm} ${hex(bytes)}`)).fingerprint).toEqual({ algorithm, value: hex(bytes) });
    }
    expect(parseOffer(OBS.replaceAll('\r\n', '\n')).media).toHaveLength(2);
    const wild = parseOffer(after(OBS, 'a=rtpmap:96', 'a=rtcp-fb:* transport-cc'));
    expect(wild.media[1].rtcpFb.get(96)?.at(-1)).toEqual({ type: 'transport-cc', parameter: '' });
    expect(parseOffer(edit(OBS, 'a=setup:', 'a=setup:active')).media).toHaveLength(2);
    expect(parseOffer(edit(OBS, 'a=setup:', null)).media).toHaveLength(2);
  });

  const twoFp = edit(after(OBS, 'm=video', `a=fingerprint:sha-256 ${hex(32)}`), 'a=fingerprint:', null);
  const cases: [string, unknown, RegExp][] = [
    // Not an offer at all; sizes.
    ['not a string', Buffer.from(OBS), /not an SDP offer/],
    ['empty', '', /not an SDP offer/],
    ['garbage', 'hello', /not an SDP offer/],
    ['v=1', OBS.replace('v=0', 'v=1'), /not an SDP offer/],
    ['over the byte cap', `${OBS}a=x:${'y'.repeat(SDP_LIMITS.bytes)}\r\n`, /over 32768 bytes/],
    ['under the character cap but over the byte cap', `${OBS}s=${'é'.repeat(SDP_LIMITS.bytes / 2)}\r\n`, /over 32768 bytes/],
    ['too many lines', `${OBS}${'a=x\r\n'.repeat(SDP_LIMITS.lines)}`, /over 1000 lines/],
    ['a very long line', `${OBS}a=x:${'y'.repeat(2000)}\r\n`, /longer than 1024/],
    // Control characters and broken text.
    ['NUL in s=', edit(OBS, 's=', 's=a\u0000b'), /control character/],
    ['NUL in a fingerprint', fp(`sha-256 ${FP256}\u0000`), /control character/],
    ['a tab', edit(OBS, 's=', 's=\t'), /control character/],
    ['DEL', edit(OBS, 's=', 's=\u007f'), /control character/],
    ['a C1 control', edit(OBS, 's=', 's=\u0085'), /control character/],
    ['a lone CR inside a line', edit(OBS, 's=', 's=a\rb'), /control character/],
    ['a lone high surrogate', edit(OBS, 's=', 's=\uD800'), /lone surrogate/],
    ['a lone low surrogate', edit(OBS, 'a=mid:0', 'a=mid:\uDC00'), /lone surrogate/],
    ['a line that is not <type>=<value>', `${OBS}hello world\r\n`, /not a <type>=<value> line/],
    ['an upper-case type', `${OBS}A=b\r\n`, /not a <type>=<value> line/],
    // a=fingerprint
    ['no fingerprint', edit(OBS, 'a=fingerprint:', null), /no DTLS fingerprint/],
    ['md5 fingerprint', fp(`md5 ${hex(16)}`), /algorithm must be sha-1/],
    ['made-up algorithm', fp(`sha-3 ${hex(32)}`), /algorithm must be sha-1/],
    ['sha-256 of 31 bytes', fp(`sha-256 ${hex(31)}`), /sha-256 must be 32 bytes/],
    ['sha-256 of 33 bytes', fp(`sha-256 ${hex(33)}`), /sha-256 must be 32 bytes/],
    ['sha-1 of 32 bytes', fp(`sha-1 ${hex(32)}`), /sha-1 must be 20 bytes/],
    ['sha-512 of 32 bytes', fp(`sha-512 ${hex(32)}`), /sha-512 must be 64 bytes/],
    ['non-hex bytes', fp(`sha-256 ${FP256.replace('03', 'ZZ')}`), /malformed a=fingerprint/],
    ['one-digit bytes', fp(`sha-256 ${FP256.replace('03', '3')}`), /malformed a=fingerprint/],
    ['no separators', fp(`sha-256 ${FP256.replaceAll(':', '')}`), /malformed a=fingerprint/],
    ['a doubled colon', fp(`sha-256 ${FP256.replace(':', '::')}`), /malformed a=fingerprint/],
    ['a trailing colon', fp(`sha-256 ${FP256}:`), /malformed a=fingerprint/],
    ['no value', fp('sha-256'), /malformed a=fingerprint/],
    ['an extra token', fp(`sha-256 ${FP256} extra`), /malformed a=fingerprint/],
    ['an empty fingerprint', fp(''), /malformed a=fingerprint/],
    ['different fingerprints per section', after(twoFp, 'm=audio', `a=fingerprint:sha-256 ${FP256}`), /different DTLS fingerprints/],
    // a=rtpmap
    ['payload type 128', mVideo('m=video 9 UDP/TLS/RTP/SAVPF 96 128'), /payload type over 127/],
    ['rtpmap payload type 300', rtpmap('300 H264/90000'), /m-line does not list/],
    ['rtpmap payload type not a number', rtpmap('x H264/90000'), /malformed a=rtpmap/],
    ['rtpmap negative payload type', rtpmap('-1 H264/90000'), /malformed a=rtpmap/],
    ['rtpmap without a clock rate', rtpmap('96 H264'), /malformed a=rtpmap/],
    ['rtpmap with an empty clock rate', rtpmap('96 H264/'), /malformed a=rtpmap/],
    ['rtpmap clock rate 0', rtpmap('96 H264/0'), /clock rate must be a positive/],
    ['rtpmap clock rate over 32 bits', rtpmap('96 H264/4294967296'), /clock rate must be a positive/],
    ['rtpmap clock rate not a number', rtpmap('96 H264/abc'), /malformed a=rtpmap/],
    ['rtpmap fractional clock rate', rtpmap('96 H264/90000.5'), /malformed a=rtpmap/],
    ['rtpmap channels 0', edit(OBS, 'a=rtpmap:111', 'a=rtpmap:111 opus/48000/0'), /channels must be positive/],
    ['rtpmap channels not a number', edit(OBS, 'a=rtpmap:111', 'a=rtpmap:111 opus/48000/two'), /malformed a=rtpmap/],
    ['rtpmap encoding with a space', rtpmap('96 H 264/90000'), /malformed a=rtpmap/],
    ['rtpmap encoding with a quote', rtpmap('96 H264"/90000'), /malformed a=rtpmap/],
    ['rtpmap with no encoding', rtpmap('96 /90000'), /malformed a=rtpmap/],
    ['rtpmap with nothing', rtpmap(''), /malformed a=rtpmap/],
    ['rtpmap repeated', after(OBS, 'a=rtpmap:96', 'a=rtpmap:96 VP8/90000'), /repeated/],
    // a=fmtp
    ['fmtp without parameters', fmtp('96'), /malformed a=fmtp/],
    ['fmtp with an empty parameter list', fmtp('96 '), /malformed a=fmtp/],
    ['fmtp payload type not listed', fmtp('97 apt=96'), /m-line does not list/],
    ['fmtp payload type not a number', fmtp('abc apt=96'), /malformed a=fmtp/],
    ['fmtp key with markup', fmtp('96 <script>=1'), /malformed a=fmtp parameter/],
    ['fmtp empty key', fmtp('96 =1'), /malformed a=fmtp parameter/],
    ['fmtp value with a space', fmtp('96 profile-level-id=42 e01f'), /malformed a=fmtp parameter/],
    ['fmtp key repeated', fmtp('96 packetization-mode=1;packetization-mode=0'), /repeated/],
    ['fmtp too many parameters', fmtp(`96 ${Array.from({ length: 40 }, (_, i) => `k${i}=1`).join(';')}`), /more than 32/],
    // m= lines
    ['m-line with no payload types', mVideo('m=video 9 UDP/TLS/RTP/SAVPF'), /malformed m-line/],
    ['m-line with a non-numeric payload type', mVideo('m=video 9 UDP/TLS/RTP/SAVPF 96 x'), /malformed m-line/],
    ['m-line with double spaces', mVideo('m=video 9  UDP/TLS/RTP/SAVPF 96'), /malformed m-line/],
    ['m-line port over 65535', mVideo('m=video 70000 UDP/TLS/RTP/SAVPF 96'), /port out of range/],
    ['m-line port not a number', mVideo('m=video nine UDP/TLS/RTP/SAVPF 96'), /malformed m-line/],
    ['m-line plain RTP/AVP', mVideo('m=video 9 RTP/AVP 96'), /protocol must be/],
    ['m-line payload type repeated', mVideo('m=video 9 UDP/TLS/RTP/SAVPF 96 96'), /listed twice/],
    ['m-line with 100 payload types', mVideo(`m=video 9 UDP/TLS/RTP/SAVPF ${Array.from({ length: 100 }, (_, i) => i).join(' ')}`), /more than 64/],
    ['m=application', mVideo('m=application 9 UDP/DTLS/SCTP webrtc-datachannel'), /unsupported m-line "application"/],
    ['an empty m=', mVideo('m='), /unsupported m-line/],
    ['two video sections', OBS.replace('m=audio 9 UDP/TLS/RTP/SAVPF 111', 'm=video 9 UDP/TLS/RTP/SAVPF 111'), /second video section/],
    ['a third section', `${OBS}m=audio 9 UDP/TLS/RTP/SAVPF 97\r\n`, /one audio and\/or one video/],
    ['no media section', OBS.slice(0, OBS.indexOf('m=audio')), /no audio or video section/],
    // ICE and setup
    ['no ice-ufrag', edit(OBS, 'a=ice-ufrag:', null), /no ICE ufrag\/pwd/],
    ['no ice-pwd', edit(OBS, 'a=ice-pwd:', null), /no ICE ufrag\/pwd/],
    ['ice-ufrag too short', edit(OBS, 'a=ice-ufrag:', 'a=ice-ufrag:ab'), /ice-ufrag must be/],
    ['ice-ufrag with odd characters', edit(OBS, 'a=ice-ufrag:', 'a=ice-ufrag:ab;cd'), /ice-ufrag must be/],
    ['ice-pwd too short', edit(OBS, 'a=ice-pwd:', 'a=ice-pwd:short'), /ice-pwd must be/],
    ['ice-pwd repeated', after(OBS, 'a=ice-pwd:', 'a=ice-pwd:vOu3ox0QX3obJGrWmIxSGD'), /ice-pwd repeated/],
    ['setup passive', edit(OBS, 'a=setup:', 'a=setup:passive'), /must offer actpass or active/],
    ['setup holdconn', edit(OBS, 'a=setup:', 'a=setup:holdconn'), /must offer actpass or active/],
    ['setup made up', edit(OBS, 'a=setup:', 'a=setup:sideways'), /setup must be active, passive/],
    ['setup empty', edit(OBS, 'a=setup:', 'a=setup:'), /setup must be active, passive/],
    ['setup repeated', after(OBS, 'a=setup:', 'a=setup:active'), /setup repeated/],
    // Other attributes ingest reads.
    ['mid with a space', edit(OBS, 'a=mid:1', 'a=mid:1 2'), /a=mid must be a token/],
    ['mid longer than 16', edit(OBS, 'a=mid:1', `a=mid:${'m'.repeat(17)}`), /a=mid must be a token/],
    ['mid repeated across sections', edit(OBS, 'a=mid:1', 'a=mid:0'), /repeats an a=mid/],
    ['rtcp-fb malformed', edit(OBS, 'a=rtcp-fb:96 nack pli', 'a=rtcp-fb:96 nack<pli>'), /malformed a=rtcp-fb/],
    ['rtcp-fb for an unlisted payload type', edit(OBS, 'a=rtcp-fb:96 nack pli', 'a=rtcp-fb:97 nack'), /m-line does not list/],
    ['extmap id 0', after(OBS, 'a=mid:1', 'a=extmap:0 urn:ietf:params:rtp-hdrext:sdes:mid'), /id must be 1-255/],
    ['extmap id 256', after(OBS, 'a=mid:1', 'a=extmap:256 urn:ietf:params:rtp-hdrext:sdes:mid'), /id must be 1-255/],
    ['extmap without a URI', after(OBS, 'a=mid:1', 'a=extmap:3'), /malformed a=extmap/],
    ['extmap id repeated', after(after(OBS, 'a=mid:1', 'a=extmap:3 urn:a'), 'a=mid:1', 'a=extmap:3 urn:b'), /id 3 repeated/],
    ['ssrc over 32 bits', edit(OBS, 'a=ssrc:1720385234 cname', 'a=ssrc:4294967296 cname:x'), /out of range/],
    ['ssrc not a number', edit(OBS, 'a=ssrc:1720385234 cname', 'a=ssrc:abc cname:x'), /malformed a=ssrc/],
    ['ssrc with an empty cname', edit(OBS, 'a=ssrc:1720385234 cname', 'a=ssrc:1720385234 cname:'), /cname must be/],
    ['ssrc-group FID with one SSRC', after(OBS, 'a=mid:1', 'a=ssrc-group:FID 1720385234'), /needs two SSRCs/],
    ['ssrc-group FID naming an unknown SSRC', after(OBS, 'a=mid:1', 'a=ssrc-group:FID 1720385234 7'), /names an SSRC without a=ssrc/],
    ['ssrc-group not numeric', after(OBS, 'a=mid:1', 'a=ssrc-group:FID a b'), /malformed a=ssrc-group/],
    ['rid malformed', after(OBS, 'a=mid:1', 'a=rid:h sideways'), /malformed a=rid/],
    ['rid repeated', after(after(OBS, 'a=mid:1', 'a=rid:h send'), 'a=mid:1', 'a=rid:h send'), /rid h repeated/],
  ];

  it.each(cases)('refuses %s with INVALID_ARGUMENT (400)', (_name, sdp, message) => {
    const error = rejection(sdp);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.status).toBe(400);
    expect(error.message).toMatch(message);
  });

  it('never throws anything but MediaInvalidError on mutated offers, nor does producerParameters', () => {
    // Deterministic mutations of both fixtures: flip, insert, delete characters; drop, repeat lines.
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const alphabet = ['\u0000', '\uD800', ':', ' ', '/', '=', ';', '-', '9', '0', 'a', 'Z', '\r', '\n', '*', 'é', '999999999999'];
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      let sdp = i % 2 === 0 ? OBS : CHROMIUM;
      for (let k = 0; k <= rand(4); k++) {
        const at = rand(sdp.length);
        const op = rand(5);
        if (op === 0) sdp = sdp.slice(0, at) + alphabet[rand(alphabet.length)] + sdp.slice(at + 1);
        else if (op === 1) sdp = sdp.slice(0, at) + alphabet[rand(alphabet.length)] + sdp.slice(at);
        else if (op === 2) sdp = sdp.slice(0, at) + sdp.slice(at + 1 + rand(8));
        else {
          const lines = sdp.split('\r\n');
          const l = 1 + rand(lines.length - 1);
          if (op === 3) lines.splice(l, 1);
          else lines.splice(l, 0, lines[rand(lines.length)]);
          sdp = lines.join('\r\n');
        }
      }
      try {
        const offer = parseOffer(sdp);
        for (const m of offer.media) producerParameters(m, CAPS);
        accepted++;
      } catch (error) {
        if (!(error instanceof MediaInvalidError)) throw new Error(`mutation ${i} threw ${String(error)}\n${sdp}`);
      }
    }
    // Some mutations are harmless (a changed o= line): the valid path runs too.
    expect(accepted).toBeGreaterThan(0);
  });
});

/** A real Chromium offer (two sendonly transceivers), as test/sfu/whip.test.ts posts it. */
const CHROMIUM = `v=0
o=- 1887128038372667004 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
a=extmap-allow-mixed
a=msid-semantic: WMS
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:i+kR
a=ice-pwd:WEtwEyFwCI4iLAJpxYntd0MA
a=ice-options:trickle
a=fingerprint:sha-256 54:EF:47:E6:0B:26:71:ED:B8:D1:DB:47:67:D9:BE:7A:25:9A:A2:39:10:23:2A:44:02:D8:C8:79:0E:19:2D:4A
a=setup:actpass
a=mid:0
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=sendonly
a=msid:- 66d713f6-c7ea-4c6d-819f-499eec50e010
a=rtcp-mux
a=rtcp-rsize
a=rtcp-xr:rcvr-rtt=all
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=ssrc:3959783704 cname:6aKeITZC8VYG/B/W
a=ssrc:3959783704 msid:- 66d713f6-c7ea-4c6d-819f-499eec50e010
m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 107 108 109 114 115 116 117 39 40 45 46 98 99 100 101 118 119 120
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:i+kR
a=ice-pwd:WEtwEyFwCI4iLAJpxYntd0MA
a=ice-options:trickle
a=fingerprint:sha-256 54:EF:47:E6:0B:26:71:ED:B8:D1:DB:47:67:D9:BE:7A:25:9A:A2:39:10:23:2A:44:02:D8:C8:79:0E:19:2D:4A
a=setup:actpass
a=mid:1
a=extmap:14 urn:ietf:params:rtp-hdrext:toffset
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:13 urn:3gpp:video-orientation
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay
a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type
a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing
a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id
a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id
a=sendonly
a=msid:- a6e634fc-7626-4564-84d7-33f76d118984
a=rtcp-mux
a=rtcp-rsize
a=rtcp-xr:rcvr-rtt=all
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 goog-remb
a=rtcp-fb:96 transport-cc
a=rtcp-fb:96 ccm fir
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
a=rtpmap:102 H264/90000
a=rtcp-fb:102 goog-remb
a=rtcp-fb:102 transport-cc
a=rtcp-fb:102 ccm fir
a=rtcp-fb:102 nack
a=rtcp-fb:102 nack pli
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
a=rtpmap:103 rtx/90000
a=fmtp:103 apt=102
a=rtpmap:104 H264/90000
a=rtcp-fb:104 goog-remb
a=rtcp-fb:104 transport-cc
a=rtcp-fb:104 ccm fir
a=rtcp-fb:104 nack
a=rtcp-fb:104 nack pli
a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f
a=rtpmap:107 rtx/90000
a=fmtp:107 apt=104
a=rtpmap:108 H264/90000
a=rtcp-fb:108 goog-remb
a=rtcp-fb:108 transport-cc
a=rtcp-fb:108 ccm fir
a=rtcp-fb:108 nack
a=rtcp-fb:108 nack pli
a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
a=rtpmap:109 rtx/90000
a=fmtp:109 apt=108
a=rtpmap:114 H264/90000
a=rtcp-fb:114 goog-remb
a=rtcp-fb:114 transport-cc
a=rtcp-fb:114 ccm fir
a=rtcp-fb:114 nack
a=rtcp-fb:114 nack pli
a=fmtp:114 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f
a=rtpmap:115 rtx/90000
a=fmtp:115 apt=114
a=rtpmap:116 H264/90000
a=rtcp-fb:116 goog-remb
a=rtcp-fb:116 transport-cc
a=rtcp-fb:116 ccm fir
a=rtcp-fb:116 nack
a=rtcp-fb:116 nack pli
a=fmtp:116 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f
a=rtpmap:117 rtx/90000
a=fmtp:117 apt=116
a=rtpmap:39 H264/90000
a=rtcp-fb:39 goog-remb
a=rtcp-fb:39 transport-cc
a=rtcp-fb:39 ccm fir
a=rtcp-fb:39 nack
a=rtcp-fb:39 nack pli
a=fmtp:39 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4d001f
a=rtpmap:40 rtx/90000
a=fmtp:40 apt=39
a=rtpmap:45 AV1/90000
a=rtcp-fb:45 goog-remb
a=rtcp-fb:45 transport-cc
a=rtcp-fb:45 ccm fir
a=rtcp-fb:45 nack
a=rtcp-fb:45 nack pli
a=fmtp:45 level-idx=5;profile=0;tier=0
a=rtpmap:46 rtx/90000
a=fmtp:46 apt=45
a=rtpmap:98 VP9/90000
a=rtcp-fb:98 goog-remb
a=rtcp-fb:98 transport-cc
a=rtcp-fb:98 ccm fir
a=rtcp-fb:98 nack
a=rtcp-fb:98 nack pli
a=fmtp:98 profile-id=0
a=rtpmap:99 rtx/90000
a=fmtp:99 apt=98
a=rtpmap:100 VP9/90000
a=rtcp-fb:100 goog-remb
a=rtcp-fb:100 transport-cc
a=rtcp-fb:100 ccm fir
a=rtcp-fb:100 nack
a=rtcp-fb:100 nack pli
a=fmtp:100 profile-id=2
a=rtpmap:101 rtx/90000
a=fmtp:101 apt=100
a=rtpmap:118 red/90000
a=rtpmap:119 rtx/90000
a=fmtp:119 apt=118
a=rtpmap:120 ulpfec/90000
a=ssrc-group:FID 1448849960 1106328886
a=ssrc:1448849960 cname:6aKeITZC8VYG/B/W
a=ssrc:1448849960 msid:- a6e634fc-7626-4564-84d7-33f76d118984
a=ssrc:1106328886 cname:6aKeITZC8VYG/B/W
a=ssrc:1106328886 msid:- a6e634fc-7626-4564-84d7-33f76d118984
`.replaceAll('\n', '\r\n');
