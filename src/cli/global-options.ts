/** Options every command takes. */
export interface GlobalOptions {
  /** The project root, before resolution. */
  root: string;
  /** One JSON document on stdout and nothing else there. */
  json: boolean;
  verbose: boolean;
}

/** Writes one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (k, v: unknown) => (k === 'manifest' ? undefined : v), 2)}\n`);
}
