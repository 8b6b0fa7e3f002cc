/** Starting and stopping the real services the tests and the bench use. Every service started here is stopped by its pid. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { openSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const TOOLS_BIN = `${ROOT}/.tools/venv/bin`;

export async function freePort(): Promise<number> {
  return await new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 30_000, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect({ port, host }, () => {
        s.destroy();
        res(true);
      });
      s.on('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${host}:${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Service {
  name: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Where stdout and stderr go; default a file under .work/logs. */
  logFile?: string;
  waitPort?: number;
}

/** Starts a long-running process in its own process group, and waits for its port when one is given. */
export async function startService(opts: StartOptions): Promise<Service> {
  const logFile = opts.logFile ?? `${ROOT}/.work/logs/${opts.name}-${process.pid}-${Date.now()}.log`;
  mkdirSync(dirname(logFile), { recursive: true });
  const out = openSync(logFile, 'a');
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', out, out],
    detached: true,
  });
  if (child.pid === undefined) throw new Error(`failed to start ${opts.name}: no pid`);
  const pid = child.pid;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const service: Service = {
    name: opts.name,
    pid,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
  if (opts.waitPort !== undefined) {
    try {
      await Promise.race([
        waitForPort(opts.waitPort),
        exited.then(() => {
          throw new Error(`${opts.name} exited before opening port ${opts.waitPort}; see ${logFile}`);
        }),
      ]);
    } catch (err) {
      await service.stop();
      throw err;
    }
  }
  return service;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}
