# The paper's Keras CNN (70.42% in the paper):
npx dynaprune train --model paper-cnn --dataset cifar10 --epochs 10 --out runs/baseline

# The same CNN trained sparse from scratch with DSR at 90% sparsity:
npx dynaprune train --model paper-cnn --method dsr --sparsity 0.9 --out runs/dsr

# A 3x-wider CNN with BatchNorm at the baseline's nonzero budget, cosine learning rate:
npx dynaprune train --model paper-cnn-wide --width 3 --method dsr --sparsity 0.8889 --lr-schedule cosine --out runs/wide

# Store it as CSR, look inside, and evaluate the stored file:
npx dynaprune export runs/dsr --values fp32          # or fp16, int8
npx dynaprune export runs/dsr --format onnx          # the same folded graph as ONNX (opset 13, NCHW) for onnxruntime
npx dynaprune inspect runs/dsr/model.dpr             # per-layer bits per nonzero; size against dense, gzipped dense (tfmot) and an i.i.d. mask estimate
npx dynaprune eval runs/dsr/model.dpr --dataset cifar10   # on the sparse runtime; --compare also runs dense tfjs

# An interrupted run continues where it stopped (Ctrl-C prints this command):
npx dynaprune train --model paper-cnn --method dsr --sparsity 0.9 --out runs/dsr --epochs 12 --resume
