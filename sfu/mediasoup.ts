/** mediasoup, loaded after the worker binary is located (see workerBin.ts). */
import './workerBin.js';
import * as mediasoup from 'mediasoup';

export { mediasoup };
export type { types } from 'mediasoup';
