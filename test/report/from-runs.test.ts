// summaryFromRuns on folders without paper-run.json: older runs' recalibration is marked, the machine is stated plainly; every seed counts.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { curvesChart, sparsityChart } from '../../src/report/charts.js';
import { summaryFromRuns, type ComparisonMeta } from '../../src/report/from-runs.js';
import { writeReport } from '../../src/report/report.js';
import { parseSummary } from '../../src/report/summary.js';

/** The whole committed comparison, whatever rows it holds by now. */
const COMMITTED = join(import.meta.dirname, '../../results/paper');
/**
 * A copy of the comparison's first committed run (results/paper/runs/dsr/seed-1, its sparsity records
 * cut to the first and last): trained before recalibration was judged on validation.
 */
const LEGACY = join(import.meta.dirname, 'fixtures/legacy-comparison');
const SEED_1 = join(LEGACY, 'runs/dsr/seed-1');

async function editJson(path: string, edit: (json: Record<string, unknown>) => void) {
  const json = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  edit(json);
  await writeFile(path, JSON.stringify(json));
}

describe('summaryFromRuns', () => {
  const folders: string[] = [];
  afterAll(async () => {
    for (const f of folders) await rm(f, { recursive: true, force: true });
  });
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dynaprune-from-runs-'));
    folders.push(dir);
    return dir;
  };

  it('reads an older run, marks its test-judged recalibration, and names its machine', async () => {
    const summary = await summaryFromRuns(LEGACY);
    const dsr = summary.models.find((m) => m.id === 'dsr')!;
    expect(dsr.seeds?.[0]?.testAcc).toBe(0.7766);
    expect(dsr.seeds?.[0]?.batchNormRecalibration).toEqual({
      images: 10000,
      testAccBefore: 0.7817,
      testLossBefore: 0.6278301477432251,
    });
    expect(parseSummary(JSON.parse(JSON.stringify(summary))).models).toHaveLength(1);
    // No paper-run.json: the run's own config.json says where and how it ran.
    expect(summary.machine.cpus).toBe(2);
    expect(summary.backend).toBe('wasm');
    expect(summary.command).toContain('dynaprune paper');
    const dir = await tempDir();
    await writeReport(dir, summary);
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('on 2 CPU cores (AMD EPYC, no GPU)');
    expect(md).not.toContain('0 CPU cores');
    expect(md).not.toContain('this command ran for 0 minutes');
    expect(md).toContain('Inference time was not measured');
    expect(md).toContain('77.66% †');
    expect(md).toContain(
      'judged on the test set by an older dynaprune: test accuracy 78.17% before',
    );
    expect(md).toContain('3x-wide, DSR seed 1');
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('3x-wide, DSR seed 1');
  });

  it('reads the committed comparison and marks every run whose recalibration was judged on test', async () => {
    const summary = await summaryFromRuns(COMMITTED);
    expect(parseSummary(JSON.parse(JSON.stringify(summary))).models.length).toBeGreaterThan(0);
    const dir = await tempDir();
    await writeReport(dir, summary);
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    expect(md).not.toContain(' 0 CPU cores');
    for (const m of summary.models)
      for (const s of m.seeds ?? [])
        if (s.batchNormRecalibration && 'testAccBefore' in s.batchNormRecalibration)
          expect(md).toContain(`${m.label} seed ${s.seed}`);
  });

  it('keeps an older seed apart from newer seeds of the same row', async () => {
    const dir = await tempDir();
    await cp(SEED_1, join(dir, 'runs/dsr/seed-1'), { recursive: true });
    await cp(SEED_1, join(dir, 'runs/dsr/seed-2'), { recursive: true });
    await editJson(join(dir, 'runs/dsr/seed-2/result.json'), (r) => {
      r['testAcc'] = 0.781;
      r['batchNormRecalibration'] = {
        images: 10000,
        judgedOn: 'validation',
        validationAccBefore: 0.7846,
        validationLossBefore: 0.62,
        validationAccAfter: 0.7801,
        validationLossAfter: 0.63,
      };
    });
    const summary = await summaryFromRuns(dir);
    await writeReport(dir, summary);
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('77.66% †, 78.10% |');
    expect(md).toContain('seed 2: held-out validation accuracy 78.46% before, 78.01% after');
    expect(md).toContain('3x-wide, DSR seed 1.');
    expect(md).not.toContain('DSR seed 2.');
  });

  it("sums every run's own training time, and says when recalibration was not kept", async () => {
    const dir = await tempDir();
    for (const [seed, seconds] of [
      [1, 600],
      [2, 1500],
    ] as const) {
      await cp(SEED_1, join(dir, `runs/dsr/seed-${seed}`), { recursive: true });
      await editJson(join(dir, `runs/dsr/seed-${seed}/result.json`), (r) => {
        r['trainSeconds'] = seconds;
        r['batchNormRecalibration'] = {
          images: 10000,
          kept: false,
          judgedOn: 'validation',
          validationAccBefore: 0.7828,
          validationLossBefore: 0.61,
          validationAccAfter: 0.779,
          validationLossAfter: 0.62,
        };
      });
    }
    const summary = await summaryFromRuns(dir);
    expect(
      parseSummary(JSON.parse(JSON.stringify(summary))).models[0]!.seeds![1]!.trainSeconds,
    ).toBe(1500);
    await writeReport(dir, summary);
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    // 600 s + 1,500 s, not the first seed's 600 s twice.
    expect(md).toContain('Training took 35 minutes in all (summed over the 2 runs)');
    expect(md).toContain(
      'seed 2: held-out validation accuracy 78.28% before, 77.90% after (not better: not kept)',
    );
  });

  it('orders rows as the caller asks, else as paper-run.json lists them, else by name', async () => {
    const dir = await tempDir();
    for (const row of ['dsr', 'keras-paper', 'static'])
      await cp(SEED_1, join(dir, `runs/${row}/seed-1`), { recursive: true });
    const ids = async (options?: { rowOrder: string[] }) =>
      (await summaryFromRuns(dir, options)).models.map((m) => m.id);
    expect(await ids()).toEqual(['dsr', 'keras-paper', 'static']);
    // A comparison assembled by several `paper --only` commands: the last one named only its own row.
    const meta: ComparisonMeta = {
      createdAt: '2026-12-02T12:00:00.000Z',
      command: 'dynaprune paper --only static',
      machine: (await summaryFromRuns(dir)).machine,
      backend: 'wasm',
      quick: false,
      budget: 122_570,
      wallSeconds: 1200,
      rows: ['static'],
    };
    await writeFile(join(dir, 'paper-run.json'), JSON.stringify(meta));
    expect((await ids())[0]).toBe('static');
    expect(await ids({ rowOrder: ['keras-paper', 'static', 'dsr'] })).toEqual([
      'keras-paper',
      'static',
      'dsr',
    ]);
  });

  it('names the dynaprune version and commits the runs were started with', async () => {
    const dir = await tempDir();
    const software = [
      { dynaprune: '0.1.0', commit: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', modified: false },
      { dynaprune: '0.1.0', commit: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', modified: false },
      { dynaprune: '0.1.0', commit: 'ffffffe4e5f60718293a4b5c6d7e8f9012345678', modified: true },
      undefined,
    ];
    for (const [i, s] of software.entries()) {
      await cp(SEED_1, join(dir, `runs/dsr/seed-${i + 1}`), { recursive: true });
      if (s)
        await editJson(join(dir, `runs/dsr/seed-${i + 1}/config.json`), (c) => (c['software'] = s));
    }
    const summary = await summaryFromRuns(dir);
    expect(summary.software).toBe(
      'dynaprune 0.1.0; commit a1b2c3d (2 runs), commit ffffffe with uncommitted changes (1 run), ' +
        'not recorded (1 run, trained before it was)',
    );
    await writeReport(dir, summary);
    expect(await readFile(join(dir, 'report.md'), 'utf8')).toContain(
      'Software: dynaprune 0.1.0; commit a1b2c3d (2 runs)',
    );
    // Runs that recorded nothing say nothing, rather than "not recorded" for every one.
    expect((await summaryFromRuns(LEGACY)).software).toBeUndefined();
  });

  it('says plainly when no file records the machine', async () => {
    const dir = await tempDir();
    await cp(SEED_1, join(dir, 'runs/dsr/seed-1'), { recursive: true });
    await editJson(join(dir, 'runs/dsr/seed-1/config.json'), (c) => {
      delete c['machine'];
      delete c['backend'];
      delete c['command'];
    });
    const summary = await summaryFromRuns(dir);
    expect(summary.machine.cpus).toBe(0);
    await writeReport(dir, summary);
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('on a machine that was not recorded, tfjs backend `unknown`');
    expect(md).not.toContain('CPU cores');
  });

  it('gives per-layer densities as mean ± std over every seed, and curves as seed means with a band', async () => {
    const dir = await tempDir();
    // Three seeds of one row: seed 2 and 3 differ from seed 1 in conv1's nonzeros and in validation.
    const shifts = [
      { conv1: 192, valAcc: 0 },
      { conv1: 200, valAcc: 0.01 },
      { conv1: 184, valAcc: -0.02 },
    ];
    for (const [i, shift] of shifts.entries()) {
      const seedDir = join(dir, `runs/dsr/seed-${i + 1}`);
      await cp(SEED_1, seedDir, { recursive: true });
      await editJson(join(seedDir, 'result.json'), (r) => {
        (r['layers'] as { nnz: number }[])[0]!.nnz = shift.conv1;
      });
      const metrics = (await readFile(join(seedDir, 'metrics.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { valAcc: number });
      await writeFile(
        join(seedDir, 'metrics.jsonl'),
        metrics.map((m) => JSON.stringify({ ...m, valAcc: m.valAcc + shift.valAcc })).join('\n'),
      );
    }
    const summary = await summaryFromRuns(dir);
    expect(parseSummary(JSON.parse(JSON.stringify(summary))).models[0]!.seeds).toHaveLength(3);
    await writeReport(dir, summary);
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    // conv1 (2,592 weights): 192, 200 and 184 nonzeros, 7.41% ± 0.31%; the other layers agree exactly.
    expect(md).toContain('mean ± standard deviation over the seeds');
    expect(md).toContain('| 3x-wide, DSR | 3 | 7.4 ± 0.3% | 11.5 ± 0.0% |');
    // Curves: the mean of the three seeds, shaded from the lowest to the highest.
    const first = summary.models[0]!.seeds![0]!.epochs![0]!.valAcc;
    const spec = JSON.stringify(curvesChart(summary, 'accuracy'));
    const layers = JSON.parse(spec).layer as { data: { values: Record<string, unknown>[] } }[];
    const band = layers[0]!.data.values.find((v) => v['epoch'] === 1)!;
    expect(band['seeds']).toBe(3);
    expect(band['low']).toBeCloseTo(100 * (first - 0.02), 9);
    expect(band['high']).toBeCloseTo(100 * (first + 0.01), 9);
    const line = layers[1]!.data.values.find(
      (v) => v['epoch'] === 1 && String(v['split']).startsWith('validation'),
    )!;
    expect(line['value']).toBeCloseTo((100 * (3 * first - 0.01)) / 3, 9);
    expect(await readFile(join(dir, 'accuracy.svg'), 'utf8')).toContain(
      'shaded: lowest to highest seed',
    );
  });

  it("draws each layer's density over training as the mean over the seeds, shaded from lowest to highest", async () => {
    const dir = await tempDir();
    // Three seeds whose last update left conv1 (2,592 weights) with 192, 200 and 184 nonzeros.
    for (const [i, conv1] of [192, 200, 184].entries()) {
      const seedDir = join(dir, `runs/dsr/seed-${i + 1}`);
      await cp(SEED_1, seedDir, { recursive: true });
      const path = join(seedDir, 'sparsity.jsonl');
      const records = (await readFile(path, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { layers: { nnz: number }[] });
      records.at(-1)!.layers[0]!.nnz = conv1;
      await writeFile(path, records.map((r) => JSON.stringify(r)).join('\n'));
    }
    const summary = await summaryFromRuns(dir);
    expect(
      parseSummary(JSON.parse(JSON.stringify(summary))).models[0]!.seeds![2]!.densityHistory,
    ).toHaveLength(2);
    const spec = sparsityChart(summary) as unknown as {
      title: { text: string };
      layer: { data: { values: Record<string, unknown>[] } }[];
    };
    expect(spec.title.text).toBe(
      'Per-layer density during training (3x-wide, DSR, mean of 3 seeds)',
    );
    const at = (values: Record<string, unknown>[], layer: string) =>
      values.find((v) => v['step'] === 11993 && v['layer'] === layer)!;
    const band = at(spec.layer[0]!.data.values, 'conv1');
    expect(band['seeds']).toBe(3);
    expect(band['low']).toBeCloseTo((100 * 184) / 2592, 9);
    expect(band['high']).toBeCloseTo((100 * 200) / 2592, 9);
    expect(at(spec.layer[1]!.data.values, 'conv1')['density']).toBeCloseTo((100 * 192) / 2592, 9);
    // The layers the seeds agree on have a band of no width.
    const conv2 = at(spec.layer[0]!.data.values, 'conv2');
    expect(conv2['low']).toBe(conv2['high']);
    await writeReport(dir, summary);
    expect(await readFile(join(dir, 'sparsity.svg'), 'utf8')).toContain(
      'shaded: lowest to highest seed',
    );
  });
});
