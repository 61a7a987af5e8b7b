"""Training throughput of the paper's CNNs in PyTorch on CPU threads: the yardstick for bench/train-throughput.

Prints one JSON line: {"imagesPerSecond": ..., "batches": ..., "threads": ..., "torch": version}. Same models,
optimizer (Adam, lr 1e-3, eps 1e-7), loss, batch size and random data as the TypeScript workers. With
--density < 1, every conv and linear weight gets a random binary mask through torch.nn.utils.prune
(weight = weight_orig * mask in every forward pass): how PyTorch users train sparse models, at the dense
speed. Benchmarks only; never a test.

PyTorch at its best on this CPU: with --memory-format auto (the default) the model trains in whichever memory
format, NCHW or channels-last, ran its steps faster here (timed in CPU time before the measurement): on the
2-core AMD EPYC of RESULTS §5, channels-last trained paper-cnn 1.4-1.7x faster (oneDNN's NHWC convolutions
and a vectorised max pooling) and paper-cnn-wide 0.8x as fast. What else was checked (RESULTS §5): oneDNN runs
the convolutions with its AVX-512 JIT kernels; no subnormal floats appear (flushing them changes nothing);
without oneDNN (torch.backends.mkldnn.enabled = False) steps are 2x slower; Debian's PyTorch links the
reference BLAS (libblas3), which its linear layers use.
"""
import argparse
import json
import time

import torch
from torch import nn
from torch.nn.utils import prune


def paper_cnn() -> nn.Module:
    # Keras tutorial CNN, channels-first: Conv(32)-Pool-Conv(64)-Pool-Conv(64)-Dense(64)-Dense(10).
    return nn.Sequential(
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(),
        nn.Flatten(), nn.Linear(4 * 4 * 64, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def paper_cnn_wide(width: float) -> nn.Module:
    # dynaprune's paper-cnn-wide: each conv without bias, then BatchNorm (Keras's eps 1e-3, momentum 0.99),
    # then ReLU; the same widths (32, 64, 64, 64 times the multiplier).
    f1, f2, f3, units = (round(c * width) for c in (32, 64, 64, 64))

    def block(cin: int, cout: int) -> list:
        return [nn.Conv2d(cin, cout, 3, bias=False), nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01), nn.ReLU()]

    return nn.Sequential(
        *block(3, f1), nn.MaxPool2d(2),
        *block(f1, f2), nn.MaxPool2d(2),
        *block(f2, f3),
        nn.Flatten(), nn.Linear(4 * 4 * f3, units), nn.ReLU(), nn.Linear(units, 10),
    )


def apply_masks(model: nn.Module, density: float, generator: torch.Generator) -> None:
    """A uniformly random mask with round(density * size) ones on every conv and linear weight."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            size = module.weight.numel()
            keep = round(density * size)
            flat = torch.zeros(size)
            flat[torch.randperm(size, generator=generator)[:keep]] = 1
            prune.custom_from_mask(module, "weight", flat.view_as(module.weight))


def build(args: argparse.Namespace, memory_format: torch.memory_format):
    torch.manual_seed(0)
    model = paper_cnn() if args.model == "paper-cnn" else paper_cnn_wide(args.width)
    if args.density < 1:
        apply_masks(model, args.density, torch.Generator().manual_seed(1))
    model = model.to(memory_format=memory_format)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    return model, optimizer


FORMATS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


def fastest_format(args: argparse.Namespace, loss_fn: nn.Module) -> str:
    """The memory format whose training steps took less CPU time (2 rounds of a few steps each)."""
    x = torch.rand(args.batch_size, 3, 32, 32)
    y = torch.randint(0, 10, (args.batch_size,))
    best = {name: float("inf") for name in FORMATS}
    steps = 6 if args.model == "paper-cnn" else 2
    for _ in range(2):
        for name, memory_format in FORMATS.items():
            model, optimizer = build(args, memory_format)
            xf = x.contiguous(memory_format=memory_format)
            for i in range(steps + 1):
                if i == 1:
                    start = time.process_time()
                optimizer.zero_grad(set_to_none=True)
                loss_fn(model(xf), y).backward()
                optimizer.step()
            best[name] = min(best[name], time.process_time() - start)
    return min(best, key=best.get)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", choices=["paper-cnn", "paper-cnn-wide"], default="paper-cnn")
    parser.add_argument("--width", type=float, default=3)
    parser.add_argument("--density", type=float, default=1.0)
    parser.add_argument("--memory-format", choices=["auto", *FORMATS], default="auto")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # CrossEntropyLoss on logits equals Keras's softmax + sparse categorical cross-entropy.
    loss_fn = nn.CrossEntropyLoss()
    memory_format = fastest_format(args, loss_fn) if args.memory_format == "auto" else args.memory_format
    model, optimizer = build(args, FORMATS[memory_format])
    x = [b.contiguous(memory_format=FORMATS[memory_format])
         for b in torch.rand(args.batches + args.warmup, args.batch_size, 3, 32, 32)]
    y = torch.randint(0, 10, (args.batches + args.warmup, args.batch_size))

    def step(i: int) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[i]), y[i])
        loss.backward()
        optimizer.step()
        loss.item()

    for i in range(args.warmup):
        step(i)
    start = time.perf_counter()
    for i in range(args.warmup, args.warmup + args.batches):
        step(i)
    seconds = time.perf_counter() - start
    print(json.dumps({
        "imagesPerSecond": args.batches * args.batch_size / seconds,
        "batches": args.batches,
        "threads": args.threads,
        "model": args.model,
        "density": args.density,
        "memoryFormat": memory_format,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
