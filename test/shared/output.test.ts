import {
  defuseWorkflowCommands,
  OUTPUT_LIMITS,
  redact,
  safeOutput,
  secretValues,
  utf8Length,
} from '../../src/shared/output.js';

describe('safeOutput', () => {
  test('defuses lines a GitHub runner would read as workflow commands, even after blanks or a lone \\r', () => {
    const out = safeOutput('ok\n::set-output name=image::evil\n   ::add-mask::x\nprogress\r::error::boom\nnot ::this');
    expect(out.split('\n')).toEqual([
      'ok',
      ': :set-output name=image::evil',
      '   : :add-mask::x',
      'progress',
      ': :error::boom',
      'not ::this',
    ]);
    for (const line of out.split('\n')) expect(line.trimStart().startsWith('::')).toBe(false);
  });

  test('defuses the older ##[command] form wherever it appears in a line', () => {
    expect(safeOutput('see ##[set-output name=x;]y')).toBe('see # #[set-output name=x;]y');
  });

  test('removes terminal escapes and other control characters but keeps tabs', () => {
    expect(safeOutput('\u001b[2K\u001b[1Gred\tgreen\u0007')).toBe('[2K[1Gred\tgreen');
  });

  test('cuts a line at its byte limit without splitting a character, and says how much was cut', () => {
    const out = safeOutput(`${'é'.repeat(10)}`, { lineBytes: 5 });
    expect(out).toBe('éé... (16 bytes cut)');
    const long = safeOutput('x'.repeat(5000));
    expect(utf8Length(long)).toBeLessThan(OUTPUT_LIMITS.lineBytes + 40);
    expect(long).toMatch(/\.\.\. \(3976 bytes cut\)$/);
  });

  test('keeps the beginning of a long text up to the total limit and counts the rest', () => {
    const text = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n');
    const out = safeOutput(text, { totalBytes: 40 });
    expect(out.split('\n').slice(0, 5)).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
    expect(out).toMatch(/\n\.\.\. \(\d+ more bytes cut\)$/);
    expect(utf8Length(out)).toBeLessThan(40 + 30);
  });

  test('redacts every secret, the longer one first when one contains the other', () => {
    expect(safeOutput('token abcdefgh12345 and abcdefgh', { secrets: ['abcdefgh', 'abcdefgh12345'] })).toBe(
      'token *** and ***',
    );
    expect(redact('no secrets here', [''])).toBe('no secrets here');
  });
});

describe('defuseWorkflowCommands', () => {
  test('leaves ordinary lines alone', () => {
    expect(defuseWorkflowCommands('main_test.go:12: want 1, got 2')).toBe('main_test.go:12: want 1, got 2');
  });
});

describe('secretValues', () => {
  test('collects the values of credential variables and the password of any URL, and nothing else', () => {
    const found = secretValues({
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG',
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      TEMPORAL_API_KEY: 'temporal-key-123456',
      DEPLOY_SOURCE_REPO: 'https://deploy:git-token-1234@git.example.com/app.git',
      GOPRIVATE: 'github.com/acme/private',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/etc/deploy/client.key',
      PATH: '/usr/bin',
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'wJalrXUtnFEMI/K7MDENG',
        'AKIAIOSFODNN7EXAMPLE',
        'temporal-key-123456',
        'deploy:git-token-1234',
        'git-token-1234',
      ]),
    );
    expect(found).not.toContain('github.com/acme/private');
    expect(found).not.toContain('/etc/deploy/client.key');
    expect(found).not.toContain('/usr/bin');
  });

  test('ignores values too short to be credentials, which redacting would only garble', () => {
    expect(secretValues({ AWS_SECRET_ACCESS_KEY: 'test', AWS_ACCESS_KEY_ID: 'test' })).toEqual([]);
  });
});
