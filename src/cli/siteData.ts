import fs from 'node:fs';
import { stringify } from 'yaml';
import { loadConfigFile } from '../config/load.js';
import { readYamlFile } from '../config/yamlFile.js';
import { GuardpostError } from '../errors.js';
import { SiteService, SiteCollections, type ImportReport } from '../site/siteService.js';
import { Store } from '../store/index.js';
import { exportSiteData } from '../store/siteExport.js';
import { stringOption, type CliIo, type ParsedArgs } from './run.js';
import { DEFAULT_CONFIG } from './start.js';

function openStore(args: ParsedArgs): Store {
  const loaded = loadConfigFile(stringOption(args, 'config') ?? DEFAULT_CONFIG, { stateDir: stringOption(args, 'state-dir') });
  return Store.open(loaded.stateDir);
}

/** `guardpost export [--output FILE]`: the site data as a site file (YAML). */
export function exportCommand(args: ParsedArgs, io: CliIo): number {
  const store = openStore(args);
  try {
    if (!store.hasSiteData()) throw new GuardpostError('GP_ERR_NOT_FOUND', 'the store has no site data yet');
    const yaml = stringify(exportSiteData(store));
    const output = stringOption(args, 'output');
    if (output === undefined) io.out(yaml.trimEnd());
    else fs.writeFileSync(output, yaml, { mode: 0o640 });
    return 0;
  } finally {
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
  const raw = readYamlFile(file, 'site');
  const store = openStore(args);
  try {
    // A running gateway notices the commit itself (PRAGMA data_version) and reloads.
    const service = new SiteService({ store, clock: Date.now, onChanged: () => undefined, changeCardholders: (_ids, _change, write) => store.db.transaction(write)() });
    const report = service.replaceAll(raw, { actor: 'cli', source: 'cli' }, args.values['dry-run'] === true);
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
      .filter((change) => report[change][collection].length > 0)
      .map((change) => `${report.dryRun ? 'would be ' : ''}${change} ${collection}: ${report[change][collection].join(', ')}`),
  );
  return lines.length === 0 ? ['no changes'] : lines;
}
