#!/usr/bin/env node
/** deployctl: start, follow, approve, cancel, roll back and inspect deploys. Thin: parse, run, exit. */
import { CommanderError } from 'commander';
import { CliContext } from './context.js';
import { describeFailure, EXIT } from './exit.js';
import { StoppedWaiting } from './follow.js';
import { buildProgram } from './program.js';

async function main(argv: string[]): Promise<number> {
  const ctx = new CliContext(process.env);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    // Commander has printed its own message already (help, version, or a usage error).
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof StoppedWaiting) {
      process.stderr.write(`deployctl: ${err.message}\n`);
      return EXIT.interrupted;
    }
    const { code, message } = describeFailure(err);
    process.stderr.write(`deployctl: ${message}\n`);
    return code;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`deployctl: ${String(err)}\n`);
    process.exit(1);
  },
);
