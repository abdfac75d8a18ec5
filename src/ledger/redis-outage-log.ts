import type { Cluster, Redis } from 'ioredis';

/**
 * While Redis is unreachable, ioredis raises an error at every reconnection attempt (every 2 s at
 * most, per connection) and BullMQ forwards each to every queue and worker. Logging those would
 * flood the log, so the worker logs the outage instead: one line when it starts (with the reason),
 * one reminder per `remindEveryMs` while it lasts, one line when Redis is back.
 */

export interface OutageLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface RedisWatch {
  /** For /readyz: true while the connection is ready, otherwise why not (naming Redis). */
  readiness(): true | string;
  /** Stops watching: the connection's own close at shutdown is not an outage. */
  stop(): void;
}

export interface RedisWatchOptions {
  /** While Redis stays unreachable, it is logged again this often. Default 60 s. */
  readonly remindEveryMs?: number;
  /**
   * A connection that closes without an error (a server shut down cleanly) is logged once the first
   * reconnection attempt says why, or after this long. Default 2 s.
   */
  readonly reasonWaitMs?: number;
  readonly now?: () => number;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);

const CONNECTION_MESSAGES =
  /Connection is closed|Stream isn't writeable|None of (the )?startup nodes is available|Failed to refresh slots cache/i;

/** An error that only says the connection to Redis is down or broke (not a refused command). */
export function isRedisConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && CONNECTION_CODES.has(code)) return true;
  return CONNECTION_MESSAGES.test(error.message);
}

interface Outage {
  readonly since: number;
  /** The last error seen since it began. */
  reason: string | undefined;
  logged: boolean;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Watches the connection the worker shares (queues, ledger, locks) and logs its outages, at
 * start-up (Redis not there yet) as later. Timers are unref'd: they never keep the process alive.
 */
export function watchRedis(
  redis: Redis | Cluster,
  logger: OutageLogger,
  options: RedisWatchOptions = {},
): RedisWatch {
  const remindEveryMs = options.remindEveryMs ?? 60_000;
  const reasonWaitMs = options.reasonWaitMs ?? 2_000;
  const now = options.now ?? Date.now;
  let everReady = redis.status === 'ready';
  // Until the first `ready`, the start-up counts as an outage that is logged only on an error.
  let outage: Outage | undefined = everReady
    ? undefined
    : { since: now(), reason: undefined, logged: false, timer: undefined };

  const arm = (current: Outage, delayMs: number, fire: () => void) => {
    clearTimeout(current.timer);
    current.timer = setTimeout(fire, delayMs);
    current.timer.unref();
  };
  const seconds = (current: Outage) => Math.round((now() - current.since) / 100) / 10;

  const logDown = (current: Outage) => {
    current.logged = true;
    const reason = current.reason ?? 'the connection closed';
    logger.error(
      { redis: 'unreachable', reason, since: new Date(current.since).toISOString() },
      everReady
        ? `Redis connection lost (${reason}); retrying until it is back, queued work waits for it`
        : `Redis is unreachable (${reason}); the worker keeps trying and starts when it answers`,
    );
    const remind = () => {
      if (outage !== current) return;
      logger.error(
        { redis: 'unreachable', reason: current.reason ?? reason, downForSeconds: seconds(current) },
        `Redis still unreachable after ${Math.round(seconds(current))} s; still retrying`,
      );
      arm(current, remindEveryMs, remind);
    };
    arm(current, remindEveryMs, remind);
  };

  const onError = (error: unknown) => {
    const reason = error instanceof Error ? error.message : String(error);
    if (outage === undefined) {
      // Ready until now: only an error about the connection starts an outage.
      if (!isRedisConnectionError(error)) return;
      outage = { since: now(), reason, logged: false, timer: undefined };
    }
    outage.reason = reason;
    if (!outage.logged) logDown(outage);
  };
  const onClose = () => {
    if (outage !== undefined || !everReady) return;
    const current: Outage = { since: now(), reason: undefined, logged: false, timer: undefined };
    outage = current;
    // A clean close gives no reason: the first reconnection attempt will, or say so after a moment.
    arm(current, reasonWaitMs, () => {
      if (outage === current && !current.logged) logDown(current);
    });
  };
  const onReady = () => {
    const ended = outage;
    outage = undefined;
    const wasReady = everReady;
    everReady = true;
    if (ended === undefined) return;
    clearTimeout(ended.timer);
    if (ended.logged) {
      logger.info(
        { redis: 'ready', downForSeconds: seconds(ended), reason: ended.reason },
        `Redis reachable again after ${seconds(ended)} s`,
      );
    } else if (wasReady) {
      logger.warn(
        { redis: 'ready', downForSeconds: seconds(ended) },
        'Redis connection dropped and was re-established at once',
      );
    }
  };

  redis.on('error', onError);
  redis.on('close', onClose);
  redis.on('ready', onReady);
  return {
    readiness() {
      if (redis.status === 'ready') return true;
      const reason = outage?.reason;
      return `redis is ${redis.status}${reason === undefined ? '' : `: ${reason}`}`;
    },
    stop() {
      clearTimeout(outage?.timer);
      outage = undefined;
      redis.off('error', onError);
      redis.off('close', onClose);
      redis.off('ready', onReady);
    },
  };
}
