/** The worker's settings: read once, refused with a line naming the variable when they are unsafe or malformed. */
import { readWorkerConfig } from '../../src/worker/config.js';

const base = { DEPLOY_SOURCE_REPO: '/srv/app.git' };

describe('readWorkerConfig', () => {
  it('refuses plain HTTP without a local registry, so ECR is never reached over HTTP', () => {
    expect(() => readWorkerConfig({ ...base, DEPLOY_REGISTRY_INSECURE: 'true' }, '/w')).toThrow(
      /^invalid DEPLOY_REGISTRY_INSECURE: plain HTTP is only allowed to a local registry named in DEPLOY_REGISTRY; set DEPLOY_REGISTRY or remove DEPLOY_REGISTRY_INSECURE$/,
    );
  });

  it('keeps at most 100 workflows in memory unless DEPLOY_MAX_CACHED_WORKFLOWS says otherwise, and refuses a fraction', () => {
    expect(readWorkerConfig(base, '/w').maxCachedWorkflows).toBe(100);
    expect(readWorkerConfig({ ...base, DEPLOY_MAX_CACHED_WORKFLOWS: '400' }, '/w').maxCachedWorkflows).toBe(400);
    expect(() => readWorkerConfig({ ...base, DEPLOY_MAX_CACHED_WORKFLOWS: '2.5' }, '/w')).toThrow(
      /DEPLOY_MAX_CACHED_WORKFLOWS.*"2.5" is not a positive whole number/,
    );
  });

  it('allows plain HTTP to the registry named in DEPLOY_REGISTRY', () => {
    const config = readWorkerConfig(
      { ...base, DEPLOY_REGISTRY: '127.0.0.1:5055', DEPLOY_REGISTRY_INSECURE: 'true' },
      '/w',
    );
    expect({ registry: config.registry, insecure: config.registryInsecure }).toEqual({
      registry: '127.0.0.1:5055',
      insecure: true,
    });
  });

  it('uses TLS by default, with or without a registry', () => {
    expect(readWorkerConfig(base, '/w').registryInsecure).toBe(false);
    expect(readWorkerConfig({ ...base, DEPLOY_REGISTRY: 'r.local:5000' }, '/w').registryInsecure).toBe(false);
  });

  it('refuses a DEPLOY_REGISTRY_INSECURE that is neither true nor false, rather than guessing', () => {
    expect(() =>
      readWorkerConfig({ ...base, DEPLOY_REGISTRY: 'r.local', DEPLOY_REGISTRY_INSECURE: 'yes' }, '/w'),
    ).toThrow('invalid DEPLOY_REGISTRY_INSECURE: "yes" is not true or false');
  });
});

const read = (env: Record<string, string>) => readWorkerConfig({ DEPLOY_SOURCE_REPO: '/src', ...env }, '/srv');

describe('the sandbox settings', () => {
  test('default to on, with the network, as the two install-script users', () => {
    expect(read({}).sandbox).toEqual({
      enabled: true,
      network: 'host',
      user: 'deploy-sandbox',
      imageUser: 'deploy-image',
    });
  });

  test('take DEPLOY_SANDBOX, DEPLOY_SANDBOX_NETWORK and the two user names', () => {
    const env = {
      DEPLOY_SANDBOX_NETWORK: 'none',
      DEPLOY_SANDBOX_USER: 'gobuild',
      DEPLOY_SANDBOX_IMAGE_USER: 'imgbuild',
    };
    expect(read(env).sandbox).toEqual({ enabled: true, network: 'none', user: 'gobuild', imageUser: 'imgbuild' });
    expect(read({ DEPLOY_SANDBOX: 'off' }).sandbox.enabled).toBe(false);
  });

  test.each([
    [{ DEPLOY_SANDBOX: 'yes' }, 'invalid DEPLOY_SANDBOX: "yes" is not one of on, off'],
    [{ DEPLOY_SANDBOX_NETWORK: 'off' }, 'invalid DEPLOY_SANDBOX_NETWORK: "off" is not one of host, none'],
    [{ DEPLOY_SANDBOX: 'off', DEPLOY_SANDBOX_NETWORK: 'none' }, 'invalid DEPLOY_SANDBOX_NETWORK: none needs'],
    [{ DEPLOY_SANDBOX_USER: 'root' }, 'invalid DEPLOY_SANDBOX_USER: "root" is not the name of an unprivileged user'],
    [{ DEPLOY_SANDBOX_USER: '--reuid=0' }, 'invalid DEPLOY_SANDBOX_USER'],
    [{ DEPLOY_SANDBOX_IMAGE_USER: 'deploy-sandbox' }, 'invalid DEPLOY_SANDBOX_IMAGE_USER: must differ'],
  ])('refuses %j with a message naming the variable', (env, message) => {
    expect(() => read(env)).toThrow(message);
  });
});

describe('the webhook and telemetry settings', () => {
  const hook = 'https://hooks.slack.com/services/T0/B0/s3cr3tpath';

  test('are off unless set: no webhook, no metrics or health endpoint, INFO logs, the local UI for links', () => {
    const config = read({});
    expect(config.notify).toBeUndefined();
    expect(config.telemetry).toEqual({ logLevel: 'INFO' });
    expect(config.uiUrl).toBe('http://localhost:8233');
  });

  test('take the webhook with its secret, the endpoints, the log level and the UI', () => {
    const config = read({
      DEPLOY_WEBHOOK_URL: hook,
      DEPLOY_WEBHOOK_SECRET: 'x'.repeat(32),
      DEPLOY_METRICS_ADDR: '0.0.0.0:9464',
      DEPLOY_HEALTH_ADDR: '127.0.0.1:9465',
      DEPLOY_LOG_LEVEL: 'debug',
      TEMPORAL_UI_URL: 'https://cloud.temporal.io',
    });
    expect(config.notify).toEqual({ url: hook, secret: 'x'.repeat(32) });
    expect(config.telemetry).toEqual({
      logLevel: 'DEBUG',
      metricsAddress: '0.0.0.0:9464',
      healthAddress: '127.0.0.1:9465',
    });
    expect(config.uiUrl).toBe('https://cloud.temporal.io');
  });

  test('allow a plain-http webhook only on this machine', () => {
    expect(read({ DEPLOY_WEBHOOK_URL: 'http://127.0.0.1:8080/hook' }).notify?.url).toBe('http://127.0.0.1:8080/hook');
  });

  test.each([
    [
      { DEPLOY_WEBHOOK_URL: 'http://hooks.example.com/s3cr3tpath' },
      'invalid DEPLOY_WEBHOOK_URL: plain http would send',
    ],
    [{ DEPLOY_WEBHOOK_URL: 'hooks.slack.com/s3cr3tpath' }, 'invalid DEPLOY_WEBHOOK_URL: is not a URL'],
    [{ DEPLOY_WEBHOOK_URL: 'ftp://example.com/s3cr3tpath' }, 'invalid DEPLOY_WEBHOOK_URL: has the scheme ftp:'],
    [{ DEPLOY_WEBHOOK_SECRET: 'x'.repeat(32) }, 'invalid DEPLOY_WEBHOOK_SECRET: set without DEPLOY_WEBHOOK_URL'],
    [
      { DEPLOY_WEBHOOK_URL: hook, DEPLOY_WEBHOOK_SECRET: 's3cr3tpath' },
      'invalid DEPLOY_WEBHOOK_SECRET: is 10 characters',
    ],
    [{ DEPLOY_METRICS_ADDR: '9464' }, 'invalid DEPLOY_METRICS_ADDR: "9464" is not host:port'],
    [{ DEPLOY_HEALTH_ADDR: 'localhost:99999' }, 'invalid DEPLOY_HEALTH_ADDR: "localhost:99999" is not host:port'],
    [{ DEPLOY_METRICS_ADDR: ':9464', DEPLOY_HEALTH_ADDR: ':9464' }, 'invalid DEPLOY_METRICS_ADDR'],
    [
      { DEPLOY_METRICS_ADDR: '127.0.0.1:9464', DEPLOY_HEALTH_ADDR: '127.0.0.1:9464' },
      'invalid DEPLOY_HEALTH_ADDR: is the same address as DEPLOY_METRICS_ADDR',
    ],
    [{ DEPLOY_LOG_LEVEL: 'loud' }, 'invalid DEPLOY_LOG_LEVEL: "loud" is not one of TRACE, DEBUG, INFO, WARN, ERROR'],
  ])('refuse %j with a message naming the variable, never repeating a secret', (env, message) => {
    let thrown = '';
    try {
      read(env);
    } catch (err) {
      thrown = (err as Error).message;
    }
    expect(thrown).toContain(message);
    expect(thrown).not.toContain('s3cr3tpath');
  });
});
