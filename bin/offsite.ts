#!/usr/bin/env node
import './cli/environment';
import { CommanderError } from 'commander';
import { ConfigError } from '../functions/config/load';
import { InvalidInput } from '../functions/shared/errors';
import { RemoteError } from './remote/sfn';
import { io, program } from './cli/program';

/** Exit codes: 0 done and verified, 1 the lifecycle failed, 2 bad input or configuration. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

async function main(): Promise<void> {
  try {
    await program().parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    if (error instanceof RemoteError) {
      io.err(error.message);
      process.exitCode = EXIT_FAILED;
      return;
    }
    if (error instanceof ConfigError || error instanceof InvalidInput) {
      io.err(error.message);
      process.exitCode = EXIT_USAGE;
      return;
    }
    io.err(`offsite: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    process.exitCode = EXIT_FAILED;
  }
}

void main();
