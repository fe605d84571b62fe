/**
 * What a failed HTTP request says, for the monitor's sources (the probes and Prometheus' client): whether the
 * connection was refused — by any address tried, since `localhost` fails as one AggregateError of its IPv6 and IPv4
 * attempts — and a message that names the system code, even when the error's own message is empty.
 */

/** A request error read once: refused or not, and in words. */
export function describeRequestError(err: Error): { refused: boolean; message: string } {
  const subs = err instanceof AggregateError ? err.errors.filter((e): e is Error => e instanceof Error) : [];
  const codes = [err, ...subs].map((e) => (e as NodeJS.ErrnoException).code).filter((c): c is string => typeof c === 'string');
  const text = err.message.trim() || subs.map((e) => e.message).join('; ') || err.name;
  const code = codes[0];
  return { refused: codes.includes('ECONNREFUSED'), message: code !== undefined && !text.includes(code) ? `${code}: ${text}` : text };
}
