import { readFileSync } from 'node:fs';
import { isScalar, parseDocument, visit } from 'yaml';
import { GuardpostError } from '../errors.js';

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'is a directory, not a file',
};

/**
 * Reads one YAML document. `what` names the file in messages ("config", "site").
 * Errors are GP_ERR_CONFIG_READ with `<file>: line L, column C: <message>` lines.
 */
export function readYamlFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const reason = REASONS[code] ?? (error instanceof Error ? error.message : String(error));
    throw new GuardpostError('GP_ERR_CONFIG_READ', `cannot read ${what} file ${file}: ${reason}`);
  }
  return parseYamlText(file, text);
}

/**
 * Parses YAML text read from `file` (or from a part of it: `fileLine` maps a line of the text to
 * the file's). Errors are GP_ERR_CONFIG_READ with `<file>: line L, column C: <message>` lines.
 */
export function parseYamlText(file: string, text: string, fileLine: (line: number) => number = (line) => line): unknown {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const where = e.linePos?.[0];
      const message = e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '').trim();
      return where ? `${file}: line ${fileLine(where.line)}, column ${where.col}: ${message}` : `${file}: ${message}`;
    });
    throw new GuardpostError('GP_ERR_CONFIG_READ', lines[0] ?? `${file}: invalid YAML`, lines);
  }
  // A card number must stay as written: `card: 0012` is "0012", not 12, and long numbers keep every digit.
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === 'card' && isScalar(pair.value)) {
        const v = pair.value;
        if (typeof v.value === 'number' && v.type === 'PLAIN' && typeof v.source === 'string') v.value = v.source;
      }
    },
  });
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new GuardpostError('GP_ERR_CONFIG_READ', `${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
