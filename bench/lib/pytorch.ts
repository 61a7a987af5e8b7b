// The PyTorch peer: bench/pytorch_infer.py as a line server on /usr/bin/python3, fed dynaprune's ONNX node list.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { OnnxModel } from '../../src/convert/onnx-proto.js';

const PYTHON = '/usr/bin/python3';
const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'pytorch_infer.py');

/** One long-lived Python process holding traced, frozen, optimize_for_inference'd models by name. */
export class PytorchPeer {
  readonly torchVersion: string;
  private readonly folder = mkdtempSync(join(tmpdir(), 'dynaprune-torch-'));
  private readonly pending: ((line: string) => void)[] = [];

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    lines: Interface,
    firstLine: string,
  ) {
    this.torchVersion = (JSON.parse(firstLine) as { torch: string }).torch;
    lines.on('line', (line) => this.pending.shift()?.(line));
  }

  /** Starts the server, or says why not (no torch for /usr/bin/python3). */
  static async start(): Promise<PytorchPeer | string> {
    const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
    if (probe.status !== 0)
      return `no PyTorch for ${PYTHON} (${probe.stderr.trim().split('\n').at(-1)})`;
    const child = spawn(PYTHON, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => process.stderr.write(`[pytorch] ${d.toString()}`));
    const lines = createInterface({ input: child.stdout });
    const first = await new Promise<string>((resolve) => lines.once('line', resolve));
    return new PytorchPeer(child, lines, first);
  }

  private ask(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.pending.push(resolve);
      this.child.stdin.write(command + '\n', (error) => error && reject(error));
    });
  }

  /** Hands the exporter's model (NCHW, `inputShape` [c, h, w]) to Python under `name`. */
  async load(name: string, model: OnnxModel, inputShape: readonly number[]): Promise<void> {
    let offset = 0;
    const initializers = model.initializers.map((init) => {
      const entry = { name: init.name, dims: init.dims, offset };
      offset += init.values.length;
      return entry;
    });
    const weights = new Float32Array(offset);
    model.initializers.forEach((init, i) => weights.set(init.values, initializers[i]!.offset));
    const base = join(this.folder, name.replace(/[^\w-]/g, '_'));
    writeFileSync(`${base}.bin`, new Uint8Array(weights.buffer));
    const nodes = model.nodes.map((n) => ({
      opType: n.opType,
      inputs: n.inputs,
      outputs: n.outputs,
      attributes: Object.fromEntries(
        n.attributes.map((a) => [a.name, 'int' in a ? a.int : 'float' in a ? a.float : a.ints]),
      ),
    }));
    const spec = {
      input: model.inputs[0]!.name,
      output: model.outputs[0]!.name,
      inputShape,
      nodes,
      initializers,
    };
    writeFileSync(`${base}.json`, JSON.stringify(spec));
    const answer = await this.ask(`load ${name} ${base}.json`);
    if (answer !== 'ok') throw new Error(`PyTorch could not load ${name}: ${answer}`);
  }

  /** Median ms of `runs` calls at `batch` on the bench's images, and the first call's output. */
  async run(
    name: string,
    batch: number,
    runs: number,
    warmup: number,
  ): Promise<{ ms: number; output: Float32Array }> {
    const out = join(this.folder, 'output.f32');
    const ms = Number(await this.ask(`run ${name} ${batch} ${runs} ${warmup} ${out}`));
    const bytes = readFileSync(out);
    return { ms, output: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) };
  }

  close(): void {
    this.child.stdin.end();
    rmSync(this.folder, { recursive: true, force: true });
  }
}
