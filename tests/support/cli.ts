import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { repoRoot } from './gateway.js';

export interface CliResult {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
}

/** Runs a CLI command in-process, capturing what it prints. */
export async function cli(...argv: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out, err };
}

/** The real `guardpost` command as a child process (TypeScript sources through tsx). */
export function spawnGuardpost(args: string[], env: NodeJS.ProcessEnv = {}, stdin: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/main.ts'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: [stdin, 'pipe', 'pipe'],
  });
}

export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function finished(child: ChildProcess): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}
