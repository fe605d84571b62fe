/**
 * The tar on-disk format: 512-byte ustar headers, pax extended headers ('x') for what ustar cannot hold,
 * checksums and block padding. Pure functions over buffers; no I/O here.
 *
 * We write POSIX ustar, adding a pax 'x' header only when a field does not fit (long path or link
 * target, size >= 8 GiB, odd uid/gid/mtime), so GNU tar, bsdtar and busybox all read our archives.
 */

/** Every header and every data area is a multiple of this. */
export const BLOCK_SIZE = 512;
/** GNU tar's default record (blocking factor 20); we pad archives to it so `tar -rf` appends cleanly. */
export const RECORD_SIZE = 10240;
/** A pax header larger than this is refused: it would be an attack on memory, never a real archive. */
export const MAX_PAX_BYTES = 1024 * 1024;

/** What an entry is, decoded from its typeflag. Anything but file/dir/symlink is refused by callers. */
export type TarEntryType =
  | 'file'
  | 'dir'
  | 'symlink'
  | 'hardlink'
  | 'char-device'
  | 'block-device'
  | 'fifo'
  | 'gnu-long-name'
  | 'gnu-long-link'
  | 'unknown';

/** One entry's header, after pax records have been applied. */
export interface TarHeader {
  /** Path as stored, without the trailing `/` of a directory. */
  path: string;
  type: TarEntryType;
  /** Bytes of content that follow the header. */
  size: number;
  /** Permission bits (`mode & 0o7777`). */
  mode: number;
  /** Modification time in seconds (may be fractional when it came from a pax record). */
  mtime: number;
  /**
   * Exact modification time in nanoseconds, when known. Written as a pax `mtime` record whenever the
   * entry gets a pax header anyway: GNU tar then compares and restores it to the nanosecond.
   */
  mtimeNs?: bigint;
  uid: number;
  gid: number;
  /** Link target for symlinks and hardlinks, '' otherwise. */
  linkTarget: string;
}

/** A malformed header: the archive cannot be parsed further. */
export class TarFormatError extends Error {
  constructor(
    message: string,
    /** Byte offset of the offending header in the (uncompressed) tar stream. */
    readonly offset: number,
  ) {
    super(message);
    this.name = 'TarFormatError';
  }
}

const TYPEFLAG_OF: Record<TarEntryType, string> = {
  file: '0',
  dir: '5',
  symlink: '2',
  hardlink: '1',
  'char-device': '3',
  'block-device': '4',
  fifo: '6',
  'gnu-long-name': 'L',
  'gnu-long-link': 'K',
  unknown: '?',
};

/** Decode a typeflag byte. '\0' is the pre-POSIX regular file; '7' (contiguous) is a regular file too. */
export function typeOfFlag(flag: string): TarEntryType {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'char-device';
    case '4':
      return 'block-device';
    case '5':
      return 'dir';
    case '6':
      return 'fifo';
    case 'L':
      return 'gnu-long-name';
    case 'K':
      return 'gnu-long-link';
    default:
      return 'unknown';
  }
}

/** Bytes of zero padding after `size` bytes of content. */
export function paddingFor(size: number): number {
  const rest = size % BLOCK_SIZE;
  return rest === 0 ? 0 : BLOCK_SIZE - rest;
}

// Field offsets and lengths of the ustar header.
const NAME = 0;
const NAME_LEN = 100;
const MODE = 100;
const UID = 108;
const GID = 116;
const SIZE = 124;
const MTIME = 136;
const CHKSUM = 148;
const TYPEFLAG = 156;
const LINKNAME = 157;
const LINKNAME_LEN = 100;
const MAGIC = 257;
const VERSION = 263;
const DEVMAJOR = 329;
const DEVMINOR = 337;
const PREFIX = 345;
const PREFIX_LEN = 155;

/** Largest value of an octal field of `len` bytes (len-1 digits, then a NUL). */
function octalMax(len: number): number {
  return 8 ** (len - 1) - 1;
}

const MAX_SIZE = octalMax(12);
const MAX_ID = octalMax(8);
const MAX_MTIME = octalMax(12);

function writeOctal(buf: Buffer, offset: number, len: number, value: number): void {
  const digits = value.toString(8).padStart(len - 1, '0');
  buf.write(digits, offset, len - 1, 'latin1');
  buf[offset + len - 1] = 0;
}

/** Where a path goes in the ustar header, or that it needs a pax record. */
interface PathSplit {
  name: string;
  prefix: string;
  pax: boolean;
}

function splitPath(path: string): PathSplit {
  const bytes = Buffer.byteLength(path);
  if (bytes <= NAME_LEN) return { name: path, prefix: '', pax: false };
  if (bytes <= NAME_LEN + PREFIX_LEN + 1) {
    // Split at a '/' so that prefix <= 155 bytes and name <= 100 bytes (both non-empty).
    let cut = path.lastIndexOf('/');
    while (cut > 0) {
      const prefix = path.slice(0, cut);
      const name = path.slice(cut + 1);
      const nameBytes = Buffer.byteLength(name);
      if (nameBytes > NAME_LEN) break; // moving left only makes the name longer
      if (nameBytes > 0 && Buffer.byteLength(prefix) <= PREFIX_LEN) return { name, prefix, pax: false };
      cut = path.lastIndexOf('/', cut - 1);
    }
  }
  // Too long for ustar: the ustar field keeps a truncated hint, the pax 'path' record is authoritative.
  return { name: truncateBytes(path, NAME_LEN), prefix: '', pax: true };
}

function truncateBytes(s: string, max: number): string {
  const b = Buffer.from(s);
  if (b.length <= max) return s;
  // Cut on a UTF-8 character boundary so the hint stays valid text.
  let end = max;
  while (end > 0 && ((b[end] ?? 0) & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString('utf8');
}

/** One pax record: `"<len> <key>=<value>\n"`, where len counts the whole record including itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let digits = String(bodyLen).length;
  let len = bodyLen + digits;
  while (String(len).length !== digits) {
    digits = String(len).length;
    len = bodyLen + digits;
  }
  return `${len}${body}`;
}

/** Encode pax records (in the given order) as the content of an 'x' header. */
export function encodePaxRecords(records: Array<[string, string]>): Buffer {
  return Buffer.from(records.map(([k, v]) => paxRecord(k, v)).join(''), 'utf8');
}

/** Parse the content of a pax 'x'/'g' header. Throws on a malformed record. */
export function parsePaxRecords(buf: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < buf.length) {
    // A trailing run of NULs is tolerated (some writers pad).
    if (buf[i] === 0) break;
    const space = buf.indexOf(0x20, i);
    if (space < 0) throw new Error('pax record without length');
    const len = Number(buf.toString('latin1', i, space));
    if (!Number.isSafeInteger(len) || len <= space - i + 1 || i + len > buf.length) {
      throw new Error('pax record with a bad length');
    }
    const end = i + len;
    if (buf[end - 1] !== 0x0a) throw new Error('pax record not ended by a newline');
    const eq = buf.indexOf(0x3d, space + 1);
    if (eq < 0 || eq >= end) throw new Error('pax record without "="');
    out.set(buf.toString('utf8', space + 1, eq), buf.toString('utf8', eq + 1, end - 1));
    i = end;
  }
  return out;
}

/** The pax records a header needs, or null when plain ustar holds it. */
function paxRecordsFor(h: TarHeader, nameSplit: PathSplit): Array<[string, string]> | null {
  const records: Array<[string, string]> = [];
  if (nameSplit.pax) records.push(['path', h.path + (h.type === 'dir' ? '/' : '')]);
  if (Buffer.byteLength(h.linkTarget) > LINKNAME_LEN) records.push(['linkpath', h.linkTarget]);
  if (h.size > MAX_SIZE) records.push(['size', String(h.size)]);
  if (h.uid > MAX_ID || h.uid < 0) records.push(['uid', String(h.uid)]);
  if (h.gid > MAX_ID || h.gid < 0) records.push(['gid', String(h.gid)]);
  const outOfRange = h.mtime > MAX_MTIME || h.mtime < 0;
  if (outOfRange || (records.length > 0 && h.mtimeNs !== undefined)) {
    records.push(['mtime', h.mtimeNs !== undefined ? formatNs(h.mtimeNs) : String(h.mtime)]);
  }
  return records.length === 0 ? null : records;
}

/** Nanoseconds as decimal seconds for a pax record: `1600000000.25`. */
function formatNs(ns: bigint): string {
  const neg = ns < 0n;
  const abs = neg ? -ns : ns;
  const sec = abs / 1_000_000_000n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${sec}${frac ? `.${frac}` : ''}`;
}

/**
 * Bytes `writeHeader` will write for this header (512, or more with a pax header).
 * Lets the writer make room in its buffer before encoding.
 */
export function headerLength(h: TarHeader): number {
  const records = paxRecordsFor(h, splitPath(dirName(h)));
  if (!records) return BLOCK_SIZE;
  const pax = encodePaxRecords(records).length;
  return BLOCK_SIZE + pax + paddingFor(pax) + BLOCK_SIZE;
}

/** GNU tar writes directory names with a trailing '/', and lists them so; we do the same. */
function dirName(h: TarHeader): string {
  return h.type === 'dir' && !h.path.endsWith('/') ? `${h.path}/` : h.path;
}

/**
 * Encode a header (preceded by a pax 'x' header when needed) into `target` at `offset`.
 * Returns the number of bytes written (see `headerLength`). The target must have room.
 */
export function writeHeader(h: TarHeader, target: Buffer, offset: number): number {
  const split = splitPath(dirName(h));
  const records = paxRecordsFor(h, split);
  let at = offset;
  if (records) {
    const pax = encodePaxRecords(records);
    const base = h.path.slice(h.path.lastIndexOf('/') + 1).replace(/[^\x20-\x7e]/g, '_');
    const paxHeader: TarHeader = {
      path: `PaxHeader/${base.slice(0, 80)}`,
      type: 'file',
      size: pax.length,
      mode: 0o644,
      mtime: 0,
      uid: 0,
      gid: 0,
      linkTarget: '',
    };
    encodeUstar(paxHeader, { name: paxHeader.path, prefix: '', pax: false }, 'x', target, at);
    at += BLOCK_SIZE;
    pax.copy(target, at);
    at += pax.length;
    const pad = paddingFor(pax.length);
    target.fill(0, at, at + pad);
    at += pad;
  }
  encodeUstar(h, split, TYPEFLAG_OF[h.type], target, at);
  return at + BLOCK_SIZE - offset;
}

function encodeUstar(h: TarHeader, split: PathSplit, flag: string, buf: Buffer, o: number): void {
  buf.fill(0, o, o + BLOCK_SIZE);
  buf.write(split.name, o + NAME, NAME_LEN, 'utf8');
  writeOctal(buf, o + MODE, 8, h.mode & 0o7777);
  writeOctal(buf, o + UID, 8, h.uid >= 0 && h.uid <= MAX_ID ? h.uid : 0);
  writeOctal(buf, o + GID, 8, h.gid >= 0 && h.gid <= MAX_ID ? h.gid : 0);
  writeOctal(buf, o + SIZE, 12, h.size <= MAX_SIZE ? h.size : 0);
  const mtime = Math.floor(h.mtime);
  writeOctal(buf, o + MTIME, 12, mtime >= 0 && mtime <= MAX_MTIME ? mtime : 0);
  buf.write(flag, o + TYPEFLAG, 1, 'latin1');
  if (h.linkTarget) buf.write(truncateBytes(h.linkTarget, LINKNAME_LEN), o + LINKNAME, LINKNAME_LEN, 'utf8');
  buf.write('ustar\u000000', o + MAGIC, 8, 'latin1');
  writeOctal(buf, o + DEVMAJOR, 8, 0);
  writeOctal(buf, o + DEVMINOR, 8, 0);
  if (split.prefix) buf.write(split.prefix, o + PREFIX, PREFIX_LEN, 'utf8');
  // Checksum: sum of all bytes with the checksum field itself counted as spaces.
  buf.fill(0x20, o + CHKSUM, o + CHKSUM + 8);
  let sum = 0;
  for (let i = o; i < o + BLOCK_SIZE; i++) sum += buf[i] as number;
  writeOctal(buf, o + CHKSUM, 7, sum);
  buf[o + CHKSUM + 7] = 0x20;
}

/** A header as found in the stream, before pax records are applied. */
export interface RawHeader extends TarHeader {
  /** The typeflag character as stored. */
  typeflag: string;
}

function readString(buf: Buffer, offset: number, len: number): string {
  let end = offset;
  const max = offset + len;
  while (end < max && buf[end] !== 0) end++;
  return buf.toString('utf8', offset, end);
}

/** Parse an octal field (or GNU base-256 when the high bit of the first byte is set). */
function readNumber(buf: Buffer, offset: number, len: number): number {
  const first = buf[offset] as number;
  if (first & 0x80) {
    // Base-256, big-endian, two's complement; the flag bit is not part of the value.
    let value = first & 0x3f;
    const negative = (first & 0x40) !== 0;
    for (let i = 1; i < len; i++) value = value * 256 + (buf[offset + i] as number);
    if (negative) value -= 2 ** (6 + 8 * (len - 1));
    return value;
  }
  let value = 0;
  let i = offset;
  const end = offset + len;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0)) i++; // leading spaces (old tars)
  for (; i < end; i++) {
    const c = buf[i] as number;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return Number.NaN;
    value = value * 8 + (c - 0x30);
  }
  return value;
}

/** True when the 512 bytes at offset are all zero (an end-of-archive block). */
export function isZeroBlock(buf: Buffer, offset: number): boolean {
  for (let i = offset; i < offset + BLOCK_SIZE; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Decode one 512-byte header block. Returns null for an all-zero block (end of archive).
 * Throws TarFormatError on a bad checksum or unparseable numeric field: nothing after it can be trusted.
 * `streamOffset` only feeds error messages.
 */
export function decodeHeader(buf: Buffer, offset: number, streamOffset: number): RawHeader | null {
  if (isZeroBlock(buf, offset)) return null;
  const stored = readNumber(buf, offset + CHKSUM, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const b = i >= CHKSUM && i < CHKSUM + 8 ? 0x20 : (buf[offset + i] as number);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  if (stored !== unsigned && stored !== signed) {
    throw new TarFormatError(`bad header checksum at offset ${streamOffset}`, streamOffset);
  }
  const typeflag = String.fromCharCode(buf[offset + TYPEFLAG] as number);
  let path = readString(buf, offset + NAME, NAME_LEN);
  // The prefix field exists only in POSIX ustar ("ustar\0"); old GNU ("ustar  \0") uses it for times.
  const posix = buf.toString('latin1', offset + MAGIC, offset + MAGIC + 6) === 'ustar\u0000';
  if (posix) {
    const prefix = readString(buf, offset + PREFIX, PREFIX_LEN);
    if (prefix) path = `${prefix}/${path}`;
  }
  const header: RawHeader = {
    path,
    typeflag,
    type: typeOfFlag(typeflag),
    size: readNumber(buf, offset + SIZE, 12),
    mode: readNumber(buf, offset + MODE, 8) & 0o7777,
    mtime: readNumber(buf, offset + MTIME, 12),
    uid: readNumber(buf, offset + UID, 8),
    gid: readNumber(buf, offset + GID, 8),
    linkTarget: readString(buf, offset + LINKNAME, LINKNAME_LEN),
  };
  if (!Number.isSafeInteger(header.size) || header.size < 0) {
    throw new TarFormatError(`bad size field at offset ${streamOffset}`, streamOffset);
  }
  if (Number.isNaN(header.mtime)) header.mtime = 0;
  if (Number.isNaN(header.uid)) header.uid = 0;
  if (Number.isNaN(header.gid)) header.gid = 0;
  return header;
}
