import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { consoleDistDir, ensureConsoleBuilt } from '../support/browser.js';

/** The budget for the whole console, as a browser downloads it (gzip). */
const BUNDLE_BUDGET_BYTES = 200 * 1024;

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : [path.join(dir, entry.name)]));
}

beforeAll(async () => {
  await ensureConsoleBuilt();
}, 240_000);

describe('the console bundle', () => {
  it('weighs under 200 kB gzipped, every file counted', () => {
    const files = filesUnder(consoleDistDir);
    const sizes = files.map((file) => ({ file: path.relative(consoleDistDir, file), gzipBytes: gzipSync(fs.readFileSync(file), { level: 9 }).length }));
    const total = sizes.reduce((sum, size) => sum + size.gzipBytes, 0);
    expect(files.some((file) => file.endsWith('.js'))).toBe(true);
    expect(total, `gzipped sizes: ${JSON.stringify(sizes)}`).toBeLessThan(BUNDLE_BUDGET_BYTES);
  });

  it('loads nothing from another host: no CDN script, stylesheet or web font', () => {
    const html = fs.readFileSync(path.join(consoleDistDir, 'index.html'), 'utf8');
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="(https?:)?\/\//);
    for (const file of filesUnder(consoleDistDir).filter((name) => name.endsWith('.css'))) {
      const css = fs.readFileSync(file, 'utf8');
      expect(css).not.toMatch(/@import|url\((['"])?(https?:)?\/\//);
      expect(css).not.toMatch(/@font-face/);
    }
  });
});
