/** Fixture: a cycle through a type-only import, Client -> Room -> (type) Client. */
import { Room } from './Room.js';

export class Client {
  readonly room = new Room(this);
}
