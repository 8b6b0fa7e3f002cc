/** What a person sees of deploys in the Temporal UI of the local stack, checked in a real headless Chromium. */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { DeployResult } from '../../src/shared/types.js';
import { ROOT } from '../../src/devstack/process.js';
import { deployctl, startStack, type Stack } from '../../src/devstack/stack.js';
import { makeSourceRepo, type SourceRepo } from '../../src/devstack/source-repo.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let stack: Stack;
let source: SourceRepo;
let browser: Browser;
let page: Page;
let ui: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: run scripts/install-tools.sh --with-browser (apt-get install chromium), or set CHROMIUM_PATH`,
    );
  }
  await mkdir(`${ROOT}/.work`, { recursive: true });
  source = await makeSourceRepo();
  stack = await startStack({ sourceRepo: source.dir });
  ui = stack.env.TEMPORAL_UI_URL ?? '';
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await source?.remove();
});

/** The workflows list under a visibility query, as the UI's filter bar writes it into the URL. */
async function openList(query: string): Promise<void> {
  await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
  await page.getByRole('table').waitFor();
}

/**
 * The UI renders summaries and details (markdown) in iframes, the current details after a query to the worker:
 * waits until some frame of the page shows `needle` and returns that frame's text.
 */
async function frameText(needle: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const seen: string[] = [];
  while (Date.now() < deadline) {
    seen.length = 0;
    for (const frame of page.frames().slice(1)) {
      const text = await frame
        .locator('body')
        .innerText({ timeout: 1000 })
        .catch(() => '');
      if (text.includes(needle)) return text;
      seen.push(text.slice(0, 200));
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no frame of ${page.url()} showed "${needle}"; frames: ${JSON.stringify(seen)}`);
}

async function deployAndWait(sha: string, args: string[] = []): Promise<DeployResult> {
  const run = await deployctl(stack, ['deploy', '--sha', sha, '--wait', '--json', ...args]);
  return JSON.parse(run.stdout) as DeployResult;
}

describe('the Temporal UI of the local stack', () => {
  let result: DeployResult;

  test('a deploy is listed under its DeployService filter, and not under another service', async () => {
    const sha = await source.commit('a commit to look at in the UI');
    result = await deployAndWait(sha);
    expect(result.status).toBe('succeeded');

    await openList('DeployService="local/hello"');
    const row = page.getByRole('row').filter({ hasText: result.workflowId });
    await row.waitFor({ timeout: 15_000 });
    await expect(row.innerText()).resolves.toContain('Completed');
    await expect(page.getByText('DeployService =').first().isVisible()).resolves.toBe(true);
    await page.screenshot({ path: `${ROOT}/.work/ui-list.png` });

    await openList('DeployService="local/other"');
    await page.getByRole('heading', { name: 'No Results' }).waitFor({ timeout: 15_000 });
    await expect(page.getByText(result.workflowId).count()).resolves.toBe(0);
  });

  test('the run page shows the stages in words: activity summaries, the summary and the current details', async () => {
    const short = result.sha.slice(0, 7);
    await page.goto(
      `${ui}/namespaces/default/workflows/${encodeURIComponent(result.workflowId)}/${result.runId}/history`,
    );
    await page.getByText(`buildApp • build the Go binary at ${short}`).first().waitFor({ timeout: 15_000 });
    await expect(page.getByText(`testApp • go test the binary at ${short}`).count()).resolves.toBeGreaterThan(0);
    await expect(page.getByText('updateService • update local/hello to hello:').count()).resolves.toBeGreaterThan(0);
    await page.screenshot({ path: `${ROOT}/.work/ui-run-history.png` });

    await page.getByRole('tab', { name: 'User Metadata' }).click();
    await frameText(`Deploy ${short} to local/hello`);
    expect(await frameText('requested by:')).toContain(`sha: ${result.sha}`);
    const details = await frameText('wait_stable');
    expect(details).toContain(`local/hello at ${result.sha.slice(0, 12)}: succeeded`);
    expect(details).toMatch(/wait_stable\s+succeeded/);
    expect(details).toMatch(/package\s+succeeded/);
    await page.screenshot({ path: `${ROOT}/.work/ui-run-metadata.png` });
  });

  test('a deploy waiting for approval is found by DeployStatus, and its page says how to approve it', async () => {
    const sha = await source.commit('a commit waiting for approval in the UI');
    const start = await deployctl(stack, ['deploy', '--sha', sha, '--require-approval', '--json']);
    const { workflowId, runId } = JSON.parse(start.stdout) as { workflowId: string; runId: string };
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const status = await deployctl(stack, ['status', workflowId, '--json']);
        if ((JSON.parse(status.stdout) as { status: string }).status === 'awaiting_approval') break;
        if (Date.now() > deadline) throw new Error(`never awaiting approval: ${status.stderr}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      await openList('DeployStatus="awaiting_approval" AND DeployService="local/hello"');
      const row = page.getByRole('row').filter({ hasText: workflowId });
      await row.waitFor({ timeout: 15_000 });
      await expect(row.innerText()).resolves.toContain('Running');
      await expect(page.getByText(result.workflowId).count()).resolves.toBe(0);

      await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runId}/history`);
      await page.getByRole('tab', { name: 'User Metadata' }).click();
      const details = await frameText('Waiting for approval');
      expect(details).toContain(`local/hello at ${sha.slice(0, 12)}: awaiting_approval`);
      expect(details).toContain('approval: pending');
      expect(details).toMatch(/What would change:\s+.*image/);
      expect(details).toMatch(/approval\s+running/);
      await page.screenshot({ path: `${ROOT}/.work/ui-awaiting-approval.png` });
    } finally {
      await deployctl(stack, ['cancel', workflowId, '--by', 'ui-test', '--reason', 'done looking']);
    }
  });
});
