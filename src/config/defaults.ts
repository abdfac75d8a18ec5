/**
 * Every default in one place, as the operator would write it in the YAML file. Durations are strings
 * here and milliseconds (`…Ms`) once loaded.
 */
export const DEFAULTS = {
  qualys: {
    http: {
      connectTimeout: '10s',
      // undici waits 300 s by default; a hung gateway must fail well inside a job's lock time.
      headersTimeout: '30s',
      bodyTimeout: '30s',
      maxAttempts: 4,
      retryBaseDelay: '500ms',
      retryMaxDelay: '20s',
      // Longer waits are handed to the queue (which pauses) instead of holding a worker slot.
      maxThrottleWait: '30s',
      // Qualys tokens live 4 h; refresh a little early so no call starts with a token about to die.
      tokenRefreshBeforeExpiry: '5m',
    },
  },
  azure: {
    // New secrets take from seconds to ~10 minutes to be accepted by Entra ID.
    readinessTimeout: '15m',
    readinessPollInterval: '2s',
    graph: {
      requestTimeout: '30s',
      maxAttempts: 4,
      retryBaseDelay: '500ms',
      retryMaxDelay: '20s',
      // Graph's Retry-After is usually a few seconds; longer waits pause the queue instead.
      maxThrottleWait: '30s',
    },
  },
  rotation: {
    interval: '30d',
    rotateBeforeExpiry: '14d',
    secretLifetime: '90d',
    gracePeriod: '24h',
    keepPrevious: 1,
    // Pushes that become ready within this window share one update, one sync and one list call. 5 s, not
    // less: at ~1,400 rotations a minute (one replica, concurrency 256) a 2 s window gathered ~50 targets a
    // round and a 5 s one ~100, halving the Qualys calls of the scarcest limit for 3 s more per rotation.
    batchWindow: '5s',
    batchMaxPairs: 200,
    // Qualys' list reflects a sync after a moment: list this many times, this far apart, before
    // calling a pair missing.
    verifyAttempts: 4,
    verifyDelay: '5s',
    // A rotation holds its app's lock this long, renewed while it works; after a crash the next run
    // waits at most this long for it.
    lockTtl: '60s',
    schedule: '0 * * * *',
    timeZone: 'UTC',
  },
  worker: {
    // Rotations run at once per replica; pushes of concurrent rotations share Qualys calls.
    concurrency: 16,
    attempts: 6,
    // Exponential backoff with full jitter between attempts of one rotation.
    backoffBase: '30s',
    backoffMax: '30m',
    // On SIGTERM, active rotations get this long to finish or reach a checkpoint.
    // With 3 s more to reach a checkpoint, this stays inside Kubernetes' default 30 s grace period.
    shutdownTimeout: '20s',
    deadLetterRetention: '30d',
    // A job whose worker died (SIGKILL, OOM) is picked up again once its lock has expired and the
    // stall checker, which runs every stalledInterval, has seen it twice: within about lockDuration +
    // 2 × stalledInterval.
    lockDuration: '30s',
    stalledInterval: '30s',
    // Stalls a job may have before it is dead-lettered (ROT_ERR_STALLED). Rotations are checkpointed,
    // so rerunning one is safe; BullMQ's default (1) would give up after a second crash.
    maxStalledCount: 5,
  },
  http: { host: '0.0.0.0', port: 8080 },
  redis: {
    url: 'redis://127.0.0.1:6379',
    // A hash tag keeps every key of the rotator in one Redis Cluster slot, as BullMQ requires.
    keyPrefix: '{rotator}',
  },
} as const;
