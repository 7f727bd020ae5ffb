import type { z } from 'zod';

/**
 * Names of the API's shared shapes (Shop, Product, OrderView, Error...). A named zod schema
 * becomes `components.schemas.<name>` of the OpenAPI document and is referenced (`$ref`)
 * wherever a route's request or response uses it; unnamed schemas are inlined.
 */
const BY_NAME = new Map<string, z.ZodTypeAny>();
const BY_DEF = new WeakMap<object, string>();

const NAME = /^[A-Z][A-Za-z0-9]{0,63}$/;

/**
 * Names `schema` for the OpenAPI document and returns it unchanged. A name is given once:
 * naming another schema with a taken name is a TypeError (two shapes, one name).
 */
export function apiSchema<T extends z.ZodTypeAny>(name: string, schema: T): T {
  if (!NAME.test(name)) throw new TypeError(`schema name ${name} must be PascalCase`);
  const taken = BY_NAME.get(name);
  if (taken && taken !== schema) throw new TypeError(`schema name ${name} is already taken`);
  BY_NAME.set(name, schema);
  BY_DEF.set(schema._def as object, name);
  return schema;
}

/** The name of a schema definition (`schema._def`), if it was named. */
export function schemaName(def: unknown): string | undefined {
  return typeof def === 'object' && def !== null ? BY_DEF.get(def) : undefined;
}

/** The named schema, if any. */
export function namedSchema(name: string): z.ZodTypeAny | undefined {
  return BY_NAME.get(name);
}
