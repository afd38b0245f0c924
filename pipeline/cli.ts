// `xraygen`: the command-line shell over the library. Each subcommand lives in pipeline/commands/
// and calls library functions that the tests also call; this file only wires them and turns
// known errors into one line on stderr and exit code 2.

import { Command, CommanderError } from 'commander';
import { BadInputFileError, DeviceError, OverBudgetError, UsageError } from '../engine/errors.ts';
import { register as registerPhantom } from './commands/phantom.ts';
import { register as registerPrepare } from './commands/prepare.ts';
import { register as registerTrain } from './commands/train.ts';
import { register as registerGenerate } from './commands/generate.ts';
import { register as registerEvaluate } from './commands/evaluate.ts';
import { register as registerProfile } from './commands/profile.ts';

export function buildProgram(): Command {
  const program = new Command('xraygen')
    .description('synthetic chest X-rays: conditional GAN + SRGAN on a WebGPU engine')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of [registerGenerate, registerEvaluate, registerTrain, registerPrepare, registerPhantom, registerProfile]) register(program);
  const exitOverride = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not failures; commander has already printed its message.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UsageError || error instanceof BadInputFileError || error instanceof OverBudgetError || error instanceof DeviceError) {
      console.error(`error: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('pipeline/cli.ts')) {
  process.exitCode = await main(process.argv.slice(2));
}
