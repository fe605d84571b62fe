import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/model/errors.js';
import {
  attributeMemory,
  processMemory,
  readHostMemory,
  residentBytes,
  SourceReadError,
  withDescendants,
} from '../../../src/monitor/proc-memory.js';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length > 0) rmSync(dirs.pop() as string, { recursive: true, force: true });
});

const MEMINFO = `MemTotal:       16000000 kB
MemFree:          900000 kB
MemAvailable:    4000000 kB
Buffers:          120000 kB
Cached:          2900000 kB
`;

/** A process of the fake tree: `rssKib` undefined writes a status without VmRSS, as a zombie's is. */
interface FakeProc {
  pid: number;
  ppid: number;
  name: string;
  rssKib?: number;
  state?: string;
}

/** `stat` as the kernel writes it, far enough for parseStat: fields 3..22, start time last. */
function statLine(p: FakeProc): string {
  const rest = [p.state ?? 'S', p.ppid, p.pid, ...Array<number>(16).fill(0), 4242, 0, 0];
  return `${p.pid} (${p.name}) ${rest.join(' ')}\n`;
}

function statusText(p: FakeProc): string {
  const rss = p.rssKib === undefined ? '' : `VmRSS:\t${String(p.rssKib).padStart(8)} kB\n`;
  return `Name:\t${p.name}\nState:\t${p.state ?? 'S'} (sleeping)\nTgid:\t${p.pid}\nPid:\t${p.pid}\nPPid:\t${p.ppid}\nVmPeak:\t  999999 kB\n${rss}Threads:\t1\n`;
}

function fakeProc(procs: FakeProc[], meminfo: string | null = MEMINFO): string {
  const root = mkdtempSync(path.join(tmpdir(), 'rm-procmem-'));
  dirs.push(root);
  if (meminfo !== null) writeFileSync(path.join(root, 'meminfo'), meminfo);
  writeFileSync(path.join(root, 'uptime'), '1000.00 2000.00\n');
  mkdirSync(path.join(root, 'self'));
  for (const p of procs) {
    mkdirSync(path.join(root, String(p.pid)));
    writeFileSync(path.join(root, String(p.pid), 'stat'), statLine(p));
    writeFileSync(path.join(root, String(p.pid), 'status'), statusText(p));
  }
  return root;
}

/** init; a service (100) with a worker (101, a comm with a space and parentheses) that forked its own (102); a zombie child (103); an unrelated process (200). */
const TREE: FakeProc[] = [
  { pid: 1, ppid: 0, name: 'init', rssKib: 9000 },
  { pid: 100, ppid: 1, name: 'node', rssKib: 200_000 },
  { pid: 101, ppid: 100, name: 'w (1) x', rssKib: 50_000 },
  { pid: 102, ppid: 101, name: 'python3', rssKib: 1_000 },
  { pid: 103, ppid: 100, name: 'node', state: 'Z' },
  { pid: 200, ppid: 1, name: 'postgres', rssKib: 700_000 },
];

async function sourceErrorOf(p: Promise<unknown>): Promise<SourceReadError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SourceReadError);
  return err as SourceReadError;
}

describe('readHostMemory', () => {
  it('reads MemTotal and MemAvailable in bytes, and the used fraction', async () => {
    const root = fakeProc([]);
    expect(await readHostMemory(root)).toEqual({ totalBytes: 16_000_000 * 1024, availableBytes: 4_000_000 * 1024, usedFraction: 0.75 });
  });

  it('a missing, unreadable or malformed meminfo is a SourceReadError naming the file', async () => {
    const missing = await sourceErrorOf(readHostMemory(fakeProc([], null)));
    expect(missing.systemCode).toBe('ENOENT');
    expect(missing.file).toMatch(/meminfo$/);

    // A kernel before 3.14 has no MemAvailable.
    const old = fakeProc([], 'MemTotal:       16000000 kB\nMemFree:          900000 kB\n');
    const noAvail = await sourceErrorOf(readHostMemory(old));
    expect(noAvail.file).toBe(path.join(old, 'meminfo'));
    expect(noAvail.message).toContain('MemAvailable');
    expect(noAvail.systemCode).toBeUndefined();

    await sourceErrorOf(readHostMemory(fakeProc([], 'MemTotal: lots kB\nMemAvailable: 1 kB\n')));
    await sourceErrorOf(readHostMemory(fakeProc([], 'MemTotal: 10 kB\nMemAvailable: 20 kB\n')));
    const dir = fakeProc([], null);
    mkdirSync(path.join(dir, 'meminfo'));
    expect((await sourceErrorOf(readHostMemory(dir))).systemCode).toBe('EISDIR');
  });
});

describe('residentBytes and processMemory', () => {
  it('reads VmRSS of each live pid in bytes; a vanished pid and a zombie are absent', async () => {
    const root = fakeProc(TREE);
    const rss = await residentBytes([100, 101, 103, 999, 100], root);
    expect([...rss]).toEqual([
      [100, 200_000 * 1024],
      [101, 50_000 * 1024],
    ]);
    const procs = await processMemory([101, 200], root);
    expect(procs.get(101)).toEqual({ pid: 101, rssBytes: 50_000 * 1024, name: 'w (1) x' });
    expect(procs.get(200)?.name).toBe('postgres');
    expect((await residentBytes([], root)).size).toBe(0);
  });

  it('a malformed VmRSS or an unreadable status is a SourceReadError, never a silent absence', async () => {
    const root = fakeProc(TREE);
    writeFileSync(path.join(root, '100', 'status'), 'Name:\tnode\nVmRSS:\tmany kB\n');
    const bad = await sourceErrorOf(residentBytes([100], root));
    expect(bad.file).toBe(path.join(root, '100', 'status'));
    rmSync(path.join(root, '101', 'status'));
    mkdirSync(path.join(root, '101', 'status'));
    expect((await sourceErrorOf(residentBytes([101], root))).systemCode).toBe('EISDIR');
  });

  it('a pid that is not a positive integer is the caller’s bug: InvalidInputError', async () => {
    const root = fakeProc(TREE);
    for (const pid of [0, -1, 1.5, Number.NaN]) {
      await expect(residentBytes([100, pid], root)).rejects.toBeInstanceOf(InvalidInputError);
    }
    await expect(withDescendants([0], root)).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe('withDescendants', () => {
  it('adds children and grandchildren after the given pids, each once; a gone pid stays for the readers to drop', async () => {
    const root = fakeProc(TREE);
    const all = await withDescendants([100], root);
    expect(all[0]).toBe(100);
    expect(all.slice(1).sort((a, b) => a - b)).toEqual([101, 102, 103]);
    // Breadth first: the grandchild after its parent.
    expect(all.indexOf(102)).toBeGreaterThan(all.indexOf(101));

    expect(await withDescendants([101, 100, 101], root)).toEqual(expect.arrayContaining([101, 100, 102, 103]));
    expect((await withDescendants([101, 100, 101], root)).slice(0, 2)).toEqual([101, 100]);
    expect(await withDescendants([101, 100, 101], root)).toHaveLength(4);
    expect(await withDescendants([102, 999], root)).toEqual([102, 999]);
    expect(await withDescendants([], root)).toEqual([]);
  });

  it('a procRoot that cannot be listed is a SourceReadError', async () => {
    const root = fakeProc(TREE);
    const err = await sourceErrorOf(withDescendants([100], path.join(root, 'nope')));
    expect(err.systemCode).toBe('ENOENT');
  });

  it('feeds attributeMemory: the service with its forked workers outweighs a bigger single process only together', async () => {
    const root = fakeProc([...TREE, { pid: 300, ppid: 1, name: 'java', rssKib: 240_000 }]);
    const host = await readHostMemory(root);
    const story = async (pids: number[]) => [...(await processMemory(await withDescendants(pids, root), root)).values()];
    const a = attributeMemory(host, { '1.3': await story([100]), '1.5': await story([300]) }, 0.02);
    expect(a.story).toBe('1.3');
    expect(a.share).toBeCloseTo((251_000 * 1024) / (12_000_000 * 1024), 10);
    expect(a.top.map((p) => [p.story, p.pid])).toEqual([
      ['1.5', 300],
      ['1.3', 100],
      ['1.3', 101],
      ['1.3', 102],
    ]);
    // Without its workers, 1.3 would have lost.
    const alone = [...(await processMemory([100], root)).values()];
    expect(attributeMemory(host, { '1.3': alone, '1.5': await story([300]) }, 0.02).story).toBe('1.5');
  });
});

describe('the real /proc', () => {
  it('reads this host, this process and a child; a pid that exited is absent', async () => {
    const host = await readHostMemory();
    expect(host.totalBytes).toBeGreaterThan(0);
    expect(host.availableBytes).toBeLessThanOrEqual(host.totalBytes);
    expect(host.usedFraction).toBeGreaterThanOrEqual(0);
    expect(host.usedFraction).toBeLessThanOrEqual(1);

    const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    const gonePid = gone.pid as number;
    // Node reaps the child before 'exit': its /proc entry is gone by then.
    await new Promise((resolve) => gone.once('exit', resolve));

    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await new Promise((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      const childPid = child.pid as number;
      const rss = await residentBytes([process.pid, childPid, gonePid]);
      expect(rss.get(process.pid)).toBeGreaterThan(0);
      expect(rss.get(childPid)).toBeGreaterThan(0);
      expect(rss.has(gonePid)).toBe(false);
      expect(await withDescendants([process.pid])).toContain(childPid);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });
});

describe('attributeMemory', () => {
  // 1000 total, 200 available: 800 used.
  const host = { totalBytes: 1000, availableBytes: 200 };
  const stories = {
    '1.3': [
      { pid: 11, rssBytes: 300, name: 'node' },
      { pid: 12, rssBytes: 200 },
    ],
    '1.4': [{ pid: 21, rssBytes: 100, name: 'python3' }],
  };

  it('names the story holding the most, when its share of used memory is enough', () => {
    expect(attributeMemory(host, stories, 0.5)).toEqual({
      story: '1.3',
      share: 500 / 800,
      top: [
        { story: '1.3', pid: 11, rssBytes: 300, name: 'node' },
        { story: '1.3', pid: 12, rssBytes: 200 },
        { story: '1.4', pid: 21, rssBytes: 100, name: 'python3' },
      ],
    });
    // Exactly the minimum is enough.
    expect(attributeMemory(host, stories, 0.625).story).toBe('1.3');
  });

  it('a share too small names no story, but still says the share and the evidence', () => {
    const a = attributeMemory(host, stories, 0.7);
    expect(a.story).toBeNull();
    expect(a.share).toBe(500 / 800);
    expect(a.top).toHaveLength(3);
  });

  it('empty input, empty stories or nothing resident: no story, share 0', () => {
    expect(attributeMemory(host, {}, 0.1)).toEqual({ story: null, share: 0, top: [] });
    expect(attributeMemory(host, { '1.3': [] }, 0)).toEqual({ story: null, share: 0, top: [] });
    expect(attributeMemory(host, { '1.3': [{ pid: 1, rssBytes: 0 }] }, 0).story).toBeNull();
    // No used memory at all (a host that says so): nothing to attribute, not a division by zero.
    expect(attributeMemory({ totalBytes: 1000, availableBytes: 1000 }, stories, 0.1)).toMatchObject({ story: null, share: 0 });
  });

  it('lists at most five processes, largest first; a pid listed twice in a story counts once; a tie goes to the first name', () => {
    const many = {
      b: [1, 2, 3, 4].map((i) => ({ pid: i, rssBytes: i * 10 })),
      a: [
        { pid: 5, rssBytes: 50 },
        { pid: 6, rssBytes: 25 },
        { pid: 6, rssBytes: 25 },
      ],
    };
    const r = attributeMemory(host, many, 0);
    expect(r.top.map((p) => p.pid)).toEqual([5, 4, 3, 6, 2]);
    // a: 50 + 25 = 75, not 100; b: 100. b wins.
    expect(r.story).toBe('b');
    expect(attributeMemory(host, { y: [{ pid: 1, rssBytes: 10 }], x: [{ pid: 2, rssBytes: 10 }] }, 0).story).toBe('x');
  });

  it('rejects a minShare outside 0..1 and a size that is no size', () => {
    for (const bad of [-0.1, 1.5, Number.NaN]) expect(() => attributeMemory(host, stories, bad)).toThrow(InvalidInputError);
    expect(() => attributeMemory(host, { s: [{ pid: 1, rssBytes: -1 }] }, 0.1)).toThrow(InvalidInputError);
  });
});
