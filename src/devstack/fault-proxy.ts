/**
 * A fault-injecting HTTP proxy, put in front of moto (AWS) or the registry over real HTTP. Requests are told apart by
 * the SigV4 credential scope (service) and the X-Amz-Target header (operation), or by method and path for the
 * registry. Rules answer as AWS would (throttling, 5xx, AccessDenied, validation), reset the connection, slow the
 * request down, or hold the real answer back so a worker can be killed after the effect and before the reply.
 * Rate limits enforce a token bucket per access key and region, as AWS throttles an account's calls per region.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RequestInfo {
  /** "ecs", "ecr" (from the SigV4 scope), or "registry" for anything unsigned. */
  service: string;
  /** "UpdateService" (from X-Amz-Target), or "<METHOD> <path>" for the registry. */
  operation: string;
  method: string;
  path: string;
  /** From the SigV4 scope; absent for the registry. */
  region?: string;
  accessKeyId?: string;
}

/** A request as the proxy saw it: when it arrived, and whether a rate limit refused it. */
export interface SeenRequest extends RequestInfo {
  at: number;
  throttled: boolean;
}

export type Fault =
  /** 400 ThrottlingException "Rate exceeded", as ECS and ECR answer it. */
  | { kind: 'throttle' }
  /** 500 ServerException or 503 ServiceUnavailableException (AWS), or the status with a registry error body. */
  | { kind: 'status'; status: number }
  /** Destroys the connection without an answer. */
  | { kind: 'reset' }
  /** Waits, then forwards. */
  | { kind: 'slow'; ms: number }
  /** Forwards at once, then holds the real answer back: the effect happened, the caller does not know yet. */
  | { kind: 'hold'; ms: number }
  | { kind: 'accessDenied' }
  | { kind: 'validation'; message: string }
  /** Forwards, and rewrites the JSON answer (e.g. an ECR token that the registry will refuse). */
  | { kind: 'rewrite'; body: (json: Record<string, unknown>) => Record<string, unknown> };

export interface FaultRule {
  service?: string;
  operation?: string | RegExp;
  method?: string;
  path?: RegExp;
  fault: Fault;
  /** Let this many matching requests through first. */
  skip?: number;
  /** Apply to at most this many requests; absent: to all. */
  times?: number;
}

/**
 * A token bucket per (access key, region) over the matching operations: `burst` tokens at most, `refillPerSecond`
 * added back each second. A request finding it empty gets ThrottlingException "Rate exceeded", as AWS answers.
 */
export interface RateLimit {
  service: string;
  operation: RegExp;
  burst: number;
  refillPerSecond: number;
  /** The clock, for tests; default Date.now. */
  now?: () => number;
}

export interface RateLimitHandle {
  /** Requests the limit let through. */
  readonly allowed: number;
  /** Requests it refused with ThrottlingException. */
  readonly throttled: number;
  remove(): void;
}

export interface RuleHandle {
  /** How many requests the rule has matched (skipped ones included). */
  readonly matched: number;
  /** How many requests it has faulted. */
  readonly injected: number;
  remove(): void;
}

export interface FaultProxy {
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT */
  address: string;
  port: number;
  addRule(rule: FaultRule): RuleHandle;
  clearRules(): void;
  /** Enforces a token bucket; checked before the rules. */
  addRateLimit(limit: RateLimit): RateLimitHandle;
  /** Requests seen for service:operation, e.g. count('ecs', 'UpdateService'). */
  count(service: string, operation: string): number;
  /** Faults injected so far, by kind, over the proxy's life. */
  injected(): Record<string, number>;
  /** Every request seen, in order. */
  readonly seen: SeenRequest[];
  stop(): Promise<void>;
}

interface LiveRule extends FaultRule {
  matched: number;
  injected: number;
}

export function describeRequest(req: IncomingMessage): RequestInfo {
  const method = req.method ?? 'GET';
  const path = req.url ?? '/';
  const auth = req.headers.authorization ?? '';
  const scope = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
  if (!scope?.[3]) return { service: 'registry', operation: `${method} ${path.split('?')[0]}`, method, path };
  const target = String(req.headers['x-amz-target'] ?? '');
  const info: RequestInfo = { service: scope[3], operation: target.split('.').pop() ?? '', method, path };
  if (scope[1]) info.accessKeyId = scope[1];
  if (scope[2]) info.region = scope[2];
  return info;
}

/** A non-blocking token bucket: `take` says whether a token was there, and takes it. */
export class Bucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly burst: number,
    private readonly refillPerSecond: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(now - this.last, 0) / 1000) * this.refillPerSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

interface LiveLimit extends RateLimit {
  buckets: Map<string, Bucket>;
  allowed: number;
  throttled: number;
}

/** False when a rate limit that covers the request has no token left for its access key and region. */
function admit(limits: LiveLimit[], info: RequestInfo): boolean {
  for (const limit of limits) {
    if (limit.service !== info.service || !limit.operation.test(info.operation)) continue;
    const now = (limit.now ?? Date.now)();
    const key = `${info.accessKeyId ?? ''}/${info.region ?? ''}`;
    let bucket = limit.buckets.get(key);
    if (!bucket) {
      bucket = new Bucket(limit.burst, limit.refillPerSecond, now);
      limit.buckets.set(key, bucket);
    }
    if (!bucket.take(now)) {
      limit.throttled += 1;
      return false;
    }
    limit.allowed += 1;
  }
  return true;
}

function matches(rule: FaultRule, info: RequestInfo): boolean {
  if (rule.service !== undefined && rule.service !== info.service) return false;
  if (rule.method !== undefined && rule.method !== info.method) return false;
  if (rule.path !== undefined && !rule.path.test(info.path)) return false;
  if (rule.operation instanceof RegExp) return rule.operation.test(info.operation);
  if (rule.operation !== undefined) return rule.operation === info.operation;
  return true;
}

const AWS_ERRORS = {
  throttle: { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' },
  500: { status: 500, type: 'ServerException', message: 'Service encountered an internal error.' },
  502: { status: 502, type: 'ServerException', message: 'Bad gateway.' },
  503: { status: 503, type: 'ServiceUnavailableException', message: 'Service is temporarily unavailable.' },
} as const;

function awsError(res: ServerResponse, status: number, type: string, message: string): void {
  const body = JSON.stringify({ __type: type, message });
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-errortype': type,
    'x-amzn-requestid': crypto.randomUUID(),
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Starts the proxy on a free port, forwarding to http://127.0.0.1:targetPort. */
export async function startFaultProxy(opts: { targetPort: number; port?: number }): Promise<FaultProxy> {
  const rules: LiveRule[] = [];
  const limits: LiveLimit[] = [];
  const counts = new Map<string, number>();
  const injected: Record<string, number> = {};
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();

  const pick = (info: RequestInfo): LiveRule | undefined => {
    for (const rule of rules) {
      if (!matches(rule, info)) continue;
      rule.matched += 1;
      if (rule.matched <= (rule.skip ?? 0)) continue;
      if (rule.times !== undefined && rule.injected >= rule.times) continue;
      rule.injected += 1;
      return rule;
    }
    return undefined;
  };

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    answer?: (status: number, headers: IncomingMessage['headers'], data: Buffer) => Promise<void> | void,
  ): void => {
    const upstream = httpRequest(
      { host: '127.0.0.1', port: opts.targetPort, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        if (!answer) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => void answer(up.statusCode ?? 502, up.headers, Buffer.concat(chunks)));
      },
    );
    upstream.on('error', () => {
      // The target is down: say so as a gateway would.
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    upstream.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const info = describeRequest(req);
      const key = `${info.service}:${info.operation}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (!admit(limits, info)) {
        seen.push({ ...info, at: Date.now(), throttled: true });
        injected.rateLimit = (injected.rateLimit ?? 0) + 1;
        const e = AWS_ERRORS.throttle;
        return awsError(res, e.status, e.type, e.message);
      }
      seen.push({ ...info, at: Date.now(), throttled: false });
      const rule = pick(info);
      if (!rule) return forward(req, res, body);
      const fault = rule.fault;
      const kind = fault.kind === 'status' ? `status${fault.status}` : fault.kind;
      injected[kind] = (injected[kind] ?? 0) + 1;
      const aws = info.service !== 'registry';
      switch (fault.kind) {
        case 'throttle':
        case 'status': {
          const status = fault.kind === 'throttle' ? 429 : fault.status;
          if (aws) {
            const e = fault.kind === 'throttle' ? AWS_ERRORS.throttle : (AWS_ERRORS[status as 500] ?? AWS_ERRORS[500]);
            return awsError(res, e.status, e.type, e.message);
          }
          // As docker-registry answers: {"errors":[{"code","message"}]}.
          const code = { 401: 'UNAUTHORIZED', 403: 'DENIED', 429: 'TOOMANYREQUESTS' }[status] ?? 'UNKNOWN';
          const body = JSON.stringify({ errors: [{ code, message: `injected ${status}` }] });
          res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
          return void res.end(body);
        }
        case 'reset':
          return void req.socket.destroy();
        case 'slow':
          return void setTimeout(() => forward(req, res, body), fault.ms);
        case 'hold':
          return forward(req, res, body, (status, headers, data) => {
            setTimeout(() => {
              res.writeHead(status, headers);
              res.end(data);
            }, fault.ms);
          });
        case 'accessDenied':
          return awsError(
            res,
            400,
            'AccessDeniedException',
            `User: arn:aws:iam::123456789012:user/deployer is not authorized to perform: ${info.service}:${info.operation} because no identity-based policy allows the ${info.service}:${info.operation} action`,
          );
        case 'validation':
          return awsError(res, 400, 'ValidationException', fault.message);
        case 'rewrite':
          return forward(req, res, body, (status, headers, data) => {
            const out = Buffer.from(
              JSON.stringify(fault.body(JSON.parse(data.toString('utf8')) as Record<string, unknown>)),
            );
            res.writeHead(status, { ...headers, 'content-length': String(out.length) });
            res.end(out);
          });
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((res) => server.listen(opts.port ?? 0, '127.0.0.1', res));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    port,
    seen,
    addRule(rule) {
      const live: LiveRule = { ...rule, matched: 0, injected: 0 };
      rules.push(live);
      return {
        get matched() {
          return live.matched;
        },
        get injected() {
          return live.injected;
        },
        remove() {
          const i = rules.indexOf(live);
          if (i >= 0) rules.splice(i, 1);
        },
      };
    },
    clearRules() {
      rules.length = 0;
    },
    addRateLimit(limit) {
      const live: LiveLimit = { ...limit, buckets: new Map(), allowed: 0, throttled: 0 };
      limits.push(live);
      return {
        get allowed() {
          return live.allowed;
        },
        get throttled() {
          return live.throttled;
        },
        remove() {
          const i = limits.indexOf(live);
          if (i >= 0) limits.splice(i, 1);
        },
      };
    },
    count: (service, operation) => counts.get(`${service}:${operation}`) ?? 0,
    injected: () => ({ ...injected }),
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}
