/**
 * Listening TCP ports of a process, from /proc: the kernel's socket tables give port and socket inode,
 * the process's fd links (`socket:[inode]`) say which of those sockets it holds. No `ss`, no `lsof`.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

/** TCP state LISTEN in /proc/net/tcp's `st` column. */
const TCP_LISTEN = '0A';

/**
 * Parse a /proc/net/tcp or tcp6 table into socket inode → port, for listening sockets only.
 * Columns: `sl local_address rem_address st … uid timeout inode`; the port is the hex after `:`.
 */
export function parseTcpTable(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    const state = cols[3];
    const inode = cols[9];
    if (local === undefined || state !== TCP_LISTEN || inode === undefined || inode === '0') continue;
    const port = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (Number.isInteger(port)) out.set(inode, port);
  }
  return out;
}

async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    // Gone, not permitted, or no IPv6 in this kernel: each table is optional.
    return null;
  }
}

/**
 * Listening sockets (inode → port) in the network namespace of `pid`, or of this process when no pid
 * is given. Reading the process's own view keeps a service inside a container namespace correct.
 */
export async function listeningSockets(pid?: number): Promise<Map<string, number>> {
  const base = pid === undefined ? '/proc/self/net' : `/proc/${pid}/net`;
  const tables = await Promise.all([readOptional(`${base}/tcp`), readOptional(`${base}/tcp6`)]);
  const out = new Map<string, number>();
  for (const text of tables) {
    if (text !== null) for (const [inode, port] of parseTcpTable(text)) out.set(inode, port);
  }
  return out;
}

/** Inodes of the sockets a process holds open (empty when it is gone or not ours to look at). */
export async function socketInodesOf(pid: number): Promise<Set<string>> {
  const out = new Set<string>();
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  await Promise.all(
    fds.map(async (fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`));
        if (m?.[1] !== undefined) out.add(m[1]);
      } catch {
        // The fd closed between readdir and readlink: not a socket we need.
      }
    }),
  );
  return out;
}

/** The TCP ports a process listens on, ascending and without duplicates (IPv4 and IPv6 share them). */
export async function listeningPortsOf(pid: number): Promise<number[]> {
  const [sockets, inodes] = await Promise.all([listeningSockets(pid), socketInodesOf(pid)]);
  const ports = new Set<number>();
  for (const inode of inodes) {
    const port = sockets.get(inode);
    if (port !== undefined) ports.add(port);
  }
  return [...ports].sort((a, b) => a - b);
}
