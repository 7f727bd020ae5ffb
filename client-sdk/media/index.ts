/** The media plane of the SDK (browsers): publish a camera, watch a room. Used through Room.publish / Room.watch. */
export { Publisher, DEFAULT_SIMULCAST } from './Publisher.js';
export type { PublishOptions, PublisherEvents, MediaState } from './Publisher.js';
export { Viewer } from './Viewer.js';
export type { WatchOptions, WatchQuality, ViewerEvents } from './Viewer.js';
