import fs from 'node:fs';
import path from 'node:path';

/** guardpost's version from package.json (one directory above src/ and dist/). */
export const GUARDPOST_VERSION: string = (() => {
  try {
    const file = path.resolve(import.meta.dirname, '../../package.json');
    return String((JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
})();
