import { checkConfigFile } from '../config/load.js';
import { GuardpostError } from '../errors.js';
import type { CliIo, ParsedArgs } from './run.js';

export function checkConfigCommand(args: ParsedArgs, io: CliIo): number {
  const [file] = args.positionals;
  if (file === undefined) throw new GuardpostError('GP_ERR_USAGE', 'check-config needs a FILE');
  const problems = checkConfigFile(file);
  if (problems.length === 0) {
    io.out(`${file}: ok`);
    return 0;
  }
  for (const problem of problems) io.err(problem);
  return 1;
}
