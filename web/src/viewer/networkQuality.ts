/**
 * Which video quality a viewer starts with when the page says `quality="auto"` (or nothing):
 * Lite on a connection the browser reports as slow or metered (Network Information API:
 * `saveData`, or an effective type of slow-2g, 2g or 3g), else auto. Browsers without the
 * API (Safari, Firefox) get auto; the SFU still adapts layers to the bandwidth it measures.
 */
import type { WatchQuality } from '../../../client-sdk/media/Viewer.js';

/** The part of `navigator.connection` read here. */
export interface ConnectionInfo {
  saveData?: boolean;
  effectiveType?: string;
}

const SLOW = new Set(['slow-2g', '2g', '3g']);

/** True when the connection asks for Lite: data saver on, or an effective type of 3G or slower. */
export function prefersLite(connection: ConnectionInfo | undefined): boolean {
  if (!connection) return false;
  return connection.saveData === true || SLOW.has(connection.effectiveType ?? '');
}

/** The quality to watch in: an explicit lite/audio wins; auto becomes Lite on a slow connection. */
export function startQuality(requested: string | null | undefined, connection: ConnectionInfo | undefined): WatchQuality {
  if (requested === 'lite' || requested === 'audio') return requested;
  return prefersLite(connection) ? 'lite' : 'auto';
}

/** The browser's `navigator.connection`, when it has one. */
export function browserConnection(): (ConnectionInfo & EventTarget) | undefined {
  return typeof navigator === 'undefined' ? undefined : (navigator as { connection?: ConnectionInfo & EventTarget }).connection;
}
