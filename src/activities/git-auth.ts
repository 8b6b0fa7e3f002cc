/**
 * Credentials in DEPLOY_SOURCE_REPO (https://user:token@host/repo.git) must never reach a process's arguments, which
 * any local user can read in /proc/<pid>/cmdline. git is given the URL without them, and the token as an HTTP
 * header in its environment (GIT_CONFIG_COUNT), which only the worker's own user can read.
 */

export interface RepositoryAccess {
  /** What git is told to fetch, and what messages show: the URL without its user and password. */
  url: string;
  /** Everything that reveals the credentials, to redact from git's output. */
  secrets: string[];
  /** Added to the environment of the git commands that talk to the repository. */
  env: Record<string, string>;
}

const WITH_USERINFO = /^(https?:\/\/)([^/@]+)@/i;

/**
 * Splits a repository URL into a URL safe to show and pass as an argument, and an environment that authenticates
 * git to it. `inherited` is the worker's environment: git reads GIT_CONFIG_* settings in it too, so ours are added
 * after them.
 */
export function repositoryAccess(repo: string, inherited: Record<string, string | undefined>): RepositoryAccess {
  // Never a prompt: a worker has no terminal, and a prompt would hang the fetch until its timeout.
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0' };
  const match = WITH_USERINFO.exec(repo);
  if (!match) return { url: repo, secrets: [], env };
  const userinfo = match[2] ?? '';
  const url = repo.replace(`${userinfo}@`, '');
  const colon = userinfo.indexOf(':');
  const user = decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
  const password = colon < 0 ? '' : decode(userinfo.slice(colon + 1));
  const basic = Buffer.from(`${user}:${password}`).toString('base64');
  const first = Number(inherited.GIT_CONFIG_COUNT ?? 0) || 0;
  env.GIT_CONFIG_COUNT = String(first + 1);
  // Scoped to this repository's URL: git sends the header to it and to nothing else.
  env[`GIT_CONFIG_KEY_${first}`] = `http.${url}.extraHeader`;
  env[`GIT_CONFIG_VALUE_${first}`] = `Authorization: Basic ${basic}`;
  // A token alone in the user part (https://TOKEN@host/...) is as secret as a password.
  const secrets = [userinfo, basic, password || user].filter((s) => s.length > 0);
  return { url, secrets, env };
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
