/** How the source repository's credentials reach git: in its environment, never in its arguments. */
import { repositoryAccess } from '../../src/activities/git-auth.js';

describe('repositoryAccess', () => {
  it('takes user and token out of an https URL and hands them to git as a header scoped to that URL', () => {
    const access = repositoryAccess('https://deploy:s3cr%40t@git.example.com/acme/app.git', {});

    expect(access.url).toBe('https://git.example.com/acme/app.git');
    expect(access.env).toEqual({
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.https://git.example.com/acme/app.git.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from('deploy:s3cr@t').toString('base64')}`,
    });
    expect(access.secrets).toEqual(
      expect.arrayContaining(['deploy:s3cr%40t', 's3cr@t', Buffer.from('deploy:s3cr@t').toString('base64')]),
    );
  });

  it('treats a token given as the user part alone as the secret', () => {
    const access = repositoryAccess('https://ghp_abcdef123456@github.com/acme/app.git', {});

    expect(access.url).toBe('https://github.com/acme/app.git');
    expect(access.secrets).toContain('ghp_abcdef123456');
  });

  it('adds its setting after GIT_CONFIG_* settings the worker already has, keeping them', () => {
    const access = repositoryAccess('https://u:p@host/r.git', {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'safe.directory',
      GIT_CONFIG_VALUE_0: '*',
    });

    expect(access.env.GIT_CONFIG_COUNT).toBe('2');
    expect(access.env.GIT_CONFIG_KEY_1).toBe('http.https://host/r.git.extraHeader');
    expect(access.env.GIT_CONFIG_KEY_0).toBeUndefined();
  });

  it('leaves local paths and URLs without credentials as they are, with no header', () => {
    for (const repo of ['/srv/git/app.git', 'https://host/r.git', 'ssh://git@host/r.git', 'git@host:acme/r.git']) {
      expect(repositoryAccess(repo, {})).toEqual({ url: repo, secrets: [], env: { GIT_TERMINAL_PROMPT: '0' } });
    }
  });
});
