// `npm run fuzz`: 50,000 mutated containers through decode, inspect (one case in ten) and the runtime (load and
// one prediction), in a child process that a timer watches; counts untyped errors, cases over 1 s and cases
// whose peak memory passes the ceiling. Exits 1 if any of the three is not 0.
//
// Usage: see USAGE below, or `npm run fuzz -- --help`.
// Each case is fast-check's sample for (seed + index) of the arbitrary in scripts/fuzz/cases.ts, so a case
// is reproduced by its index alone (`--from INDEX --cases 1`). "Over 1 s" is the case's CPU time (user +
// system) in the worker, which a loop burns whatever the load of this shared machine; a worker that spends
// --hang-cpu-seconds of CPU on one case without answering is killed, the case retried once in a fresh
// worker, and counted as a hang if it happens again. --minutes stops early and reports the cases run.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Outcome } from './fuzz/cases.js';
import { FUZZ_LIMITS } from './fuzz/cases.js';
import type { WorkerMessage } from './fuzz/worker.js';

/** Peak RSS above the worker's warmed-up baseline that counts as an allocation over the ceiling. */
const CEILING_BYTES = 256 * 2 ** 20;
/** A fresh worker every so many cases keeps the peak-RSS baseline honest. */
const CASES_PER_WORKER = 5000;

const USAGE = `Usage: npm run fuzz -- [options]
  --cases N             how many cases to run (default 50000)
  --from INDEX          the index of the first case (default 0): --from 123 --cases 1 reruns case 123
  --seed S              case INDEX is fast-check's sample for seed S + INDEX (default 1)
  --hang-cpu-seconds T  CPU seconds one case may use before the worker is killed (default 10)
  --minutes M           stop after M minutes and report the cases run (default: no limit)
  --json FILE           write the summary (and every 100 cases a partial one) to FILE
  --help                print this and exit
`;

/** The command line's options, or exit 2 with the usage when one is unknown or not a whole number. */
function readFlags() {
  const fail = (message: string): never => {
    process.stderr.write(`${message}\n${USAGE}`);
    process.exit(2);
  };
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        cases: { type: 'string', default: '50000' },
        from: { type: 'string', default: '0' },
        seed: { type: 'string', default: '1' },
        'hang-cpu-seconds': { type: 'string', default: '10' },
        minutes: { type: 'string', default: 'Infinity' },
        json: { type: 'string', default: '' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    return fail((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  for (const name of ['cases', 'from', 'seed'] as const) {
    const value = Number(values[name]);
    if (!Number.isSafeInteger(value) || value < 0)
      fail(`--${name} takes a whole number, found ${values[name]}`);
  }
  return values;
}

const flags = readFlags();
const total = Number(flags.cases);
const first = Number(flags.from);
const seed = Number(flags.seed);
const hangSeconds = Number(flags['hang-cpu-seconds']);
const minutes = Number(flags.minutes);
const jsonPath = flags.json;

type Done = Extract<WorkerMessage, { type: 'done' }>;

/** CPU seconds (user + system) a process has used, from /proc (Linux; 0 elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of the file (utime, stime) in clock ticks of 1/100 s.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

class Worker {
  private child: ChildProcess;
  private pending?: (m: Done | undefined) => void;
  baselineKiB = 0;
  ran = 0;
  readonly ready: Promise<void>;
  constructor() {
    this.child = fork(fileURLToPath(new URL('./fuzz/worker.ts', import.meta.url)), [String(seed)], {
      execArgv: ['--import', 'tsx', '--conditions=dynaprune-source', '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') {
          this.baselineKiB = m.baselineKiB;
          resolve();
        } else this.pending?.(m);
      });
      this.child.on('exit', (code) => {
        reject(new Error(`fuzz worker exited (${code}) before it was ready`));
        this.pending?.(undefined);
      });
    });
  }
  /** Runs case `index`; undefined when it does not answer within the timeout (the worker is then killed). */
  run(index: number): Promise<Done | undefined> {
    this.ran++;
    return new Promise((resolve) => {
      const startCpu = cpuSeconds(this.child.pid);
      // A hang burns CPU: the worker is stopped once the case has used hangSeconds of it (not of wall time,
      // which a loaded machine stretches), or after ten minutes of wall time whatever it used.
      const started = Date.now();
      const timer = setInterval(() => {
        const used = cpuSeconds(this.child.pid) - startCpu;
        if (used < hangSeconds && Date.now() - started < 600_000) return;
        clearInterval(timer);
        this.pending = undefined;
        this.kill();
        resolve(undefined);
      }, 500);
      this.pending = (m) => {
        clearInterval(timer);
        this.pending = undefined;
        resolve(m);
      };
      this.child.send({ index });
    });
  }
  kill(): void {
    this.child.removeAllListeners('exit');
    this.child.kill('SIGKILL');
  }
}

interface Summary {
  cases: number;
  accepted: number;
  acceptedNonFinite: number;
  refused: Record<string, number>;
  untyped: number;
  hangs: number;
  timeoutsRetried: number;
  over1s: number;
  overCeiling: number;
  maxMs: number;
  p99Ms: number;
  maxPeakAboveBaselineMiB: number;
  examples: {
    untyped: string[];
    hangs: number[];
    over1s: number[];
    overCeiling: number[];
    nonFinite: number[];
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const s: Summary = {
    cases: 0,
    accepted: 0,
    acceptedNonFinite: 0,
    refused: {},
    untyped: 0,
    hangs: 0,
    timeoutsRetried: 0,
    over1s: 0,
    overCeiling: 0,
    maxMs: 0,
    p99Ms: 0,
    maxPeakAboveBaselineMiB: 0,
    examples: { untyped: [], hangs: [], over1s: [], overCeiling: [], nonFinite: [] },
  };
  const times: number[] = [];
  let worker = new Worker();
  await worker.ready;
  const fresh = async (): Promise<void> => {
    worker.kill();
    worker = new Worker();
    await worker.ready;
  };
  for (let index = first; index < first + total; index++) {
    if ((Date.now() - started) / 60_000 > minutes) break;
    if (worker.ran >= CASES_PER_WORKER) await fresh();
    let done = await worker.run(index);
    if (!done) {
      s.timeoutsRetried++;
      await fresh();
      done = await worker.run(index);
      if (!done) {
        s.hangs++;
        s.examples.hangs.push(index);
        await fresh();
        s.cases++;
        continue;
      }
    }
    s.cases++;
    record(s, done.outcome, index);
    times.push(done.cpuMs);
    s.maxMs = Math.max(s.maxMs, done.cpuMs);
    if (done.cpuMs > 1000) {
      s.over1s++;
      s.examples.over1s.push(index);
    }
    const above = (done.peakKiB - worker.baselineKiB) * 1024;
    s.maxPeakAboveBaselineMiB = Math.max(s.maxPeakAboveBaselineMiB, above / 2 ** 20);
    if (above > CEILING_BYTES) {
      s.overCeiling++;
      s.examples.overCeiling.push(index);
      await fresh();
    }
    const ran = index + 1 - first;
    if (ran % 100 === 0 && jsonPath)
      await writeFile(jsonPath, JSON.stringify({ ...s, partial: true }, null, 2) + '\n');
    if (ran % 5000 === 0)
      process.stderr.write(
        `fuzz: ${ran}/${total} cases, ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
      );
  }
  worker.kill();
  times.sort((a, b) => a - b);
  s.p99Ms = times[Math.floor(times.length * 0.99)] ?? 0;
  report(s, (Date.now() - started) / 1000);
  if (jsonPath) await writeFile(jsonPath, JSON.stringify(s, null, 2) + '\n');
  process.stdout.write(JSON.stringify({ ...s, examples: undefined }) + '\n');
  if (s.untyped + s.hangs + s.over1s + s.overCeiling > 0) process.exitCode = 1;
}

function record(s: Summary, outcome: Outcome, index: number): void {
  if (outcome.kind === 'accepted') {
    s.accepted++;
    if (!outcome.finite) {
      s.acceptedNonFinite++;
      if (s.examples.nonFinite.length < 20) s.examples.nonFinite.push(index);
    }
  } else if (outcome.kind === 'refused') {
    s.refused[outcome.code] = (s.refused[outcome.code] ?? 0) + 1;
  } else {
    s.untyped++;
    if (s.examples.untyped.length < 10) s.examples.untyped.push(`case ${index}: ${outcome.error}`);
  }
}

function report(s: Summary, seconds: number): void {
  const refused = Object.values(s.refused).reduce((a, b) => a + b, 0);
  const rows: [string, string][] = [
    ['cases', String(s.cases)],
    [
      'refused with a typed error',
      `${refused} (${Object.entries(s.refused)
        .sort((a, b) => b[1] - a[1])
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')})`,
    ],
    [
      'accepted (decoded, loaded, predicted)',
      `${s.accepted}, of which ${s.acceptedNonFinite} with non-finite outputs`,
    ],
    ['**untyped errors**', `**${s.untyped}**`],
    [
      `**hangs** (${hangSeconds} s of CPU without an answer, twice)`,
      `**${s.hangs}** (${s.timeoutsRetried} first-try timeouts retried)`,
    ],
    ['**cases over 1 s** (CPU time of the case in the worker)', `**${s.over1s}**`],
    [
      `**peak RSS over the ceiling** (baseline + ${CEILING_BYTES / 2 ** 20} MiB)`,
      `**${s.overCeiling}**`,
    ],
    [
      'CPU time: slowest case, 99th percentile',
      `${s.maxMs.toFixed(0)} ms, ${s.p99Ms.toFixed(1)} ms`,
    ],
    ['largest peak RSS above the baseline', `${s.maxPeakAboveBaselineMiB.toFixed(1)} MiB`],
    [
      'limits',
      `maxElements ${FUZZ_LIMITS.maxElements}, maxMemoryBytes ${FUZZ_LIMITS.maxMemoryBytes / 2 ** 20} MiB`,
    ],
    [
      'wall time',
      `${seconds.toFixed(0)} s (${cpus().length} cores, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')})`,
    ],
  ];
  const lines = ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)];
  process.stdout.write(lines.join('\n') + '\n');
  for (const e of s.examples.untyped) process.stdout.write(`untyped: ${e}\n`);
  if (s.examples.hangs.length) process.stdout.write(`hang cases: ${s.examples.hangs.join(', ')}\n`);
  if (s.examples.over1s.length)
    process.stdout.write(`over 1 s: ${s.examples.over1s.slice(0, 20).join(', ')}\n`);
  if (s.examples.overCeiling.length)
    process.stdout.write(`over the ceiling: ${s.examples.overCeiling.join(', ')}\n`);
  if (s.examples.nonFinite.length)
    process.stdout.write(`accepted, non-finite outputs: ${s.examples.nonFinite.join(', ')}\n`);
}

await main();
