import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { flashcast } from './index.js';
import { CloseCode, isReconnectCode } from './codes.js';

const root = protobuf.loadSync(fileURLToPath(new URL('./flashcast.proto', import.meta.url)));
const ns = root.lookup('flashcast') as protobuf.Namespace;
const messageTypes = ns.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);

/** A value for every field (recursively), using the schema by reflection. */
function sample(type: protobuf.Type, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const oneofFields = new Set<string>();
  for (const oneof of type.oneofsArray) {
    // Only the first member of each oneof can be set at once.
    for (const f of oneof.fieldsArray.slice(1)) oneofFields.add(f.name);
  }
  for (const field of type.fieldsArray) {
    if (oneofFields.has(field.name)) continue;
    field.resolve();
    let value: unknown;
    if (field.resolvedType instanceof protobuf.Type) {
      if (depth > 3) continue;
      value = sample(field.resolvedType, depth + 1);
    } else if (field.resolvedType instanceof protobuf.Enum) {
      value = Math.max(...Object.values(field.resolvedType.values));
    } else {
      switch (field.type) {
        case 'string':
          value = `${field.name}-é✓`;
          break;
        case 'bool':
          value = true;
          break;
        case 'bytes':
          value = new Uint8Array([1, 2, 3]);
          break;
        case 'int64':
          value = -(2 ** 40) - field.id;
          break;
        default:
          value = 2 ** 20 + field.id; // fits uint32/int32 and exercises multi-byte varints
      }
    }
    out[field.name] = field.repeated ? [value, value] : value;
  }
  return out;
}

describe('protocol schema', () => {
  it('has the envelope and every stream kind', () => {
    const names = messageTypes.map((t) => t.name);
    for (const name of ['ClientFrame', 'ServerFrame', 'RoomEvent', 'Join', 'Joined', 'RoomSnapshot', 'InventoryUpdate', 'PurchaseEvent']) {
      expect(names).toContain(name);
    }
  });

  for (const type of messageTypes) {
    it(`round-trips ${type.name} through the generated codec`, () => {
      const Static = (flashcast as unknown as Record<string, typeof flashcast.RoomEvent>)[type.name];
      expect(Static, `generated code lacks ${type.name}: run npm run proto`).toBeDefined();
      const value = sample(type);
      const bytes = Static.encode(Static.fromObject(value)).finish();
      // The generated codec and the reflected schema agree byte for byte.
      const reflected = type.encode(type.fromObject(value)).finish();
      expect(Buffer.from(bytes).equals(Buffer.from(reflected))).toBe(true);
      const decoded = Static.decode(bytes);
      const opts = { longs: Number, enums: Number, bytes: Array, defaults: false };
      expect(Static.toObject(decoded, opts)).toEqual(Static.toObject(Static.fromObject(value), opts));
    });
  }

  it('decodes frames with appended fields (what the publish script does)', () => {
    const event = flashcast.RoomEvent.encode({ room: 'r1', ts: 5, announcement: { text: 'hi' } }).finish();
    const appended = Buffer.concat([Buffer.from(event), Buffer.from([0x10, 0xac, 0x02]), Buffer.from([0x1a, 0x02]), Buffer.from('ep')]);
    const decoded = flashcast.RoomEvent.decode(appended);
    expect(decoded.offset).toBe(300);
    expect(decoded.epoch).toBe('ep');
    expect(decoded.announcement?.text).toBe('hi');
  });

  it('ignores unknown fields from newer peers', () => {
    const known = flashcast.ClientFrame.encode({ v: 1, rid: 7, ping: { clientTime: 1 } }).finish();
    const withUnknown = Buffer.concat([Buffer.from(known), Buffer.from([0xf8, 0x3e, 0x01])]); // field 1007, varint 1
    const decoded = flashcast.ClientFrame.decode(withUnknown);
    expect(decoded.rid).toBe(7);
    expect(decoded.msg).toBe('ping');
  });

  it('splits close codes into reconnect and terminal ranges', () => {
    for (const code of [CloseCode.Draining, CloseCode.SlowConsumer, CloseCode.IdleTimeout, CloseCode.Flood, 1006, 1001, 1011]) {
      expect(isReconnectCode(code), String(code)).toBe(true);
    }
    for (const code of [CloseCode.Unauthorized, CloseCode.TokenExpired, 4502, CloseCode.ProtocolViolation, CloseCode.UnsupportedVersion, CloseCode.TooManyConnections, 1000, 1009]) {
      expect(isReconnectCode(code), String(code)).toBe(false);
    }
  });
});
