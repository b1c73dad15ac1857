import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** How to run a fixture. */
export interface FixtureOptions {
  /** Largest file the child may write, in KiB (`ulimit -f`, POSIX shells only): writes past it fail. */
  fileSizeLimitKiB?: number;
}

/** Runs a TypeScript fixture in a separate Node process, resolving workspace packages to their sources. */
export function spawnFixture(fixture: string, args: readonly string[], options: FixtureOptions = {}): ChildProcess {
  const file = fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url));
  const command = [process.execPath, '--import', 'tsx', '--conditions=@tabstore/source', file, ...args];
  if (options.fileSizeLimitKiB !== undefined) {
    // `ulimit -f` counts 1024-byte blocks in dash and bash alike; Node ignores SIGXFSZ, so writes fail with an error.
    const script = `ulimit -f ${Math.ceil(options.fileSizeLimitKiB)} && exec "$@"`;
    return spawn('/bin/sh', ['-c', script, 'sh', ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
  }
  return spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves with everything the child printed once it exits with code 0; rejects with its stderr otherwise. */
export function runFixture(fixture: string, args: readonly string[], options: FixtureOptions = {}): Promise<string> {
  const child = spawnFixture(fixture, args, options);
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
