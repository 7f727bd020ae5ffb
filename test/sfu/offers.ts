/** SDP offers for WHIP tests (sfu/WhipSdp.test.ts, test/sfu/*). */

export const FP256 = Array.from({ length: 32 }, (_, i) => (i * 7 + 3).toString(16).padStart(2, '0').toUpperCase()).join(':');

/** What OBS 30+ (libdatachannel) posts: transport attributes at session level, one codec per section. */
export const OBS = [
  'v=0',
  'o=rtc 4107323344 0 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=group:LS 0 1',
  'a=msid-semantic:WMS *',
  'a=setup:actpass',
  'a=ice-ufrag:PNKf',
  'a=ice-pwd:vOu3ox0QX3obJGrWmIxSGD',
  'a=ice-options:ice2,trickle',
  `a=fingerprint:sha-256 ${FP256}`,
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=sendonly',
  'a=ssrc:2893236346 cname:1kG2b5h2lhYc0QaU',
  'a=ssrc:2893236346 msid:obs-audio obs-audio',
  'a=msid:obs-audio obs-audio',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'c=IN IP4 0.0.0.0',
  'a=mid:1',
  'a=sendonly',
  'a=ssrc:1720385234 cname:1kG2b5h2lhYc0QaU',
  'a=ssrc:1720385234 msid:obs-video obs-video',
  'a=msid:obs-video obs-video',
  'a=rtcp-mux',
  'a=rtpmap:96 H264/90000',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtcp-fb:96 goog-remb',
  'a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
  '',
].join('\r\n');

/** Replaces the first line starting with `prefix` (whole line) by `by` (null deletes it). */
export function edit(sdp: string, prefix: string, by: string | null): string {
  const lines = sdp.split('\r\n');
  const i = lines.findIndex((l) => l.startsWith(prefix));
  if (i < 0) throw new Error(`fixture has no line ${prefix}`);
  if (by === null) lines.splice(i, 1);
  else lines[i] = by;
  return lines.join('\r\n');
}
/** Inserts `line` after the first line starting with `prefix`. */
export const after = (sdp: string, prefix: string, line: string) => {
  const lines = sdp.split('\r\n');
  lines.splice(lines.findIndex((l) => l.startsWith(prefix)) + 1, 0, line);
  return lines.join('\r\n');
};
