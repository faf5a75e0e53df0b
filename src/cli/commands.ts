/**
 * The explicit list of CLI commands. Each command module exports `register(program, setExitCode)`.
 */
import type { Command } from 'commander';
import * as apply from './apply.ts';
import * as audit from './audit.ts';
import * as demo from './demo.ts';
import * as diff from './diff.ts';
import * as plan from './plan.ts';
import * as run from './run.ts';
import * as sim from './sim.ts';
import * as status from './status.ts';
import * as validate from './validate.ts';

/** A CLI command module. */
export interface CliCommand {
  register(program: Command, setExitCode: (code: number) => void): void;
}

export const commands: readonly CliCommand[] = [validate, plan, diff, apply, audit, run, status, sim, demo];
