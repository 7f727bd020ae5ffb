/** The browser ESM build of the client SDK, served at /sdk/flashcast.js and shipped in the package. */
export * from '../../client-sdk/index.js';
