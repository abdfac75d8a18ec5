import type { Logger } from 'pino';
import type { QualysConfig } from '../config/types.ts';
import { QualysConnectorClient, type QualysClientOptions } from './connector-api-client.ts';

/** The client as the configuration describes it; hooks (metrics, pacing) are optional extras. */
export function createQualysClient(
  config: QualysConfig,
  logger: Logger,
  extras: Pick<QualysClientOptions, 'onRateLimit' | 'onRequest' | 'dispatcher' | 'beforeRequest'> = {},
): QualysConnectorClient {
  return new QualysConnectorClient({
    gatewayUrl: config.gatewayUrl,
    username: config.username,
    password: config.password,
    http: config.http,
    logger: logger.child({ component: 'qualys' }),
    ...extras,
  });
}
