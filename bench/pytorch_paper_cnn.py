"""Training throughput of the paper's CNN in PyTorch on one CPU thread: the yardstick for bench/train-throughput.

Prints one JSON line: {"imagesPerSecond": ..., "batches": ..., "torch": version}. Same model, optimizer
(Adam, lr 1e-3), loss, batch size and random data as the TypeScript workers. Benchmarks only; never a test.
"""
import argparse
import json
import time

import torch
from torch import nn


def paper_cnn() -> nn.Module:
    # Keras tutorial CNN, channels-first: Conv(32)-Pool-Conv(64)-Pool-Conv(64)-Dense(64)-Dense(10).
    return nn.Sequential(
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(),
        nn.Flatten(), nn.Linear(4 * 4 * 64, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = paper_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    # CrossEntropyLoss on logits equals Keras's softmax + sparse categorical cross-entropy.
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(args.batches + args.warmup, args.batch_size, 3, 32, 32)
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
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
