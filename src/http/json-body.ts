import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

/** The admin API's requests are a few ids at most: anything bigger is refused before it is buffered. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * A body a few KiB long arrives in milliseconds: one still incomplete after this (a Content-Length
 * larger than what is sent, a client trickling bytes) is refused instead of holding the request open
 * until the server's own 5-minute request timeout.
 */
export const BODY_TIMEOUT_MS = 10_000;

export type BodyErrorStatus = 400 | 408 | 413 | 415;

export class BodyError extends Error {
  override readonly name = 'BodyError';
  readonly status: BodyErrorStatus;

  constructor(status: BodyErrorStatus, message: string) {
    super(message);
    this.status = status;
  }
}

/** What `readJsonBody` reads: an incoming request, or any stream with its headers (tests). */
export type BodySource = Pick<IncomingMessage, 'headers'> & Readable;

export interface ReadJsonBodyOptions {
  readonly timeoutMs?: number;
}

/**
 * Reads a JSON body of at most `MAX_BODY_BYTES`; an empty body is `{}`. A body must be declared
 * `application/json` (or `…+json`). Every failure is a `BodyError` with the status to answer; past one
 * the rest of the body is discarded as it arrives, never buffered.
 */
export async function readJsonBody(req: BodySource, options: ReadJsonBodyOptions = {}): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? '0');
  const hasBody = req.headers['transfer-encoding'] !== undefined || declared > 0;
  if (hasBody && !isJsonMediaType(req.headers['content-type'])) {
    throw new BodyError(415, 'send the body as application/json');
  }
  if (declared > MAX_BODY_BYTES) throw new BodyError(413, `the body exceeds ${MAX_BODY_BYTES} bytes`);
  const text = (await readAll(req, options.timeoutMs ?? BODY_TIMEOUT_MS)).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // V8's message quotes the input, which is not ours to echo: say what is wrong, not what was sent.
    throw new BodyError(400, 'the body is not valid JSON');
  }
}

function isJsonMediaType(header: string | undefined): boolean {
  const type = (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * The body, counted as it arrives (a chunked body has no declared length). Listeners rather than
 * `for await`: leaving that loop early destroys the request, and with it the socket the refusal must
 * be written to.
 */
function readAll(req: BodySource, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error: BodyError | undefined) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
      if (error === undefined) {
        resolve(Buffer.concat(chunks));
        return;
      }
      chunks.length = 0;
      // Keep the stream flowing with nobody listening: the rest is dropped, not buffered.
      req.on('error', () => undefined);
      req.resume();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) finish(new BodyError(413, `the body exceeds ${MAX_BODY_BYTES} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = () => finish(undefined);
    // A client that hangs up mid-body is not a server error: nobody is left to answer.
    const onAbort = () => finish(new BodyError(400, 'the request ended before its body was complete'));
    const timer = setTimeout(
      () => finish(new BodyError(408, `the body did not arrive within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onAbort);
  });
}
