// The tests start their Redis as the demo does.
export { freePort, startRedisServer, type RedisServerHandle } from '../../src/demo/redis-server.ts';
