import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node as YamlNode } from 'yaml';
import { positionOf, type Position } from '../util/yaml-position.js';

/** A key path into the config: `['stories', '1.9', 'code', 0]`. */
export type KeyPath = ReadonlyArray<string | number>;

/**
 * The parsed text of `config/rollback.yaml`, kept after validation so that a problem found later (a path
 * another story owns, a venv that is not there) still names the line the user wrote.
 */
export interface ConfigSource {
  /** Display path, as errors name it. */
  readonly file: string;
  /**
   * Where the value at `path` is written (`part: 'key'`: where its key is), or null when the file does not
   * write it. A key written with no value (`feature:`) is found at its key.
   */
  find(path: KeyPath, part?: 'key' | 'value'): Position | null;
  /** The YAML node at `path` (aliases resolved), or undefined when the file does not write it. */
  nodeAt(path: KeyPath): YamlNode | null | undefined;
}

/** A ConfigSource over a parsed YAML document. */
export function yamlConfigSource(file: string, text: string, doc: Document, lineCounter: LineCounter): ConfigSource {
  const ctx = { file, text, lineCounter };
  const walk = (path: KeyPath): { key: YamlNode | null; value: YamlNode | null } | undefined => {
    let value = (doc.contents ?? null) as YamlNode | null;
    let key: YamlNode | null = null;
    for (const seg of path) {
      const node = isAlias(value) ? ((value.resolve(doc) ?? null) as YamlNode | null) : value;
      if (isMap(node)) {
        // A YAML key may be a number (`1.3:`); the parsed config names it by its string form, as here.
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return undefined;
        key = pair.key as YamlNode;
        value = (pair.value ?? null) as YamlNode | null;
      } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
        key = null;
        value = (node.items[seg] ?? null) as YamlNode | null;
      } else {
        return undefined;
      }
    }
    return { key, value };
  };
  const at = (node: YamlNode | null): Position | null => {
    const offset = node?.range?.[0];
    return offset === undefined ? null : positionOf(ctx, offset);
  };
  return {
    file,
    find(path, part = 'value') {
      const hit = walk(path);
      if (!hit) return null;
      return part === 'key' ? (at(hit.key) ?? at(hit.value)) : (at(hit.value) ?? at(hit.key));
    },
    nodeAt(path) {
      const hit = walk(path);
      if (!hit) return undefined;
      return isAlias(hit.value) ? ((hit.value.resolve(doc) ?? null) as YamlNode | null) : hit.value;
    },
  };
}
