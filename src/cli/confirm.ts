import { createInterface } from 'node:readline/promises';

/** True when a person can answer: both stdin and stderr are terminals. */
export function canAsk(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/**
 * Asks a yes/no question on the terminal; anything but y/yes is no. Ctrl-C at the prompt (which readline
 * takes from the terminal itself, so no SIGINT reaches the process) answers `interrupted`.
 */
export async function confirm(question: string): Promise<boolean | 'interrupted'> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const ask = new AbortController();
  rl.on('SIGINT', () => ask.abort());
  try {
    const answer = await rl.question(`${question} [y/N] `, { signal: ask.signal });
    return /^y(es)?$/i.test(answer.trim());
  } catch (err) {
    if (ask.signal.aborted) return 'interrupted';
    throw err;
  } finally {
    rl.close();
  }
}
