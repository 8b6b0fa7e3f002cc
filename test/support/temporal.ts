/** Temporal servers for tests: the time-skipping test server, or a real dev server started by the test. */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import proto from '@temporalio/proto';
const { temporal } = proto;
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { ROOT, TOOLS_BIN, freePort, startService, type Service } from '../../src/devstack/process.js';
import { SEARCH_ATTRIBUTES } from '../../src/shared/names.js';

export const WORKFLOWS_PATH = `${ROOT}/src/workflows/index.ts`;

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: `${TOOLS_BIN}/temporal-test-server` } },
  });
  // The workflow upserts these at every stage; an unknown attribute fails its workflow tasks.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      Object.values(SEARCH_ATTRIBUTES).map((name) => [
        name,
        temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
  return env;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundling takes seconds: do it once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  return bundle;
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string) => console.error(message),
};

export function searchAttributeArgs(): string[] {
  return Object.values(SEARCH_ATTRIBUTES).flatMap((name) => ['--search-attribute', `${name}=Keyword`]);
}

export interface DevServer {
  address: string;
  uiUrl: string;
  service: Service;
  stop(): Promise<void>;
}

/** A real `temporal server start-dev`, with the deploy search attributes registered. */
export async function startDevServer(opts: { dbFile?: string; ui?: boolean } = {}): Promise<DevServer> {
  const port = await freePort();
  const uiPort = await freePort();
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--log-level',
    'warn',
    ...searchAttributeArgs(),
  ];
  if (opts.ui) args.push('--ui-port', String(uiPort));
  else args.push('--headless');
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  const service = await startService({ name: 'temporal', command: `${TOOLS_BIN}/temporal`, args, waitPort: port });
  return { address: `127.0.0.1:${port}`, uiUrl: `http://127.0.0.1:${uiPort}`, service, stop: () => service.stop() };
}
