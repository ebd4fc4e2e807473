import fs from 'node:fs';
import { loadConfigFile } from '../config/load.js';
import { readSiteFile } from '../site/siteFileReader.js';
import { GuardpostError } from '../errors.js';
import { SiteService, SiteCollections, type ImportReport } from '../site/siteService.js';
import { Store } from '../store/index.js';
import { runningGateway } from '../ops/backup.js';
import { ALONE, BESIDE_A_GATEWAY } from '../site/siteImport.js';
import { SiteReadSnapshot } from '../store/siteExport.js';
import { siteExportChunks } from '../site/siteExportStream.js';
import { stringOption, type CliIo, type ParsedArgs } from './run.js';
import { DEFAULT_CONFIG } from './start.js';

function stateDirOf(args: ParsedArgs): string {
  return loadConfigFile(stringOption(args, 'config') ?? DEFAULT_CONFIG, { stateDir: stringOption(args, 'state-dir') }).stateDir;
}

function openStore(args: ParsedArgs): Store {
  return Store.open(stateDirOf(args));
}

/**
 * `guardpost export [--output FILE]`: the site data as a site file (YAML), written a page of
 * people at a time from one read snapshot [SITE-STREAM], so a panel of millions never sits in
 * memory and a gateway writing meanwhile cannot tear the file.
 */
export function exportCommand(args: ParsedArgs, io: CliIo): number {
  const store = openStore(args);
  let snapshot: SiteReadSnapshot | undefined;
  let fd: number | undefined;
  const output = stringOption(args, 'output');
  try {
    if (!store.hasSiteData()) throw new GuardpostError('GP_ERR_NOT_FOUND', 'the store has no site data yet');
    snapshot = new SiteReadSnapshot(store);
    // Into a temporary file beside the output, renamed when whole: a failed export leaves no half file.
    const partial = output === undefined ? undefined : `${output}.partial-${process.pid}`;
    if (partial !== undefined) fd = fs.openSync(partial, 'w', 0o640);
    let pending = '';
    for (const chunk of siteExportChunks(snapshot, 'yaml')) {
      if (fd !== undefined) fs.writeSync(fd, chunk.text);
      else if (io.write !== undefined) io.write(chunk.text);
      else {
        // Line by line for an io that takes lines; the last line's newline is the io's own.
        const lines = (pending + chunk.text).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) io.out(line);
      }
    }
    if (pending !== '') io.out(pending);
    if (fd !== undefined && partial !== undefined && output !== undefined) {
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = undefined;
      fs.renameSync(partial, output);
    }
    return 0;
  } finally {
    if (fd !== undefined) {
      fs.closeSync(fd);
      fs.rmSync(`${output}.partial-${process.pid}`, { force: true });
    }
    snapshot?.close();
    store.close();
  }
}

/**
 * `guardpost import FILE [--dry-run]`: makes the site data equal to the file, audited as `cli`.
 * A running gateway notices the commit within a second and decides on the new data.
 */
export function importCommand(args: ParsedArgs, io: CliIo): number {
  const [file] = args.positionals;
  if (file === undefined) throw new GuardpostError('GP_ERR_USAGE', 'import needs a FILE');
  // The people are read from the file as they are written, never all at once [SITE-IMPORT].
  const content = readSiteFile(file);
  const stateDir = stateDirOf(args);
  const store = Store.open(stateDir);
  try {
    // A running gateway notices the commit itself (PRAGMA data_version) and reloads.
    const service = new SiteService({ store, clock: Date.now, onChanged: () => undefined, changeCardholders: (_ids, _change, write) => store.db.transaction(write)() });
    // Beside a running gateway, short transactions with pauses: its writes (the journal) get in between [SITE-IMPORT-SLICES].
    const pacing = runningGateway(stateDir) === null ? ALONE : BESIDE_A_GATEWAY;
    const report = service.importSite(content, { actor: 'cli', source: 'cli' }, args.values['dry-run'] === true, pacing);
    for (const line of describeReport(report)) io.out(line);
    return 0;
  } catch (error) {
    if (error instanceof GuardpostError && error.details.length > 0) {
      throw new GuardpostError(error.code, `${file}: ${error.message}`, error.details.map((line) => `${file}: ${line}`));
    }
    throw error;
  } finally {
    store.close();
  }
}

function describeReport(report: ImportReport): string[] {
  const lines = SiteCollections.flatMap((collection) =>
    (['created', 'updated', 'deleted'] as const)
      .filter((change) => report.counts[change][collection] > 0)
      .map((change) => {
        // A panel's import names the first ids and counts the rest.
        const more = report.counts[change][collection] - report[change][collection].length;
        return `${report.dryRun ? 'would be ' : ''}${change} ${collection}: ${report[change][collection].join(', ')}${more > 0 ? ` and ${more} more (${report.counts[change][collection]} in all)` : ''}`;
      }),
  );
  return lines.length === 0 ? ['no changes'] : lines;
}
