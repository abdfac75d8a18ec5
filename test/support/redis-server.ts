// The tests start their Redis as the demo does.
export {
  freePort,
  startRedisServer,
  type RedisServerHandle,
  type RedisServerOptions,
} from '../../src/demo/redis-server.ts';
