/** Fixture: a cycle through a type-only import, Client -> Room -> (type) Client. */
import type { Client } from './Client.js';

export class Room {
  constructor(readonly client: Client) {}
}
