import { execa } from 'execa';

/** A container a story declares: by exact name, or by a label (`key` or `key=value`). */
export interface ContainerSpec {
  name?: string;
  label?: string;
}

/** A container found through the docker CLI. */
export interface FoundContainer {
  id: string;
  name: string;
  state: string;
  spec: string;
}

/** What the docker CLI said: the engine's containers, or why it could not be asked. */
export type DockerScan = { engine: true; containers: FoundContainer[] } | { engine: false; why: string };

/**
 * Asks the docker CLI (argument arrays, never a shell) for the declared containers. When no engine
 * answers — the CLI is missing, or the daemon is down — it says so rather than reporting "none running".
 */
export async function scanContainers(specs: ContainerSpec[], timeoutMs = 5000): Promise<DockerScan> {
  const info = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false, timeout: timeoutMs, stdin: 'ignore' });
  if (info.exitCode !== 0 || String(info.stdout).trim() === '') {
    const why = info.failed && (info as { code?: string }).code === 'ENOENT' ? 'the docker CLI is not installed' : firstLine(String(info.stderr)) || 'no docker engine answers';
    return { engine: false, why };
  }
  const containers: FoundContainer[] = [];
  for (const spec of specs) {
    // `name=^/x$` is docker's exact-name filter; a bare `name=x` would match any name containing x.
    const filter = spec.name !== undefined ? `name=^/${spec.name}$` : `label=${spec.label ?? ''}`;
    const ps = await execa('docker', ['ps', '-a', '--filter', filter, '--format', '{{.ID}}\t{{.Names}}\t{{.State}}'], { reject: false, timeout: timeoutMs, stdin: 'ignore' });
    if (ps.exitCode !== 0) return { engine: false, why: firstLine(String(ps.stderr)) || 'docker ps failed' };
    for (const line of String(ps.stdout).split('\n').filter(Boolean)) {
      const [id = '', name = '', state = ''] = line.split('\t');
      if (!containers.some((c) => c.id === id)) containers.push({ id, name, state, spec: spec.name ?? `label ${spec.label}` });
    }
  }
  return { engine: true, containers };
}

/** Stops running containers (`docker stop`, which sends SIGTERM then SIGKILL after its timeout). */
export async function stopContainers(ids: string[], timeoutS = 10): Promise<Array<{ id: string; ok: boolean; output: string }>> {
  const out: Array<{ id: string; ok: boolean; output: string }> = [];
  for (const id of ids) {
    const r = await execa('docker', ['stop', '--time', String(timeoutS), id], { reject: false, stdin: 'ignore', timeout: (timeoutS + 20) * 1000 });
    out.push({ id, ok: r.exitCode === 0, output: `${String(r.stdout)}${String(r.stderr)}`.trim() });
  }
  return out;
}

/** Starts containers again (the undo of a stop). */
export async function startContainers(ids: string[]): Promise<void> {
  for (const id of ids) await execa('docker', ['start', id], { stdin: 'ignore' });
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? '';
}
