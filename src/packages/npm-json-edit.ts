/**
 * Member-level edits of a JSON text that leave every untouched byte as it was: the separators, the
 * indentation and the final newline of the original are reused, and only the members removed or added
 * are written anew (in the file's own indentation, newline and `": "` style). That is what lets a
 * removal followed by its revert give back the original file byte for byte.
 */
import { type JsonDocument, type JsonMember, type JsonNode, type JsonObjectNode, type JsonValue, scanJson } from './npm-json-scan.js';

/** A member as an ordering function sees it: npm's lockfile order puts scalars before objects. */
export interface OrderItem {
  key: string;
  isObject: boolean;
}

/** Compares two members for an object's key order (negative: `a` first). */
export type KeyOrder = (a: OrderItem, b: OrderItem) => number;

/** Where {@link JsonEditor.insert} puts a member: right after a key (`null`: first), or by an order. */
export type InsertAt = { after: string | null } | { order: KeyOrder };

/** How the document writes what it writes: reused for every member we add. */
export interface JsonFormat {
  /** One level of indentation (`"  "`, `"\t"`), or `""` for a one-line document. */
  unit: string;
  newline: '\n' | '\r\n';
  /** What sits between a key and its value, usually `": "`. */
  colon: string;
}

/** One member slot of an edited object: an original member (maybe with a new value) or a new member. */
interface Slot {
  key: string;
  orig?: JsonMember;
  /** Set for new members and for replaced values. */
  value?: JsonValue;
  /** The exact text to write for `value` (a hand-formatted value put back as it was). */
  raw?: string;
}

type PlainObject = { [key: string]: JsonValue };
type Target = { node: JsonObjectNode; chain: JsonObjectNode[] } | { obj: PlainObject };

/** Whether a JSON value is an object (not an array, not null): npm's lockfile order hinges on it. */
export function isPlainObject(v: JsonValue | undefined): v is PlainObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * An editable view of one JSON document. Paths are lists of object keys from the top-level object.
 * Edits are collected and rendered by {@link JsonEditor.toString}; nothing is re-serialised that was
 * not touched.
 */
export class JsonEditor {
  readonly doc: JsonDocument;
  readonly format: JsonFormat;
  private readonly slots = new Map<JsonObjectNode, Slot[]>();
  private readonly dirty = new Set<JsonObjectNode>();

  /** `fallback` is the style to write in when the document has no member to learn it from. */
  constructor(text: string, file: string, fallback?: JsonFormat) {
    this.doc = scanJson(text, file);
    this.format = detectFormat(this.doc, fallback);
  }

  /** Current members of the object at `path` in order, or undefined when `path` names no object. */
  items(path: readonly string[]): OrderItem[] | undefined {
    const t = this.resolve(path);
    if (!t) return undefined;
    if ('obj' in t) return Object.entries(t.obj).map(([key, v]) => ({ key, isObject: isPlainObject(v) }));
    return this.slotsOf(t.node).map((s) => ({ key: s.key, isObject: slotIsObject(s) }));
  }

  /** The current value of member `key` of the object at `path`, or undefined when there is none. */
  get(path: readonly string[], key: string): JsonValue | undefined {
    const t = this.resolve(path);
    if (!t) return undefined;
    if ('obj' in t) return Object.hasOwn(t.obj, key) ? t.obj[key] : undefined;
    const slot = this.slotsOf(t.node).find((s) => s.key === key);
    if (!slot) return undefined;
    if (slot.value !== undefined) return slot.value;
    return JSON.parse(this.render((slot.orig as JsonMember).value)) as JsonValue;
  }

  /** Remove member `key` from the object at `path`; returns whether it was there. */
  remove(path: readonly string[], key: string): boolean {
    const t = this.resolve(path);
    if (!t) return false;
    if ('obj' in t) {
      if (!Object.hasOwn(t.obj, key)) return false;
      delete t.obj[key];
      return true;
    }
    const slots = this.editable(t);
    const i = slots.findIndex((s) => s.key === key);
    if (i < 0) return false;
    slots.splice(i, 1);
    return true;
  }

  /**
   * The text this editor would write for `value` as member `key` of the object at `path`, and the text
   * that member's value has now: when they differ, the value was formatted by hand.
   */
  valueTexts(path: readonly string[], key: string, value: JsonValue): { current: string; canonical: string } | undefined {
    const t = this.resolve(path);
    if (!t || 'obj' in t) return undefined;
    const orig = this.slotsOf(t.node).find((s) => s.key === key)?.orig;
    if (!orig) return undefined;
    const lead = this.doc.text.slice(orig.leadStart, orig.keyStart);
    return { current: this.render(orig.value), canonical: this.serialise(value, indentOf(lead)) };
  }

  /**
   * Add member `key` (which must not exist) to the object at `path`, written as `raw` when given (it must
   * be the JSON text of `value`); returns false when `path` names no object.
   */
  insert(path: readonly string[], key: string, value: JsonValue, at: InsertAt, raw?: string): boolean {
    const t = this.resolve(path);
    if (!t) return false;
    const current = this.items(path) as OrderItem[];
    if (current.some((i) => i.key === key)) throw new Error(`insert: ${JSON.stringify(key)} is already there`);
    const index = insertIndex(current, { key, isObject: isPlainObject(value) }, at);
    if ('obj' in t) {
      const entries = Object.entries(t.obj);
      entries.splice(index, 0, [key, value]);
      for (const k of Object.keys(t.obj)) delete t.obj[k];
      for (const [k, v] of entries) setOwn(t.obj, k, v);
      return true;
    }
    this.editable(t).splice(index, 0, raw === undefined ? { key, value } : { key, value, raw });
    return true;
  }

  /** Replace the value of the existing member `key` of the object at `path`. */
  replace(path: readonly string[], key: string, value: JsonValue): boolean {
    const t = this.resolve(path);
    if (!t) return false;
    if ('obj' in t) {
      if (!Object.hasOwn(t.obj, key)) return false;
      setOwn(t.obj, key, value);
      return true;
    }
    const slot = this.editable(t).find((s) => s.key === key);
    if (!slot) return false;
    slot.value = value;
    return true;
  }

  /** The edited document. */
  toString(): string {
    const { text, root } = this.doc;
    return text.slice(0, root.start) + this.render(root) + text.slice(root.end);
  }

  private resolve(path: readonly string[]): Target | undefined {
    const root = this.doc.root;
    if (root.kind !== 'object') return undefined;
    let node: JsonObjectNode = root;
    const chain: JsonObjectNode[] = [root];
    for (let i = 0; i < path.length; i++) {
      const slot = this.slotsOf(node).find((s) => s.key === path[i]);
      if (!slot) return undefined;
      if (slot.value !== undefined) {
        // A member added (or replaced) in this session: continue in its plain value.
        let v: JsonValue | undefined = slot.value;
        for (const seg of path.slice(i + 1)) v = isPlainObject(v) && Object.hasOwn(v, seg) ? v[seg] : undefined;
        return isPlainObject(v) ? { obj: v } : undefined;
      }
      const next = (slot.orig as JsonMember).value;
      if (next.kind !== 'object') return undefined;
      node = next;
      chain.push(node);
    }
    return { node, chain };
  }

  /** The current slots of an object (cached: a lockfile's `packages` map is looked up once per entry). */
  private slotsOf(node: JsonObjectNode): Slot[] {
    let slots = this.slots.get(node);
    if (!slots) {
      slots = node.members.map((m) => ({ key: m.key, orig: m }));
      this.slots.set(node, slots);
    }
    return slots;
  }

  /** The slots of a node, ready to change: marks the node and its ancestors for re-rendering. */
  private editable(t: { node: JsonObjectNode; chain: JsonObjectNode[] }): Slot[] {
    for (const n of t.chain) this.dirty.add(n);
    return this.slotsOf(t.node);
  }

  private render(node: JsonNode): string {
    const { text } = this.doc;
    if (node.kind !== 'object' || !this.dirty.has(node)) return text.slice(node.start, node.end);
    const slots = this.slotsOf(node);
    if (slots.length === 0) return '{}';
    const origs = node.members;
    const last = origs[origs.length - 1];
    const fresh = this.freshLead(node);
    const leads = slots.map((s) => (s.orig ? text.slice(s.orig.leadStart, s.orig.keyStart) : undefined));
    // Whitespace before a comma; the original last member's is the closing whitespace, not one of these.
    const trails = slots.map((s) => (s.orig && s.orig !== last ? text.slice(s.orig.value.end, s.orig.next) : undefined));
    let out = '{';
    slots.forEach((s, i) => {
      // A new member borrows the whitespace of its nearest original neighbour, so it lines up.
      const lead = leads[i] ?? nearest(leads, i) ?? fresh;
      const indent = indentOf(lead);
      if (i > 0) out += ',';
      out += lead;
      if (s.orig) {
        out += text.slice(s.orig.keyStart, s.orig.valueStart);
        out += s.value !== undefined ? (s.raw ?? this.serialise(s.value, indent)) : this.render(s.orig.value);
      } else {
        out += JSON.stringify(s.key) + this.format.colon + (s.raw ?? this.serialise(s.value as JsonValue, indent));
      }
      if (i < slots.length - 1) out += trails[i] ?? nearest(trails, i) ?? '';
    });
    const close = last ? text.slice(last.value.end, last.next) : this.freshClose(node);
    return `${out}${close}}`;
  }

  /** Value text at a member whose line is indented by `indent` (`null`: the member shares a line). */
  private serialise(value: JsonValue, indent: string | null): string {
    const { unit, newline } = this.format;
    if (indent === null || unit === '') return JSON.stringify(value);
    return JSON.stringify(value, null, unit).replace(/\n/g, newline + indent);
  }

  /** Lead whitespace for the first member of an object that had none. */
  private freshLead(node: JsonObjectNode): string {
    const { unit, newline } = this.format;
    return unit === '' ? '' : newline + lineIndent(this.doc.text, node.start) + unit;
  }

  private freshClose(node: JsonObjectNode): string {
    const { unit, newline } = this.format;
    return unit === '' ? '' : newline + lineIndent(this.doc.text, node.start);
  }
}

/** Assignment that makes even a `__proto__` key an ordinary member, as JSON.parse does. */
function setOwn(obj: PlainObject, key: string, value: JsonValue): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The indentation of a member's line, or null when the member does not start a line. */
function indentOf(lead: string): string | null {
  return lead.includes('\n') ? lead.slice(lead.lastIndexOf('\n') + 1) : null;
}

function slotIsObject(s: Slot): boolean {
  return s.value !== undefined ? isPlainObject(s.value) : (s.orig as JsonMember).value.kind === 'object';
}

function nearest(leads: Array<string | undefined>, i: number): string | undefined {
  for (let d = 1; d < leads.length; d++) {
    const before = leads[i - d];
    if (before !== undefined) return before;
    const after = leads[i + d];
    if (after !== undefined) return after;
  }
  return undefined;
}

function insertIndex(current: OrderItem[], item: OrderItem, at: InsertAt): number {
  if ('after' in at) {
    if (at.after === null) return 0;
    const i = current.findIndex((c) => c.key === at.after);
    return i < 0 ? current.length : i + 1;
  }
  const i = current.findIndex((c) => at.order(item, c) < 0);
  return i < 0 ? current.length : i;
}

/** Whitespace at the start of the line holding `offset`. */
function lineIndent(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart, offset))?.[0] ?? '';
}

/** Read the document's style from its first member; an empty document gets `fallback`, or npm's defaults. */
function detectFormat(doc: JsonDocument, fallback: JsonFormat | undefined): JsonFormat {
  const { text, root } = doc;
  const first = root.kind === 'object' ? root.members[0] : undefined;
  if (!first && fallback) return fallback;
  const newline = text.includes('\r\n') ? '\r\n' : '\n';
  if (!first) return { unit: '  ', newline, colon: ': ' };
  const lead = text.slice(first.leadStart, first.keyStart);
  const unit = lead.includes('\n') ? lead.slice(lead.lastIndexOf('\n') + 1) : '';
  return { unit, newline, colon: text.slice(first.keyEnd, first.valueStart) };
}
