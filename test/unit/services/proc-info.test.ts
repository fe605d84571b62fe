import { realpath } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTcpTable } from '../../../src/services/ports.js';
import {
  ancestorsOf,
  listPids,
  parseCmdline,
  parseStat,
  readProc,
  readStat,
  startTimeToEpochMs,
} from '../../../src/services/proc-info.js';
import { cleanup, startNode, tree } from './fixtures.js';

afterEach(cleanup);

describe('parsers', () => {
  it('parses stat when comm holds spaces and parentheses, splitting at the last )', () => {
    const fields = ['S', '10', '42', '42', '0', '-1', '4194560', '1', '0', '0', '0', '0', '0', '0', '0', '20', '0', '1', '0', '987654', '1234'];
    const stat = parseStat(`4242 (evil ) S 1 2 (x) ${fields.join(' ')}`);
    expect(stat).toEqual({ pid: 4242, comm: 'evil ) S 1 2 (x', state: 'S', ppid: 10, pgid: 42, startTime: 987654 });
    expect(parseStat('garbage')).toBeNull();
    expect(parseStat('1 (init) S 0')).toBeNull();
  });

  it('parses cmdline with and without the trailing NUL', () => {
    expect(parseCmdline(Buffer.from('node\0tools/cli.js\0-p\0\0'))).toEqual(['node', 'tools/cli.js', '-p', '']);
    expect(parseCmdline(Buffer.from('node\0a b'))).toEqual(['node', 'a b']);
    expect(parseCmdline(Buffer.alloc(0))).toEqual([]);
  });

  it('keeps only LISTEN rows of a tcp table, port from hex', () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:0BB9 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5551 1 0',
      '   1: 0100007F:0BBA 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000  1000        0 5552 1 0',
      '',
    ].join('\n');
    expect([...parseTcpTable(table)]).toEqual([['5551', 3001]]);
  });
});

describe('reading /proc', () => {
  it('reads this process: argv, uid, cwd, ancestors', async () => {
    const me = await readProc(process.pid);
    expect(me).not.toBeNull();
    expect(me?.uid).toBe(process.getuid?.());
    expect(me?.cwd).toBe(await realpath(process.cwd()));
    expect(me?.argv.slice(1)).toEqual([...process.execArgv, ...process.argv.slice(1)]);
    expect(me?.ppid).toBe(process.ppid);
    expect(await ancestorsOf(process.pid)).toContain(process.ppid);
    expect(await listPids()).toContain(process.pid);
  });

  it('gives a start time that maps to about now for a fresh child', async () => {
    const t = await tree();
    const before = Date.now();
    const child = await startNode('tools/cli.js', [], t.root);
    const stat = await readStat(child.pid);
    const startedMs = await startTimeToEpochMs(stat?.startTime ?? 0);
    expect(Math.abs(startedMs - before)).toBeLessThan(3000);
    expect(stat?.pgid).toBe(child.pid); // detached: leads its own group
  });

  it('answers null for a process that is gone, never throws', async () => {
    const t = await tree();
    const child = await startNode('tools/cli.js', [], t.root);
    expect(await readProc(child.pid)).not.toBeNull();
    child.proc.kill('SIGKILL');
    await child.exited;
    expect(await readProc(child.pid)).toBeNull();
    expect(await readStat(child.pid)).toBeNull();
    // pid_max is at most 2^22: this pid cannot exist.
    expect(await readProc(4_194_305)).toBeNull();
  });
});
