// A description of the machine and the software a result was measured with, recorded next to every figure.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DYNAPRUNE_VERSION } from '../version.js';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly gpu: 'none';
}

export function describeMachine(): MachineInfo {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    gpu: 'none',
  };
}

/** The software a result was produced with: dynaprune's version and, when run from a git checkout, its commit. */
export interface SoftwareInfo {
  readonly dynaprune: string;
  /** The checkout's commit (absent when dynaprune is not run from a git checkout of its own). */
  readonly commit?: string;
  /** The checkout had uncommitted changes to tracked files. */
  readonly modified?: boolean;
}

/** The package's root: two folders up from src/experiments or dist/experiments. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function describeSoftware(root: string = PACKAGE_ROOT): SoftwareInfo {
  // Only the package's own checkout counts: an installed copy inside someone's repository has no .git.
  if (!existsSync(join(root, '.git'))) return { dynaprune: DYNAPRUNE_VERSION };
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', root, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  try {
    return {
      dynaprune: DYNAPRUNE_VERSION,
      commit: git('rev-parse', 'HEAD'),
      modified: git('status', '--porcelain', '--untracked-files=no') !== '',
    };
  } catch {
    // No git on the machine, or not a repository after all: the version alone.
    return { dynaprune: DYNAPRUNE_VERSION };
  }
}
