import { formatFailures, hasFailures, parseGoTestEvents } from '../../src/activities/go-test-report.js';

const PKG = 'example.com/hello';

/** One `go test -json` line per event, as cmd/test2json writes them. */
function stream(...events: Record<string, unknown>[]): string {
  return events.map((e) => JSON.stringify({ Time: '2026-01-01T00:00:00Z', ...e })).join('\n') + '\n';
}

const out = (Test: string | undefined, Output: string) => ({ Action: 'output', Package: PKG, Test, Output });

describe('parseGoTestEvents', () => {
  it('counts passed top-level tests and passed packages, not subtests', () => {
    const report = parseGoTestEvents(
      stream(
        { Action: 'start', Package: PKG },
        { Action: 'run', Package: PKG, Test: 'TestA' },
        { Action: 'pass', Package: PKG, Test: 'TestA' },
        { Action: 'run', Package: PKG, Test: 'TestB' },
        { Action: 'pass', Package: PKG, Test: 'TestB/sub' },
        { Action: 'pass', Package: PKG, Test: 'TestB' },
        { Action: 'pass', Package: PKG },
        { Action: 'skip', Package: 'example.com/hello/empty' },
      ),
    );
    expect(report).toMatchObject({ passedTests: 2, passedPackages: 1, failedTests: [], buildFailures: [] });
    expect(hasFailures(report)).toBe(false);
  });

  it('names a failing test as package.Test and keeps its own output only', () => {
    const report = parseGoTestEvents(
      stream(
        out('TestGood', '=== RUN   TestGood\n'),
        { Action: 'pass', Package: PKG, Test: 'TestGood' },
        out('TestBroken', '=== RUN   TestBroken\n'),
        out('TestBroken', '    x_test.go:7: want 1, got 2\n'),
        out('TestBroken', '--- FAIL: TestBroken (0.00s)\n'),
        { Action: 'fail', Package: PKG, Test: 'TestBroken' },
        out(undefined, 'FAIL\n'),
        { Action: 'fail', Package: PKG },
      ),
    );
    expect(report.failedTests).toEqual([
      {
        name: 'example.com/hello.TestBroken',
        output: '=== RUN   TestBroken\n    x_test.go:7: want 1, got 2\n--- FAIL: TestBroken (0.00s)',
      },
    ]);
    expect(report.failedPackages).toEqual([]);
    expect(report.passedTests).toBe(1);
  });

  it('reports a failing subtest rather than its parent', () => {
    const report = parseGoTestEvents(
      stream(
        out('TestSubs/bad', '    x_test.go:12: sub broke\n'),
        { Action: 'fail', Package: PKG, Test: 'TestSubs/bad' },
        { Action: 'fail', Package: PKG, Test: 'TestSubs' },
        { Action: 'fail', Package: PKG },
      ),
    );
    expect(report.failedTests.map((t) => t.name)).toEqual(['example.com/hello.TestSubs/bad']);
  });

  it('keeps only the last lines of a long test output and says how many were cut', () => {
    const lines = Array.from({ length: 100 }, (_, n) => out('TestNoisy', `line ${n}\n`));
    const report = parseGoTestEvents(stream(...lines, { Action: 'fail', Package: PKG, Test: 'TestNoisy' }), 40);
    const output = report.failedTests[0]?.output ?? '';
    expect(output.split('\n')).toHaveLength(41);
    expect(output).toContain('(60 earlier lines cut)');
    expect(output).toContain('line 99');
    expect(output).not.toContain('line 59\n');
  });

  it('reports a test binary that does not compile as a build failure with the compiler output', () => {
    const importPath = `${PKG} [${PKG}.test]`;
    const report = parseGoTestEvents(
      stream(
        { ImportPath: importPath, Action: 'build-output', Output: `# ${importPath}\n` },
        { ImportPath: importPath, Action: 'build-output', Output: './x_test.go:5:33: undefined: nothing\n' },
        { ImportPath: importPath, Action: 'build-fail' },
        out(undefined, `FAIL\t${PKG} [build failed]\n`),
        { Action: 'fail', Package: PKG, FailedBuild: importPath },
      ),
    );
    expect(report.buildFailures).toEqual([
      { name: importPath, output: `# ${importPath}\n./x_test.go:5:33: undefined: nothing` },
    ]);
    expect(report.failedPackages).toEqual([]);
    expect(formatFailures(report)).toContain('did not compile');
  });

  it('reports a package that fails outside any test, such as a panic in init', () => {
    const report = parseGoTestEvents(
      stream(out(undefined, 'panic: boom\n'), out(undefined, 'FAIL\texample.com/hello\t0.01s\n'), {
        Action: 'fail',
        Package: PKG,
      }),
    );
    expect(report.failedPackages).toEqual([{ name: PKG, output: 'panic: boom\nFAIL\texample.com/hello\t0.01s' }]);
  });

  it('keeps plain-text lines from older Go versions as a build failure when nothing else ran', () => {
    const report = parseGoTestEvents('# example.com/hello\n./main.go:3:1: syntax error\n');
    expect(report.buildFailures[0]?.output).toContain('syntax error');
  });
});

describe('formatFailures', () => {
  it('lists every failing test by name, then each one with its output', () => {
    const text = formatFailures({
      passedTests: 3,
      passedPackages: 0,
      failedTests: [
        { name: 'p.TestA', output: 'a broke' },
        { name: 'p.TestB', output: '' },
      ],
      failedPackages: [],
      buildFailures: [],
    });
    expect(text).toBe('2 tests failed: p.TestA, p.TestB\n--- p.TestA\na broke\n--- p.TestB\n(no output)');
  });
});
