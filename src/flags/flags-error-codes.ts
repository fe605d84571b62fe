/** Codes of the InvalidInputErrors raised while reading the flags file, for callers that branch on `code`. */
export const FlagsErrorCode = {
  missing: 'E_FLAGS_MISSING',
  unreadable: 'E_FLAGS_UNREADABLE',
  syntax: 'E_FLAGS_SYNTAX',
  duplicateKey: 'E_FLAGS_DUPLICATE_KEY',
  schema: 'E_FLAGS_SCHEMA',
  unknownDependency: 'E_FLAGS_UNKNOWN_DEPENDENCY',
  cycle: 'E_FLAGS_CYCLE',
} as const;
