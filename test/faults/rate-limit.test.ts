/** The fault proxy's rate limit: ECS's token bucket per account and region, answered as AWS throttles. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { startFaultProxy, type FaultProxy, type RateLimitHandle } from '../../src/devstack/fault-proxy.js';

describe('a rate limit on the fault proxy', () => {
  let target: Server;
  let proxy: FaultProxy;
  let limit: RateLimitHandle;
  let clock = 0;

  const ecs = (region: string) =>
    new ECSClient({
      region,
      endpoint: proxy.url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  const read = (client: ECSClient) =>
    client.send(new DescribeServicesCommand({ cluster: 'c', services: ['s'] })).then(
      () => 'ok',
      (err: Error) => err.name,
    );

  beforeAll(async () => {
    // Stands in for moto: every call answers an empty JSON object.
    target = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end('{}'));
    });
    await new Promise<void>((res) => target.listen(0, '127.0.0.1', res));
    proxy = await startFaultProxy({ targetPort: (target.address() as AddressInfo).port });
    limit = proxy.addRateLimit({
      service: 'ecs',
      operation: /^(Describe|List)/,
      burst: 3,
      refillPerSecond: 2,
      now: () => clock,
    });
  });

  afterAll(async () => {
    await proxy.stop();
    await new Promise<void>((res) => target.close(() => res()));
  });

  it('lets a burst through, then answers ThrottlingException until tokens refill, per region, reads only', async () => {
    const east = ecs('us-east-1');
    const west = ecs('eu-west-1');
    try {
      const burst = [await read(east), await read(east), await read(east), await read(east)];
      expect(burst).toEqual(['ok', 'ok', 'ok', 'ThrottlingException']);
      // Another region has its own bucket; a write is not a read.
      expect(await read(west)).toBe('ok');
      await expect(east.send(new UpdateServiceCommand({ cluster: 'c', service: 's' }))).resolves.toBeDefined();
      // Half a second at 2 a second puts one token back.
      clock += 500;
      expect([await read(east), await read(east)]).toEqual(['ok', 'ThrottlingException']);
      expect(limit.throttled).toBe(2);
      expect(limit.allowed).toBe(5);
      expect(proxy.seen.filter((r) => r.throttled).map((r) => r.region)).toEqual(['us-east-1', 'us-east-1']);
    } finally {
      east.destroy();
      west.destroy();
    }
  });
});
