import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** A CLI process whose output is kept and can be waited on. */
export interface Proc {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output (rejects after `ms` or when the process exits first). */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
}

const running = new Set<ChildProcess>();

/** Starts `harmofl ...args`. */
export function start(args: string[]): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let text = '';
  const waiters: Array<() => void> = [];
  const onData = (b: Buffer): void => {
    text += b.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? -1);
      for (const w of waiters.splice(0)) w();
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    output: () => text,
    exited,
    waitFor: (pattern, ms = 60_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern} in:\n${text.slice(-3000)}`)), ms);
        const check = (): void => {
          const m = text.match(pattern);
          if (m !== null) return void (clearTimeout(timer), resolve(m));
          if (done) return void (clearTimeout(timer), reject(new Error(`process exited before ${pattern}:\n${text.slice(-3000)}`)));
          waiters.push(check);
        };
        check();
      }),
  };
}

/** Stops a process by its pid (SIGKILL unless told otherwise) and waits for it. */
export async function stop(p: Proc, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  await p.exited;
}

/** Stops every process these helpers started and that still runs (a test's cleanup). */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (c) =>
        new Promise<void>((resolve) => {
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  );
}
