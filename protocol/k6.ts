/**
 * The entry of the self-contained k6 bundle (`load-tests/k6/lib/flashcast-proto.cjs`, built by
 * `npm run proto`): the generated codec and the one decoder of server messages.
 */
export { flashcast } from './gen/flashcast.js';
export { decodeServerFrames } from './batch.js';
