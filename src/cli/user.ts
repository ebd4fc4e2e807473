import { AuthService } from '../auth/service.js';
import { loadConfigFile } from '../config/load.js';
import { GuardpostError } from '../errors.js';
import { Journal } from '../journal/index.js';
import { Roles, Store, type Role } from '../store/index.js';
import { readSecret } from './secretInput.js';
import { stringOption, type CliIo, type ParsedArgs } from './run.js';
import { DEFAULT_CONFIG } from './start.js';

/**
 * `guardpost user add NAME --role ROLE`: creates a user in the site's store (audited, actor
 * `cli`). The password comes from a prompt, or from stdin when it is not a terminal; never argv.
 * Works while the gateway runs: SQLite in WAL mode takes the second writer.
 */
export async function userCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const [verb, name] = args.positionals;
  if (verb !== 'add' || name === undefined) throw new GuardpostError('GP_ERR_USAGE', 'usage: guardpost user add NAME --role admin|security|viewer [--config FILE] [--state-dir DIR]');
  const role = stringOption(args, 'role');
  if (role === undefined || !(Roles as readonly string[]).includes(role)) throw new GuardpostError('GP_ERR_USAGE', `--role: expected one of ${Roles.join(', ')}`);
  const loaded = loadConfigFile(stringOption(args, 'config') ?? DEFAULT_CONFIG, { stateDir: stringOption(args, 'state-dir') });
  const password = await readSecret(`Password for ${name}: `);
  const store = Store.open(loaded.stateDir);
  try {
    const siteId = store.site()?.id ?? 'unconfigured';
    const auth = new AuthService({ store, journal: new Journal(store.db, siteId), clock: Date.now });
    const user = await auth.addUser({ id: name, role: role as Role, password }, { actor: 'cli', source: 'cli' });
    io.out(`user ${user.id} (${user.role}) created in ${loaded.stateDir}`);
    return 0;
  } finally {
    store.close();
  }
}
