/** The worker's settings: read once, refused with a line naming the variable when they are unsafe or malformed. */
import { readWorkerConfig } from '../../src/shared/config.js';

const base = { DEPLOY_SOURCE_REPO: '/srv/app.git' };

describe('readWorkerConfig', () => {
  it('refuses plain HTTP without a local registry, so ECR is never reached over HTTP', () => {
    expect(() => readWorkerConfig({ ...base, DEPLOY_REGISTRY_INSECURE: 'true' }, '/w')).toThrow(
      /^invalid DEPLOY_REGISTRY_INSECURE: plain HTTP is only allowed to a local registry named in DEPLOY_REGISTRY; set DEPLOY_REGISTRY or remove DEPLOY_REGISTRY_INSECURE$/,
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
