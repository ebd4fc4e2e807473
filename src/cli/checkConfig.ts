import { checkConfigFile, loadConfigFile } from '../config/load.js';
import { GuardpostError } from '../errors.js';
import type { CliIo, ParsedArgs } from './run.js';

export function checkConfigCommand(args: ParsedArgs, io: CliIo): number {
  const [file] = args.positionals;
  if (file === undefined) throw new GuardpostError('GP_ERR_USAGE', 'check-config needs a FILE');
  const problems = checkConfigFile(file);
  if (problems.length === 0) {
    // An older config version still works; say what to change so it stops needing migration.
    const { notices } = loadConfigFile(file);
    for (const notice of notices) io.out(notice);
    io.out(`${file}: ok${notices.length > 0 ? ' (read as the current version; update it as above)' : ''}`);
    return 0;
  }
  for (const problem of problems) io.err(problem);
  return 1;
}
