import os from 'node:os';
import { loadConfigFile } from '../config/load.js';
import { GuardpostError } from '../errors.js';
import { backupDatabase, openForBackup, restoreBackup } from '../ops/backup.js';
import { stringOption, type CliIo, type ParsedArgs } from './run.js';
import { DEFAULT_CONFIG } from './start.js';

function stateDirOf(args: ParsedArgs): string {
  return loadConfigFile(stringOption(args, 'config') ?? DEFAULT_CONFIG, { stateDir: stringOption(args, 'state-dir') }).stateDir;
}

function kib(bytes: number): string {
  return `${Math.max(1, Math.round(bytes / 1024))} KiB`;
}

/** `guardpost backup FILE`: an online copy, consistent while the gateway runs on the same state directory. */
export async function backupCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const [file] = args.positionals;
  if (file === undefined) throw new GuardpostError('GP_ERR_USAGE', 'backup needs a FILE to write, e.g. guardpost backup /media/usb/guardpost-$(date +%F).db');
  const stateDir = stateDirOf(args);
  const db = openForBackup(stateDir);
  try {
    const result = await backupDatabase(db, stateDir, file, { reason: 'cli' });
    io.out(`backed up ${stateDir} (site ${result.site ?? '?'}, schema ${result.schemaVersion}, ${result.events} events) to ${result.file}: ${kib(result.bytes)} in ${result.elapsedMs} ms`);
    if (result.files.length > 0) io.out(`the backup holds ${result.files.join(', ')}: keep it as safe as the state directory (it is readable by its owner only)`);
    return 0;
  } finally {
    db.close();
  }
}

/** `guardpost restore FILE`: refused while a gateway runs on the state directory; the previous state is moved aside. */
export function restoreCommand(args: ParsedArgs, io: CliIo): number {
  const [file] = args.positionals;
  if (file === undefined) throw new GuardpostError('GP_ERR_USAGE', 'restore needs the backup FILE to restore');
  const stateDir = stateDirOf(args);
  const { info, previous } = restoreBackup(stateDir, file, { by: `cli:${os.userInfo().username}` });
  io.out(`restored ${file} (site ${info.site ?? '?'}, schema ${info.schemaVersion}, ${info.events} events, taken ${new Date(info.takenMs).toISOString()}) into ${stateDir}`);
  if (previous !== null) io.out(`what was there before is in ${previous}`);
  io.out('start the gateway to use it (sudo systemctl start guardpost)');
  return 0;
}
