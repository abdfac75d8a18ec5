import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, expect, inject, it } from 'vitest';

describe('the run’s self-signed certificate', () => {
  it('is trusted by this test process through NODE_EXTRA_CA_CERTS (no per-client CA option)', async () => {
    const server = createServer({ cert: inject('tlsCert'), key: inject('tlsKey') }, (_req, res) =>
      res.end('ok'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const response = await fetch(`https://127.0.0.1:${port}/`);
      expect(await response.text()).toBe('ok');
    } finally {
      server.close();
    }
  });
});
