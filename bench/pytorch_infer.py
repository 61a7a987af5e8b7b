"""PyTorch inference on one CPU thread: the PyTorch row of bench/infer-latency (benchmarks only; never a test).

A line server driven by bench/infer-latency.ts, so its timings interleave with the other engines':
  load NAME JSON_PATH   builds the model exported by dynaprune (the ONNX node list of toOnnxModel as JSON,
                        weights in a .bin beside it), traces it, freezes it, applies
                        torch.jit.optimize_for_inference; answers "ok".
  run NAME BATCH RUNS WARMUP OUT_PATH
                        times RUNS calls after WARMUP on the bench's deterministic images (NCHW) and answers
                        with the median ms; writes the first call's output (float32) to OUT_PATH.
Only the ONNX ops dynaprune's exporter emits are supported (docs/ONNX.md).
"""
import json
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def pad_nchw(x, pads, value=0.0):
    top, left, bottom, right = pads
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom), value=value)


class OnnxGraph(torch.nn.Module):
    """Evaluates the exporter's node list with torch ops; weights are buffers, frozen into constants."""

    def __init__(self, spec, weights):
        super().__init__()
        self.nodes = spec["nodes"]
        self.input_name = spec["input"]
        self.output_name = spec["output"]
        self.names = {}
        for i, init in enumerate(spec["initializers"]):
            data = weights[init["offset"] : init["offset"] + int(np.prod(init["dims"]))]
            self.register_buffer(f"w{i}", torch.from_numpy(data.reshape(init["dims"]).copy()))
            self.names[init["name"]] = f"w{i}"

    def value(self, values, name):
        return getattr(self, self.names[name]) if name in self.names else values[name]

    def forward(self, x):
        values = {self.input_name: x}
        for node in self.nodes:
            args = [self.value(values, name) for name in node["inputs"]]
            values[node["outputs"][0]] = self.evaluate(node["opType"], node["attributes"], args)
        return values[self.output_name]

    @staticmethod
    def evaluate(op, attrs, args):
        x = args[0]
        if op == "Conv":
            pads = attrs["pads"]
            bias = args[2] if len(args) > 2 else None
            if pads[0] == pads[2] and pads[1] == pads[3]:
                return F.conv2d(x, args[1], bias, stride=attrs["strides"], padding=(pads[0], pads[1]))
            return F.conv2d(pad_nchw(x, pads), args[1], bias, stride=attrs["strides"])
        if op == "Gemm":
            return F.linear(x, args[1], args[2] if len(args) > 2 else None)
        if op == "Relu":
            return F.relu(x)
        if op == "Softmax":
            return F.softmax(x, dim=attrs["axis"])
        if op == "MaxPool":
            return F.max_pool2d(pad_nchw(x, attrs["pads"], float("-inf")), attrs["kernel_shape"], attrs["strides"])
        if op == "AveragePool":
            # count_include_pad = 0: the mean over in-bounds positions only.
            k, s, pads = attrs["kernel_shape"], attrs["strides"], attrs["pads"]
            total = F.avg_pool2d(pad_nchw(x, pads), k, s)
            ones = pad_nchw(torch.ones_like(x[:1, :1]), pads)
            return total / F.avg_pool2d(ones, k, s)
        if op == "GlobalAveragePool":
            return x.mean(dim=(2, 3), keepdim=True)
        if op == "Flatten":
            return torch.flatten(x, attrs.get("axis", 1))
        if op == "Transpose":
            return x.permute(*attrs["perm"])
        if op == "Add":
            return x + args[1]
        if op == "BatchNormalization":
            scale, bias, mean, var = args[1:5]
            return F.batch_norm(x, mean, var, scale, bias, False, 0.0, attrs["epsilon"])
        raise ValueError(f"unsupported ONNX op {op}")


def bench_images(batch, shape):
    """The bench's pixels: ((i * 7919) % 255) / 255 over NHWC indices, returned NCHW."""
    c, h, w = shape
    nhwc = ((np.arange(batch * h * w * c, dtype=np.int64) * 7919) % 255) / 255.0
    nhwc = nhwc.astype(np.float32).reshape(batch, h, w, c)
    return torch.from_numpy(np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2)))


def load(path):
    with open(path) as f:
        spec = json.load(f)
    weights = np.fromfile(path[: -len(".json")] + ".bin", dtype="<f4")
    module = OnnxGraph(spec, weights).eval()
    example = bench_images(1, spec["inputShape"])
    with torch.no_grad():
        traced = torch.jit.trace(module, example)
    frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))
    return frozen, spec["inputShape"]


def main():
    torch.set_num_threads(1)
    models = {}
    print(json.dumps({"torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "load":
            models[parts[1]] = load(parts[2])
            print("ok", flush=True)
        elif parts[0] == "run":
            model, shape = models[parts[1]]
            batch, runs, warmup = int(parts[2]), int(parts[3]), int(parts[4])
            x = bench_images(batch, shape)
            with torch.no_grad():
                model(x).numpy().astype("<f4").tofile(parts[5])
                for _ in range(warmup):
                    model(x)
                times = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    model(x)
                    times.append((time.perf_counter() - t0) * 1000)
            print(statistics.median(times), flush=True)


if __name__ == "__main__":
    main()
