/** Fixture: client-sdk/ importing common/ (forbidden: the SDK imports only protocol/). */
import { shared } from '../common/Shared.js';

export const sdkShared = shared;
