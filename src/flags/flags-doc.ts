/**
 * The in-memory form of `config/feature-flags.yaml`: the values the tool reasons about, plus the exact
 * source positions it needs to edit the file without rewriting it.
 */
import type { Document, LineCounter } from 'yaml';

/** One feature of the pack, as written in the file. */
export interface FeatureFlag {
  /** The flag as written; see `isEffective` for whether the feature is really on. */
  enabled: boolean;
  description?: string;
  /** Names of the features this one needs, in file order. */
  dependencies: string[];
}

/** A `[start, end)` character range of the source text. */
export interface SourceSpan {
  start: number;
  end: number;
}

/** How a scalar is written, so an edit keeps it written the same way. */
export type ScalarStyle = 'plain' | 'single-quoted' | 'double-quoted' | 'block';

/** Where `metadata.last_modified` is written, when the file has one. */
export interface LastModifiedSource {
  span: SourceSpan;
  style: ScalarStyle;
  /** Its value as parsed. */
  value: string;
}

/** A parsed, validated flags file. Treat as immutable: edits produce new text, then a new FlagsDoc. */
export interface FlagsDoc {
  /** Display path used in messages, e.g. `config/feature-flags.yaml`. */
  file: string;
  /** The exact text that was parsed; edits splice into it. */
  text: string;
  /** Every feature, in file order. */
  features: Map<string, FeatureFlag>;
  /** Where each feature's `enabled` scalar is written (the value only: no tag, anchor or comment). */
  enabledSpans: Map<string, SourceSpan>;
  /** Absent when the file has no `metadata.last_modified`: then edits leave metadata alone. */
  lastModified: LastModifiedSource | undefined;
  /** The parsed yaml document, with source ranges on every node. */
  document: Document.Parsed;
  /** Turns offsets of `text` into 1-based lines and columns. */
  lineCounter: LineCounter;
}
