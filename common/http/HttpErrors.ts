import { ZodError, z } from 'zod';
import { CommerceErrorCode, ErrorCode, SettlementErrorCode, SfuErrorCode } from '../../protocol/codes.js';
import { logger } from '../logger.js';
import { FlashcastError } from '../errors.js';
import { apiSchema } from './apiSchema.js';

const log = logger('HttpErrors');

/** The one HTTP error body: `{ error: { code, message, details? } }`. */
export interface HttpErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** Every stable error code an HTTP error body can carry (protocol/codes.ts), sorted, once each. */
export const ERROR_CODES: readonly string[] = [
  ...new Set([ErrorCode, CommerceErrorCode, SettlementErrorCode, SfuErrorCode].flatMap((codes) => Object.values(codes) as string[])),
].sort();

/** The one error body as a schema (the OpenAPI document's `Error`; `code` is one of ERROR_CODES). */
export const ErrorBodySchema = apiSchema(
  'Error',
  z.object({
    error: z.object({
      code: apiSchema('ErrorCode', z.enum(ERROR_CODES as [string, ...string[]]).describe('A stable code from protocol/codes.ts: clients switch on it, never on the message.')),
      message: z.string().describe('For people; may change.'),
      details: z.unknown().optional().describe('Structured detail: validation issues, or the BuyResult of a refused checkout.'),
    }).strict(),
  }).strict().describe('The one error shape of every route.'),
);

/** An HTTP error answer (an ApiResponse of HttpRouter; declared here so the two files do not import each other). */
export interface HttpErrorResponse {
  status: number;
  body: HttpErrorBody;
  headers?: Record<string, string>;
}

/**
 * The one adapter from a thrown error to an HTTP answer, used for every route (and by the
 * gateway for its own 404/405/413): FlashcastError → its status and code; ZodError → 400
 * INVALID_ARGUMENT with the issues in `details`; TypeError → 400 INVALID_ARGUMENT; anything
 * else → 500 INTERNAL, logged (its message is not sent).
 */
export function errorResponse(error: unknown, context: { path?: string } = {}): HttpErrorResponse {
  if (error instanceof FlashcastError) {
    const body: HttpErrorBody = { error: { code: error.code, message: error.message } };
    if (error.details !== undefined) body.error.details = error.details;
    const headers = error.retryAfterMs > 0 ? { 'retry-after': String(Math.ceil(error.retryAfterMs / 1000)) } : undefined;
    return { status: error.status, body, ...(headers ? { headers } : {}) };
  }
  if (error instanceof ZodError) {
    const issues = error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.'), message: i.message }));
    const message = issues.map((i) => `${i.path || 'body'}: ${i.message}`).join('; ') || 'invalid input';
    return { status: 400, body: { error: { code: ErrorCode.InvalidArgument, message, details: { issues } } } satisfies HttpErrorBody };
  }
  if (error instanceof TypeError) {
    return { status: 400, body: { error: { code: ErrorCode.InvalidArgument, message: error.message } } satisfies HttpErrorBody };
  }
  log.error({ err: error, path: context.path }, 'HTTP handler failed');
  return { status: 500, body: { error: { code: ErrorCode.Internal, message: 'internal error' } } satisfies HttpErrorBody };
}
