import { formatCheck, runDoctor } from '../ops/doctor.js';
import { stringOption, type CliIo, type ParsedArgs } from './run.js';
import { DEFAULT_CONFIG } from './start.js';

/** `guardpost doctor`: one line per check (ok / warn / fail), exit 1 when anything fails. */
export async function doctorCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const configFile = stringOption(args, 'config') ?? args.positionals[0] ?? DEFAULT_CONFIG;
  const stateDir = stringOption(args, 'state-dir');
  const checks = await runDoctor(configFile, stateDir === undefined ? {} : { stateDir });
  for (const check of checks) io.out(formatCheck(check));
  const count = (status: string): number => checks.filter((check) => check.status === status).length;
  const failures = count('fail');
  const warnings = count('warn');
  io.out(`${count('ok')} ok, ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}, ${failures} ${failures === 1 ? 'failure' : 'failures'}`);
  return failures > 0 ? 1 : 0;
}
