/**
 * One reader of ECS for the whole worker, shared by every deploy it follows. Reads asked for at about the same time
 * are batched (DescribeServiceDeployments takes up to 20 ARNs, DescribeServices up to 10 services of one cluster),
 * and every call waits for a token from a bucket per region, so a thousand deploys waiting at once stay within the
 * account's read budget instead of each polling on its own.
 */
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  type ECSClient,
  type Service,
  type ServiceDeployment,
} from '@aws-sdk/client-ecs';
import { errorMessage } from '../shared/errors.js';

export const SERVICE_DEPLOYMENTS_PER_CALL = 20;
export const SERVICES_PER_CALL = 10;
/** How long a read waits for others to share its call. */
const GATHER_MS = 25;

/** How long an ordinary read may be passed over by urgent ones before it gets every other token. */
const MAX_PASSED_OVER_MS = 2_000;

/**
 * A token bucket: `ratePerSecond` tokens a second, at most `burst` saved up. Urgent callers (the waits, whose
 * detection latency depends on it) go before ordinary ones; once an ordinary one has waited MAX_PASSED_OVER_MS,
 * the two take turns, so neither starves when the budget is short.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly urgent: (() => void)[] = [];
  private readonly ordinary: { since: number; resolve: () => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private urgentLast = false;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Resolves when a token is taken; callers of each kind are served in order. */
  take(opts: { urgent?: boolean } = {}): Promise<void> {
    return new Promise((resolve) => {
      if (opts.urgent) this.urgent.push(resolve);
      else this.ordinary.push({ since: this.now(), resolve });
      this.drain();
    });
  }

  private next(now: number): (() => void) | undefined {
    const oldest = this.ordinary[0];
    const turn = oldest !== undefined && now - oldest.since >= MAX_PASSED_OVER_MS && this.urgentLast;
    const urgent = turn ? undefined : this.urgent.shift();
    this.urgentLast = urgent !== undefined;
    return urgent ?? this.ordinary.shift()?.resolve;
  }

  private drain(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
    while (this.tokens >= 1) {
      const resolve = this.next(now);
      if (!resolve) break;
      this.tokens -= 1;
      resolve();
    }
    if (this.urgent.length + this.ordinary.length > 0 && this.timer === undefined) {
      const wait = Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, wait);
      this.timer.unref();
    }
  }
}

interface Pending<V> {
  key: string;
  resolve: (value: V | undefined) => void;
  reject: (err: unknown) => void;
}

/**
 * Gathers reads for a few milliseconds into batches of at most `size` keys that share a group (a region, or a
 * region and cluster), and answers each caller from its batch's call. A batch is cut only once `ready` (the budget)
 * lets its call go, so reads asked for while it waits join it: the busier the budget, the fuller the calls.
 */
class Batcher<V> {
  private readonly groups = new Map<
    string,
    { pending: Pending<V>[]; timer: NodeJS.Timeout | undefined; flushing: boolean }
  >();

  constructor(
    private readonly size: number,
    private readonly ready: (group: string) => Promise<void>,
    private readonly call: (group: string, keys: string[]) => Promise<Map<string, V>>,
  ) {}

  read(group: string, key: string): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      let g = this.groups.get(group);
      if (!g) {
        g = { pending: [], timer: undefined, flushing: false };
        this.groups.set(group, g);
      }
      g.pending.push({ key, resolve, reject });
      if (g.flushing) return;
      if (g.pending.length >= this.size) void this.flush(group);
      else g.timer ??= setTimeout(() => void this.flush(group), GATHER_MS);
    });
  }

  private async flush(group: string): Promise<void> {
    const g = this.groups.get(group);
    if (!g || g.flushing) return;
    if (g.timer) clearTimeout(g.timer);
    g.timer = undefined;
    g.flushing = true;
    try {
      while (g.pending.length > 0) {
        try {
          await this.ready(group);
        } catch (err) {
          g.pending.splice(0).forEach((p) => p.reject(err));
          break;
        }
        const batch = g.pending.splice(0, this.size);
        const keys = [...new Set(batch.map((p) => p.key))];
        this.call(group, keys).then(
          (found) => batch.forEach((p) => p.resolve(found.get(p.key))),
          (err: unknown) => batch.forEach((p) => p.reject(err)),
        );
      }
    } finally {
      g.flushing = false;
    }
  }
}

export interface EcsReaderOptions {
  client: (region: string) => ECSClient;
  /** Reads a second per region shared by every deploy on this worker. */
  readsPerSecond: number;
  /** Counts calls, for the benchmarks and the worker's metrics. */
  onCall?: (operation: string, region: string) => void;
}

export interface EcsReader {
  serviceDeployment(region: string, arn: string): Promise<ServiceDeployment | undefined>;
  service(region: string, cluster: string, service: string): Promise<Service | undefined>;
  /** Waits for a token of the region's budget before a read that is not batched; urgent ones go first. */
  budget(region: string, opts?: { urgent?: boolean }): Promise<void>;
}

export function ecsReader(opts: EcsReaderOptions): EcsReader {
  const buckets = new Map<string, TokenBucket>();
  const budget = async (region: string, take: { urgent?: boolean } = {}): Promise<void> => {
    let bucket = buckets.get(region);
    if (!bucket) {
      // A small burst: the budget is shared with whatever else the account's identities read.
      bucket = new TokenBucket(opts.readsPerSecond, Math.max(1, Math.ceil(opts.readsPerSecond)));
      buckets.set(region, bucket);
    }
    await bucket.take(take);
  };
  // The batched reads are the waits': they go before reads of a deploy's start or registration.
  const urgent = (region: string) => budget(region, { urgent: true });

  const deployments = new Batcher<ServiceDeployment>(SERVICE_DEPLOYMENTS_PER_CALL, urgent, async (region, arns) => {
    opts.onCall?.('DescribeServiceDeployments', region);
    const out = await opts
      .client(region)
      .send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: arns }))
      .catch((err: unknown) => {
        throw withContext(err, `describe service deployments in ${region}`);
      });
    return new Map((out.serviceDeployments ?? []).map((d) => [d.serviceDeploymentArn ?? '', d]));
  });

  const services = new Batcher<Service>(
    SERVICES_PER_CALL,
    (group) => urgent(group.split('\n')[0] ?? ''),
    async (group, names) => {
      const [region = '', cluster = ''] = group.split('\n');
      opts.onCall?.('DescribeServices', region);
      const out = await opts.client(region).send(new DescribeServicesCommand({ cluster, services: names }));
      const found = new Map<string, Service>();
      for (const s of out.services ?? []) {
        if (s.serviceName) found.set(s.serviceName, s);
        if (s.serviceArn) found.set(s.serviceArn, s);
      }
      return found;
    },
  );

  return {
    serviceDeployment: (region, arn) => deployments.read(region, arn),
    service: (region, cluster, service) => services.read(`${region}\n${cluster}`, service),
    budget,
  };
}

/** Keeps the AWS error (its name decides retries) and says what was being read. */
function withContext(err: unknown, what: string): unknown {
  if (err instanceof Error) {
    err.message = `failed to ${what}: ${errorMessage(err)}`;
    return err;
  }
  return new Error(`failed to ${what}: ${errorMessage(err)}`);
}
