/** The worker's shared ECS reader and budget: batched reads, urgent waits first, every read spends a token. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeTaskDefinitionCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { awsClients } from '../../src/activities/clients.js';
import { TokenBucket, ecsReader } from '../../src/activities/ecs-reader.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the token bucket', () => {
  it('serves urgent callers before ordinary ones that have not waited long', async () => {
    const bucket = new TokenBucket(10, 1);
    await bucket.take();
    const order: string[] = [];
    const waits = [
      bucket.take().then(() => order.push('ordinary')),
      bucket.take({ urgent: true }).then(() => order.push('urgent 1')),
      bucket.take({ urgent: true }).then(() => order.push('urgent 2')),
    ];
    await Promise.all(waits);
    expect(order).toEqual(['urgent 1', 'urgent 2', 'ordinary']);
  });

  it('gives an ordinary caller every other token once urgent ones have passed it over for two seconds', async () => {
    let clock = 0;
    const bucket = new TokenBucket(1, 1, () => clock);
    await bucket.take();
    const order: string[] = [];
    const ordinary = bucket.take().then(() => order.push('ordinary'));
    clock = 2_500;
    const urgent = [1, 2].map((n) => bucket.take({ urgent: true }).then(() => order.push(`urgent ${n}`)));
    // One token has come back by the clock, and the bucket refills by it: one more each time it moves on a second.
    await urgent[0];
    clock = 3_500;
    await ordinary;
    clock = 4_500;
    await urgent[1];
    expect(order).toEqual(['urgent 1', 'ordinary', 'urgent 2']);
  });
});

describe('the shared reader against an HTTP endpoint', () => {
  let server: Server;
  let endpoint: string;
  const calls: { target: string; arns: string[] }[] = [];
  const saved = { ...process.env };

  beforeAll(async () => {
    // Stands in for ECS: answers each DescribeServiceDeployments with the deployments asked for, anything else {}.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const target =
          String(req.headers['x-amz-target'] ?? '')
            .split('.')
            .pop() ?? '';
        const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { serviceDeploymentArns?: string[] };
        const arns = body.serviceDeploymentArns ?? [];
        calls.push({ target, arns });
        const answer = { serviceDeployments: arns.map((a) => ({ serviceDeploymentArn: a, status: 'IN_PROGRESS' })) };
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
  });

  afterAll(async () => {
    process.env = saved;
    await new Promise<void>((r) => server.close(() => r()));
  });

  beforeEach(() => {
    calls.length = 0;
  });

  it('puts reads asked for while the budget is spent into the call that waits for the next token', async () => {
    const client = new ECSClient({ region: 'us-east-1', endpoint });
    const reader = ecsReader({ client: () => client, readsPerSecond: 1 });
    try {
      const first = reader.serviceDeployment('us-east-1', 'arn:sd/first');
      await sleep(100);
      // The burst of one token went to the first call; these arrive one by one while the next token refills.
      const later: Promise<unknown>[] = [];
      for (let i = 0; i < 10; i++) {
        later.push(reader.serviceDeployment('us-east-1', `arn:sd/${i}`));
        await sleep(40);
      }
      const answers = await Promise.all([first, ...later]);
      expect(answers.every((a) => a !== undefined)).toBe(true);
      expect(calls.map((c) => c.arns.length)).toEqual([1, 10]);
    } finally {
      client.destroy();
    }
  });

  it("spends the worker's budget on every read through its ECS clients, and none on writes", async () => {
    const clients = awsClients({ ecsReadsPerSecond: 2 });
    try {
      const ecs = clients.ecs('us-east-1');
      let started = Date.now();
      for (let i = 0; i < 4; i++) await ecs.send(new UpdateServiceCommand({ cluster: 'c', service: 's' }));
      expect(Date.now() - started).toBeLessThan(900);
      started = Date.now();
      // Two tokens of burst, then one every half second: the fourth read waits about a second.
      for (let i = 0; i < 4; i++) await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'td:1' }));
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(calls.filter((c) => c.target === 'DescribeTaskDefinition')).toHaveLength(4);
    } finally {
      clients.destroy();
    }
  });
});
