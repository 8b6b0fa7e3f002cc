import { readWorkerConfig } from '../../src/shared/config.js';

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
