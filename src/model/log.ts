/** The few logging calls the engine makes; pino satisfies it, and so does a silent twin in tests. */
export interface Log {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
