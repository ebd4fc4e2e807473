import { parseArgs } from 'node:util';
import { GuardpostError, isGuardpostError } from '../errors.js';
import { backupCommand, restoreCommand } from './backup.js';
import { checkConfigCommand } from './checkConfig.js';
import { doctorCommand } from './doctor.js';
import { hashPasswordCommand } from './hashPassword.js';
import { simulateCommand } from './simulate.js';
import { userCommand } from './user.js';
import { exportCommand, importCommand } from './siteData.js';
import { startCommand } from './start.js';

export const USAGE = `usage: guardpost <command> [options]

commands:
  start [--config FILE] [--state-dir DIR] [--http-port N] [--mqtt-port N]
        run the gateway (default config: config/demo.yaml)
  check-config FILE
        validate a config file and the site file it names, without starting
  simulate badge --reader ID --card NUMBER [--config FILE] [--url mqtt://host:port] [--password PW] [--timeout-ms N]
        badge a card as a reader device and print the decision observed, as one JSON line
  user add NAME --role admin|security|viewer [--config FILE] [--state-dir DIR]
        create an API/console user; the password is read from a prompt or stdin
  import FILE [--dry-run] [--config FILE] [--state-dir DIR]
        make the site data equal to a site file; prints what is created, updated, deleted
  export [--output FILE] [--config FILE] [--state-dir DIR]
        write the site data as a site file (YAML)
  backup FILE [--config FILE] [--state-dir DIR]
        write a consistent copy of the database and the PIN key to FILE, also while the gateway runs
  restore FILE [--config FILE] [--state-dir DIR]
        put a backup in place (the gateway must be stopped); what was there is moved aside
  doctor [--config FILE] [--state-dir DIR]
        check the box: Node, config, database, serial ports, GPIO lines, clock, disk, ports
  hash-password < FILE
        print the argon2id hash of the password on stdin, for a device's passwordHash
`;

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Text as it is (no newline added), for output written in pieces (`export`); without it, `out` gets lines. */
  readonly write?: (text: string) => void;
}

const defaultIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  // Synchronous for files and pipes on Linux, so a long export does not pile up in memory.
  write: (text) => process.stdout.write(text),
};

/** Runs one CLI command and returns the exit code; errors are one line each, never a stack. */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        return await startCommand(parse(rest, { config: { type: 'string' }, 'state-dir': { type: 'string' }, 'http-port': { type: 'string' }, 'mqtt-port': { type: 'string' } }), io);
      case 'check-config':
        return checkConfigCommand(parse(rest, {}), io);
      case 'simulate':
        return await simulateCommand(
          parse(rest, { reader: { type: 'string' }, card: { type: 'string' }, config: { type: 'string' }, url: { type: 'string' }, password: { type: 'string' }, 'timeout-ms': { type: 'string' } }),
          io,
        );
      case 'user':
        return await userCommand(parse(rest, { role: { type: 'string' }, config: { type: 'string' }, 'state-dir': { type: 'string' } }), io);
      case 'import':
        return importCommand(parse(rest, { 'dry-run': { type: 'boolean' }, config: { type: 'string' }, 'state-dir': { type: 'string' } }), io);
      case 'export':
        return exportCommand(parse(rest, { output: { type: 'string' }, config: { type: 'string' }, 'state-dir': { type: 'string' } }), io);
      case 'backup':
        return await backupCommand(parse(rest, { config: { type: 'string' }, 'state-dir': { type: 'string' } }), io);
      case 'restore':
        return restoreCommand(parse(rest, { config: { type: 'string' }, 'state-dir': { type: 'string' } }), io);
      case 'doctor':
        return await doctorCommand(parse(rest, { config: { type: 'string' }, 'state-dir': { type: 'string' } }), io);
      case 'hash-password':
        return await hashPasswordCommand(io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new GuardpostError('GP_ERR_USAGE', `unknown command "${command}"\n${USAGE}`);
    }
  } catch (error) {
    if (isGuardpostError(error)) {
      io.err(`guardpost: ${error.message}`);
      for (const detail of error.details) io.err(detail);
      return error.code === 'GP_ERR_USAGE' ? 2 : 1;
    }
    io.err(`guardpost: unexpected error: ${(error as Error).message}`);
    return 1;
  }
}

export type ParsedArgs = { values: Record<string, string | boolean | undefined>; positionals: string[] };

function parse(args: string[], options: Record<string, { type: 'string' | 'boolean' }>): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (error) {
    throw new GuardpostError('GP_ERR_USAGE', `${(error as Error).message}\n${USAGE}`);
  }
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function portOption(args: ParsedArgs, name: string): number | undefined {
  const value = stringOption(args, name);
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new GuardpostError('GP_ERR_USAGE', `--${name}: expected a port number 0-65535, got "${value}"`);
  return port;
}
