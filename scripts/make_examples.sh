#!/usr/bin/env bash
# Regenerate the bundled example checkpoints in ccbounds/examples/ (see ccbounds.examples).
#
# Each line below is the exact command stored in its checkpoint's metadata ("train" -> "command");
# `ccbounds train` maps its options 1:1 onto ccbounds.training.TrainConfig, runs on the CPU,
# single-threaded and deterministically, so rerunning this script from the repository root on the
# same machine and torch build rewrites the same weights and metadata. Together they take about 15
# minutes on one busy core (the LSTM about 7 of them). Run from the repository root:  bash scripts/make_examples.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# solves index lookup, n = 16 (held-out accuracy 1.0)
ccbounds train --arch lstm --task index-lookup --n 16 --width 64 --steps 8000 --seed 0 --batch-size 128 --lr 0.003 --clip 1.0 --schedule cosine --eval-size 2000 --layers 1 --q 2 -o ccbounds/examples/lstm-index.pt
# too narrow for the same task: 2 state scalars (h and c)
ccbounds train --arch lstm --task index-lookup --n 16 --width 1 --steps 2000 --seed 0 --batch-size 128 --lr 0.003 --clip 1.0 --schedule cosine --eval-size 2000 --layers 1 --q 2 -o ccbounds/examples/lstm-index-narrow.pt
# a GRU on the same task, written as safetensors
ccbounds train --arch gru --task index-lookup --n 16 --width 64 --steps 4000 --seed 0 --batch-size 128 --lr 0.003 --clip 1.0 --schedule cosine --eval-size 2000 --layers 1 --q 2 -o ccbounds/examples/gru-index.safetensors
# one-layer Transformer on disjointness (Lemma T applies)
ccbounds train --arch tf1 --task disj --n 8 --width 64 --steps 4000 --seed 0 --batch-size 128 --lr 0.001 --clip 1.0 --schedule cosine --eval-size 2000 --layers 1 --heads 4 --q 2 -o ccbounds/examples/tf1-disj.pt
# two-layer Transformer on equality (the audit must refuse to reduce it)
ccbounds train --arch tf2 --task eq --n 8 --width 32 --steps 3000 --seed 0 --batch-size 128 --lr 0.001 --clip 1.0 --schedule cosine --eval-size 2000 --layers 1 --heads 2 --q 2 -o ccbounds/examples/tf2-eq.pt
