import { MediaInvalidError } from './errors.js';
import type { types } from './mediasoup.js';

/** Largest JSON field accepted in a media request. */
export const MAX_JSON_BYTES = 12 * 1024;

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const FINGERPRINT_ALGORITHMS = new Set(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']);
const FINGERPRINT = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){15,63}$/;

/** Parses a JSON field of a media request: an object, at most MAX_JSON_BYTES. */
export function parseJsonField(name: string, text: string | null | undefined): Record<string, unknown> {
  if (!text) throw new MediaInvalidError(`${name} is required`);
  if (text.length > MAX_JSON_BYTES) throw new MediaInvalidError(`${name} is over ${MAX_JSON_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MediaInvalidError(`${name} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MediaInvalidError(`${name} must be a JSON object`);
  return value as Record<string, unknown>;
}

/** A mediasoup object id (uuid) or our ids. */
export function requireId(name: string, value: string | null | undefined): string {
  if (!value || !ID.test(value)) throw new MediaInvalidError(`${name} is missing or malformed`);
  return value;
}

/** DTLS parameters as a browser sends them: role and at least one well-formed fingerprint. */
export function dtlsParameters(text: string | null | undefined): types.DtlsParameters {
  const o = parseJsonField('dtls_parameters_json', text);
  const role = o.role ?? 'auto';
  if (role !== 'auto' && role !== 'client' && role !== 'server') throw new MediaInvalidError('dtls role must be auto, client or server');
  const fps = o.fingerprints;
  if (!Array.isArray(fps) || fps.length === 0 || fps.length > 8) throw new MediaInvalidError('dtls fingerprints must be a non-empty array');
  const fingerprints = fps.map((f: unknown) => {
    const fp = f as { algorithm?: unknown; value?: unknown };
    if (typeof fp !== 'object' || fp === null || typeof fp.algorithm !== 'string' || !FINGERPRINT_ALGORITHMS.has(fp.algorithm)) {
      throw new MediaInvalidError('dtls fingerprint algorithm is not supported');
    }
    if (typeof fp.value !== 'string' || !FINGERPRINT.test(fp.value)) throw new MediaInvalidError('dtls fingerprint value is malformed');
    return { algorithm: fp.algorithm as types.FingerprintAlgorithm, value: fp.value };
  });
  return { role: role as types.DtlsRole, fingerprints };
}

/** RTP parameters of a producer: shape checks; mediasoup validates the rest. */
export function rtpParameters(text: string | null | undefined): types.RtpParameters {
  const o = parseJsonField('rtp_parameters_json', text);
  if (!Array.isArray(o.codecs) || o.codecs.length === 0) throw new MediaInvalidError('rtp parameters need codecs');
  if (o.encodings !== undefined && (!Array.isArray(o.encodings) || o.encodings.length > 4)) {
    throw new MediaInvalidError('rtp parameters allow at most 4 encodings');
  }
  return o as unknown as types.RtpParameters;
}

export function rtpCapabilities(text: string | null | undefined): types.RtpCapabilities {
  const o = parseJsonField('rtp_capabilities_json', text);
  if (!Array.isArray(o.codecs)) throw new MediaInvalidError('rtp capabilities need codecs');
  return o as unknown as types.RtpCapabilities;
}
