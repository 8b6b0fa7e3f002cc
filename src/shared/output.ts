/**
 * Text that came from the code being deployed (test output, compiler errors, builder logs) on its way to workflow
 * history, job summaries and terminals: known secrets redacted, control characters and GitHub workflow commands
 * defused, and its size capped. Pure, so the workflow sandbox can load it too.
 */

export const OUTPUT_LIMITS = {
  /** Bytes (UTF-8) kept of one line. */
  lineBytes: 1024,
  /** Bytes (UTF-8) kept of the whole text. */
  totalBytes: 16 * 1024,
} as const;

export interface SafeOutputOptions {
  /** Values replaced by *** wherever they appear. */
  secrets?: readonly string[];
  lineBytes?: number;
  totalBytes?: number;
}

/** Values shorter than this are not treated as secrets: redacting "test" would garble every message. */
const MIN_SECRET_LENGTH = 8;

/** Environment names whose values are credentials, wherever they come from (AWS, Temporal, git, registries). */
const SECRET_NAME_RE =
  /SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTHORIZATION|^AWS_ACCESS_KEY_ID$/i;

/**
 * The credentials an environment holds: values of secret-looking variables, and the user:password part of any URL
 * in any variable (a token in DEPLOY_SOURCE_REPO or a proxy setting).
 */
export function secretValues(env: Record<string, string | undefined>): string[] {
  const found = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (SECRET_NAME_RE.test(name)) found.add(value.trim());
    for (const m of value.matchAll(/[a-z][a-z0-9+.-]*:\/\/([^/@\s]+)@/gi)) {
      const userinfo = m[1] ?? '';
      found.add(userinfo);
      const colon = userinfo.indexOf(':');
      if (colon >= 0) found.add(userinfo.slice(colon + 1));
    }
  }
  return [...found].filter((s) => s.length >= MIN_SECRET_LENGTH);
}

/** Replaces every secret in `text` with ***, longest first so one secret inside another goes whole. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length > 0) out = out.split(secret).join('***');
  }
  return out;
}

/**
 * Defuses what a GitHub runner reads as a workflow command: a line starting with `::` (after blanks), and `##[`
 * anywhere. A test that prints `::add-mask::` or `::set-output` must not become a command of the deploy job.
 */
export function defuseWorkflowCommands(line: string): string {
  const defused = line.split('##[').join('# #[');
  const lead = /^\s*/.exec(defused)?.[0] ?? '';
  return defused.startsWith('::', lead.length) ? `${lead}: :${defused.slice(lead.length + 2)}` : defused;
}

/** `text` made safe to carry: redacted, one defused line per line, each line and the whole capped in bytes. */
export function safeOutput(text: string, opts: SafeOutputOptions = {}): string {
  const lineBytes = opts.lineBytes ?? OUTPUT_LIMITS.lineBytes;
  const totalBytes = opts.totalBytes ?? OUTPUT_LIMITS.totalBytes;
  // A runner also ends a line at a lone \r, so a line hidden behind one would still be read as a command.
  const lines = redact(text, opts.secrets ?? []).split(/\r\n|\r|\n/);
  const out: string[] = [];
  let used = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = capBytes(defuseWorkflowCommands(stripControl(lines[i] ?? '')), lineBytes);
    const size = utf8Length(line) + 1;
    if (used + size > totalBytes) {
      const rest = lines.slice(i).reduce((n, l) => n + utf8Length(l) + 1, 0);
      out.push(`... (${rest} more bytes cut)`);
      break;
    }
    out.push(line);
    used += size;
  }
  return out.join('\n');
}

/** Terminal escapes and other C0 controls (tabs stay): output must not move a cursor or rewrite a log line. */
function stripControl(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
}

function capBytes(line: string, max: number): string {
  if (utf8Length(line) <= max) return line;
  let used = 0;
  let end = 0;
  for (const ch of line) {
    const size = utf8Length(ch);
    if (used + size > max) break;
    used += size;
    end += ch.length;
  }
  return `${line.slice(0, end)}... (${utf8Length(line) - used} bytes cut)`;
}

/** The UTF-8 size of `text`, without TextEncoder or Buffer. */
export function utf8Length(text: string): number {
  let n = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    n += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return n;
}
