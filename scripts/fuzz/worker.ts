// Child process of scripts/fuzz.ts: runs the cases it is sent, one at a time, and reports outcome, time and peak RSS.
import fc from 'fast-check';
import { caseBytes, fuzzCaseArb, runCase, seedContainers } from './cases.js';

/** What the worker sends its parent. */
export type WorkerMessage =
  | { readonly type: 'ready'; readonly baselineKiB: number }
  | {
      readonly type: 'done';
      readonly index: number;
      readonly outcome: Awaited<ReturnType<typeof runCase>>;
      readonly ms: number;
      /** CPU time of the case (user + system): what a hang burns, whatever the machine's load. */
      readonly cpuMs: number;
      readonly peakKiB: number;
      readonly bytes: number;
    };

const send = (message: WorkerMessage) => process.send!(message);
const seeds = seedContainers();
const arb = fuzzCaseArb(seeds.length);
const baseSeed = Number(process.argv[2] ?? '1');
const gc = (globalThis as { gc?: () => void }).gc;

// Warm up on the seeds (wasm compiled, code optimized), so the baseline is what a case starts from.
for (const seed of seeds) await runCase(seed, true);
gc?.();
send({ type: 'ready', baselineKiB: process.resourceUsage().maxRSS });

let done = 0;
process.on('message', (message: { index: number }) => {
  const c = fc.sample(arb, { seed: baseSeed + message.index, numRuns: 1 })[0]!;
  const bytes = caseBytes(seeds, c);
  const started = performance.now();
  const cpu = process.cpuUsage();
  void runCase(bytes, message.index % 10 === 0).then((outcome) => {
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    // Garbage from earlier cases would otherwise count against later ones' peak.
    if (++done % 50 === 0) gc?.();
    send({
      type: 'done',
      index: message.index,
      outcome,
      ms,
      cpuMs,
      peakKiB: process.resourceUsage().maxRSS,
      bytes: bytes.length,
    });
  });
});
