#!/usr/bin/env bash
# run.sh: what `make bench` runs. For configs/paper.conf (the default) and
# configs/bench-large.conf: `mot bench` (the C trainer's time per epoch of
# each model kind and stage, its floating-point work and rate beside a large
# cblas_dgemm's, its peak memory), then, when PyTorch is installed for
# $PYTHON3, bench/torch_ref.py's time per epoch of the same models on the
# same data (written by `mot gen`) with the same thread count, and the
# ratio. Last, tests/torch_ref.sh: both compute the same epoch to 1e-10.
#
# Environment: MOT (default ./mot), SRCDIR (.), PYTHON3 (/usr/bin/python3),
# BENCH_THREADS (threads of both sides; default: the number of cores),
# BENCH_CONFIGS (default "paper bench-large"), TORCH_REPS (5; 3 for the
# large config). OMP_WAIT_POLICY defaults to passive for both sides: on a
# machine shared with other work, threads that spin at barriers lose their
# time slices to it and slow both sides down by several times.
set -euo pipefail

MOT=${MOT:-./mot}
SRCDIR=${SRCDIR:-.}
PYTHON3=${PYTHON3:-/usr/bin/python3}
[[ $PYTHON3 == no ]] && PYTHON3=/usr/bin/python3
threads=${BENCH_THREADS:-}
[[ -n $threads ]] || threads=$(nproc 2>/dev/null || echo 1)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mot-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

have_torch=0
if "$PYTHON3" -c 'import torch, numpy' 2>/dev/null; then
    have_torch=1
else
    echo "bench: no PyTorch for $PYTHON3 (Debian: python3-torch): the C side only"
fi

for conf in ${BENCH_CONFIGS:-paper bench-large}; do
    path=$SRCDIR/configs/$conf.conf
    echo "==== $conf.conf, $threads thread(s), OMP_WAIT_POLICY=$OMP_WAIT_POLICY ===="
    "$MOT" bench "$path" --threads "$threads" --out "$tmp/$conf.c.tsv"
    ((have_torch)) || continue
    reps=${TORCH_REPS:-}
    [[ -n $reps ]] || { [[ $conf == bench-large ]] && reps=3 || reps=5; }
    "$MOT" gen "$path" --out "$tmp/$conf.data" >/dev/null
    echo
    "$PYTHON3" "$SRCDIR/bench/torch_ref.py" --threads "$threads" time "$tmp/$conf.data" \
        --reps "$reps" > "$tmp/$conf.torch.txt"
    rm -rf "$tmp/$conf.data"
    "$PYTHON3" - "$tmp/$conf.c.tsv" "$tmp/$conf.torch.txt" "$reps" <<'PY'
import sys
c, lens, torch = {}, {}, {}
for line in open(sys.argv[1]):
    if line.startswith("#"):
        continue
    model, stage, wall, cpu, flops, rate, n = line.split("\t")
    c[model, int(stage)] = float(wall)
    lens[model, int(stage)] = int(n)
for line in open(sys.argv[2]):
    _, model, stage, ms = line.split()
    torch[model, int(stage)] = float(ms)
print("PyTorch (float64, CPU, einsum + autograd, median of %s epochs after a warm-up) against C:"
      % sys.argv[3])
print("%-10s  %-5s  %10s  %10s  %7s" % ("model", "stage", "C ms", "torch ms", "ratio"))
names = {1: "I", 2: "II", 3: "III"}
for model in ("mot", "single", "moe_noattn", "moe_ffn"):
    cs = ts = n = 0
    for stage in (1, 2, 3):
        key = (model, stage)
        if key not in c or key not in torch:
            continue
        print("%-10s  %-5s  %10.3f  %10.3f  %6.1fx" % (model, names[stage], c[key], torch[key],
                                                      torch[key] / c[key]))
        cs += c[key] * lens[key]
        ts += torch[key] * lens[key]
        n += lens[key]
    if n:
        print("%-10s  %-5s  %10.3f  %10.3f  %6.1fx   (per epoch, over the schedule)"
              % (model, "all", cs / n, ts / n, ts / cs))
PY
    echo
done

if ((have_torch)); then
    echo "==== agreement: one epoch, C against PyTorch, every model kind and stage ===="
    MOT=$MOT SRCDIR=$SRCDIR PYTHON3=$PYTHON3 bash "$SRCDIR/tests/torch_ref.sh"
fi
