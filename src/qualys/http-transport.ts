import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';
import type { QualysHttpOptions } from '../config/types.ts';
import { sleep } from '../util/sleep.ts';
import { QualysNetworkError } from './errors/qualys-network-error.ts';
import { QualysTimeoutError } from './errors/qualys-timeout-error.ts';
import type { HeaderBag } from '../http/headers.ts';
import type { QualysOperation } from './types.ts';

export interface TransportRequest {
  readonly operation: QualysOperation;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string | undefined;
}

export interface TransportResponse {
  readonly status: number;
  readonly headers: HeaderBag;
  readonly text: string;
}

/** Responses larger than this are not read: no Qualys answer comes near it. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Errors that prove the request never left this process (safe to repeat whatever the method). */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * One HTTP exchange with the gateway, with our timeouts, mapping undici's failures onto typed errors.
 * It does not retry: the client decides that with the retry policy.
 */
export class HttpTransport {
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #options: QualysHttpOptions;

  readonly #beforeSend: ((operation: QualysOperation) => Promise<void>) | undefined;

  constructor(
    options: QualysHttpOptions,
    dispatcher?: Dispatcher,
    beforeSend?: (operation: QualysOperation) => Promise<void>,
  ) {
    this.#options = options;
    this.#beforeSend = beforeSend;
    this.#ownsDispatcher = dispatcher === undefined;
    this.#dispatcher =
      dispatcher ??
      new Agent({
        connect: { timeout: options.connectTimeoutMs },
        headersTimeout: options.headersTimeoutMs,
        bodyTimeout: options.bodyTimeoutMs,
        connections: 8,
      });
  }

  async send(req: TransportRequest): Promise<TransportResponse> {
    await this.#beforeSend?.(req.operation);
    try {
      const response = await request(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        dispatcher: this.#dispatcher,
        headersTimeout: this.#options.headersTimeoutMs,
        bodyTimeout: this.#options.bodyTimeoutMs,
      });
      const declared = Number(response.headers['content-length'] ?? '0');
      if (declared > MAX_BODY_BYTES) {
        await response.body.dump();
        return { status: response.statusCode, headers: response.headers, text: '' };
      }
      const text = await readBounded(response.body);
      return { status: response.statusCode, headers: response.headers, text: text ?? '' };
    } catch (error) {
      throw mapTransportError(req.operation, error);
    }
  }

  async close(): Promise<void> {
    if (!this.#ownsDispatcher) return;
    // close() waits for requests in flight (up to a headers timeout each); a stopping worker cannot.
    const closed = await Promise.race([
      this.#dispatcher.close().then(() => true),
      sleep(1_000).then(() => false),
    ]);
    if (!closed) await this.#dispatcher.destroy();
  }
}

/**
 * The body as text, or `undefined` once it passes `MAX_BODY_BYTES`: a chunked answer declares no
 * length, so it is counted as it arrives rather than buffered whole whatever its size.
 */
async function readBounded(body: Dispatcher.ResponseData['body']): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function mapTransportError(operation: QualysOperation, error: unknown): Error {
  if (error instanceof undiciErrors.ConnectTimeoutError) return new QualysTimeoutError(operation, 'connect');
  if (error instanceof undiciErrors.HeadersTimeoutError) return new QualysTimeoutError(operation, 'headers');
  if (error instanceof undiciErrors.BodyTimeoutError) return new QualysTimeoutError(operation, 'body');
  const code = errorCode(error);
  // The cause is left out on purpose: undici errors can carry the socket and request options.
  return new QualysNetworkError(operation, code, !NOT_SENT_CODES.has(code));
}

/** The most telling `code` in the error's cause chain: a not-sent code if any, else the first one. */
function errorCode(error: unknown): string {
  let first: string | undefined;
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (NOT_SENT_CODES.has(code)) return code;
      first ??= code;
    }
    current = current.cause;
  }
  return first ?? 'UNKNOWN';
}
