import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Runs a TypeScript fixture in a separate Node process, resolving workspace packages to their sources. */
export function spawnFixture(fixture: string, args: readonly string[]): ChildProcess {
  const file = fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url));
  return spawn(process.execPath, ['--import', 'tsx', '--conditions=@tabstore/source', file, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with everything the child printed once it exits with code 0; rejects with its stderr otherwise. */
export function runFixture(fixture: string, args: readonly string[]): Promise<string> {
  const child = spawnFixture(fixture, args);
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

/** Resolves with the first stdout line that starts with `prefix`. */
export function waitForLine(child: ChildProcess, prefix: string): Promise<string> {
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith(prefix));
      if (line !== undefined) resolve(line);
    });
    child.on('exit', (code) => reject(new Error(`child exited ${code} before printing "${prefix}": ${err}`)));
  });
}
