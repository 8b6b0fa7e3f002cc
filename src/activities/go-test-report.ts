/** Reads the event stream of `go test -json` into what a person needs: what passed, what failed, and why. Pure. */

/** One line of `go test -json` (cmd/test2json), including the build events Go 1.24+ adds. */
interface TestEvent {
  Action?: string;
  Package?: string;
  Test?: string;
  Output?: string;
  ImportPath?: string;
  FailedBuild?: string;
}

export interface FailedTest {
  /** `package.TestName`, e.g. `example.com/hello.TestRoot/sub`. */
  name: string;
  output: string;
}

export interface GoTestReport {
  passedTests: number;
  passedPackages: number;
  failedTests: FailedTest[];
  /** Packages that failed without a failing test: a panic outside a test, a timeout, TestMain. */
  failedPackages: FailedTest[];
  /** Packages (or their test binaries) that did not compile. */
  buildFailures: FailedTest[];
}

export const OUTPUT_LINES_PER_TEST = 40;

export function parseGoTestEvents(stream: string, maxLines = OUTPUT_LINES_PER_TEST): GoTestReport {
  const outputs = new Map<string, string[]>();
  const buildOutputs = new Map<string, string[]>();
  const failed: { key: string; pkg: string }[] = [];
  const failedPkgs: string[] = [];
  const failedBuilds = new Set<string>();
  const stray: string[] = [];
  let passedTests = 0;
  let passedPackages = 0;

  const append = (map: Map<string, string[]>, key: string, text: string): void => {
    const list = map.get(key) ?? [];
    list.push(text);
    map.set(key, list);
  };

  for (const line of stream.split('\n')) {
    if (line.trim() === '') continue;
    const event = parseLine(line);
    if (!event) {
      // Older Go prints build errors as plain text; keep them for the message.
      stray.push(`${line}\n`);
      continue;
    }
    const pkg = event.Package ?? '';
    const key = event.Test ? `${pkg}.${event.Test}` : pkg;
    switch (event.Action) {
      case 'output':
        append(outputs, key, event.Output ?? '');
        break;
      case 'build-output':
        append(buildOutputs, event.ImportPath ?? '', event.Output ?? '');
        break;
      case 'build-fail':
        failedBuilds.add(event.ImportPath ?? '');
        break;
      case 'pass':
        if (event.Test) passedTests += isSubtest(event.Test) ? 0 : 1;
        else passedPackages += 1;
        break;
      case 'fail':
        if (event.Test) failed.push({ key, pkg });
        else if (event.FailedBuild) failedBuilds.add(event.FailedBuild);
        else failedPkgs.push(pkg);
        break;
    }
  }

  const clip = (chunks: string[] | undefined): string => lastLines((chunks ?? []).join(''), maxLines);
  // A parent fails when a subtest does; name only the most specific failures.
  const leaves = failed.filter((f) => !failed.some((other) => other.key.startsWith(`${f.key}/`)));
  const pkgsWithFailedTests = new Set(failed.map((f) => f.pkg));
  const buildFailures = [...failedBuilds].map((name) => ({ name, output: clip(buildOutputs.get(name)) }));
  if (buildFailures.length === 0 && stray.length > 0 && passedPackages === 0 && leaves.length === 0) {
    buildFailures.push({ name: 'go test', output: clip(stray) });
  }
  return {
    passedTests,
    passedPackages,
    failedTests: leaves.map(({ key }) => ({ name: key, output: clip(outputs.get(key)) })),
    failedPackages: failedPkgs
      .filter((pkg) => !pkgsWithFailedTests.has(pkg))
      .map((name) => ({ name, output: clip(outputs.get(name)) })),
    buildFailures,
  };
}

export function hasFailures(report: GoTestReport): boolean {
  return report.failedTests.length + report.failedPackages.length + report.buildFailures.length > 0;
}

/** The body of the error a failed `go test` raises: each failure by name, then its output. */
export function formatFailures(report: GoTestReport, maxItems = 20): string {
  const sections: string[] = [];
  const add = (heading: string, items: FailedTest[]): void => {
    if (items.length === 0) return;
    sections.push(`${heading}: ${items.map((i) => i.name).join(', ')}`);
    for (const item of items.slice(0, maxItems)) {
      sections.push(`--- ${item.name}\n${item.output || '(no output)'}`);
    }
    if (items.length > maxItems) sections.push(`... and ${items.length - maxItems} more`);
  };
  add('did not compile', report.buildFailures);
  add(
    report.failedTests.length === 1 ? '1 test failed' : `${report.failedTests.length} tests failed`,
    report.failedTests,
  );
  add('package failed outside any test', report.failedPackages);
  return sections.join('\n');
}

function parseLine(line: string): TestEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as TestEvent) : undefined;
  } catch {
    return undefined;
  }
}

function isSubtest(name: string): boolean {
  return name.includes('/');
}

function lastLines(text: string, max: number): string {
  const lines = text.replace(/\n+$/, '').split('\n');
  if (lines.length <= max) return lines.join('\n');
  return [`... (${lines.length - max} earlier lines cut)`, ...lines.slice(-max)].join('\n');
}
