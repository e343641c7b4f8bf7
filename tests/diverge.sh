#!/usr/bin/env bash
# diverge.sh: a run whose loss blows up (eta = 1e6 on quick.conf) warns that
# eta exceeds the stability bound, then exits 3 with one "mot: error:" line
# naming the epoch, and still leaves a complete
# record: summary.json with status "diverged" and diverged_at = the epochs
# completed (= rows of steps.csv), CSV files that parse, no temporaries, no
# final parameters. A sane run of the same config exits 0 with diverged_at
# null. It does not test how large a step diverges: that is the model's.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${SRCDIR:-.}/tests/lib.sh"

tmpdir
Q=$SRCDIR/configs/quick.conf
X=$TEST_TMP/diverged
S=$TEST_TMP/sane

status=0
"$MOT" run "$Q" --set eta=1e6 --out "$X" >"$TEST_TMP/stdout" 2>"$TEST_TMP/stderr" || status=$?
err=$(tail -n +2 "$TEST_TMP/stderr")
warning=$(head -n 1 "$TEST_TMP/stderr")
[[ $status -eq 3 ]] || fail "eta = 1e6: expected exit 3, got $status: $(cat "$TEST_TMP/stderr")"
# Before training, the stability warning (eta far above 2/lambda_max).
[[ $warning == "mot: warning: eta = 1e+06 exceeds the stability bound 2/lambda_max = "*" of the data at initialization" ]] \
    || fail "eta = 1e6: expected the stability warning first on stderr, got: $warning"
[[ $(wc -l <"$TEST_TMP/stderr") -eq 2 && $err == "mot: error: "* ]] \
    || fail "eta = 1e6: expected one \"mot: error:\" line on stderr after the warning, got: $err"
[[ $err =~ epoch\ ([0-9]+) ]] || fail "the error does not name the epoch: $err"
epoch=${BASH_REMATCH[1]}
[[ $err == *"$X"* ]] || fail "the error does not say where the outputs are: $err"
[[ ! -s $TEST_TMP/stdout ]] || fail "a diverged run printed a summary on stdout: $(cat "$TEST_TMP/stdout")"

[[ -f $X/summary.json ]] || fail "no summary.json after divergence"
for f in config.json metrics.csv steps.csv timing.csv train_dispatch.csv theta_init.npy train_X.npy; do
    [[ -f $X/$f ]] || fail "no $f after divergence"
done
leftover=$(find "$X" -mindepth 1 -name '.*' -printf '%f ')
[[ -z $leftover ]] || fail "temporary files left: $leftover"
[[ ! -e $X/theta_final.npy ]] || fail "a diverged run wrote final parameters"

# Epochs completed = rows of steps.csv = rows of timing.csv.
steps=$(($(wc -l <"$X/steps.csv") - 1))
timing=$(($(wc -l <"$X/timing.csv") - 1))
((steps > 0)) || fail "steps.csv has no rows"
[[ $timing -eq $steps ]] || fail "timing.csv has $timing rows, steps.csv $steps"
[[ $epoch -eq $steps ]] || fail "the error names epoch $epoch, steps.csv has $steps rows"

"$PYTHON3" - "$X" "$steps" <<'EOF' || fail "summary.json or the CSV files of the diverged run are wrong (above)"
import csv, json, math, os, sys
run, steps = sys.argv[1], int(sys.argv[2])
s = json.load(open(os.path.join(run, "summary.json")))
errors = []
if s.get("status") != "diverged":
    errors.append(f"status = {s.get('status')!r}")
d = s.get("diverged_at")
if type(d) is not int or d != steps:
    errors.append(f"diverged_at = {d!r}, expected the integer {steps} (rows of steps.csv)")
if s.get("epochs_run") != steps:
    errors.append(f"epochs_run = {s.get('epochs_run')!r}, expected {steps}")
if s.get("epochs_planned") != 200:
    errors.append(f"epochs_planned = {s.get('epochs_planned')!r}")
# Every CSV file parses: a header, then rows of as many numbers.
for name in sorted(os.listdir(run)):
    if not name.endswith(".csv"):
        continue
    with open(os.path.join(run, name), newline="") as f:
        rows = list(csv.reader(f))
    width = len(rows[0])
    for i, row in enumerate(rows[1:], 2):
        if len(row) != width:
            errors.append(f"{name} line {i}: {len(row)} fields, header has {width}")
            break
        try:
            [float(x) for x in row]
        except ValueError:
            errors.append(f"{name} line {i}: not numbers: {row}")
            break
# metrics.csv records every epoch up to the one that diverged.
with open(os.path.join(run, "metrics.csv"), newline="") as f:
    epochs = [int(r["epoch"]) for r in csv.DictReader(f)]
if epochs != list(range(steps + 1)):
    errors.append(f"metrics.csv epochs {epochs[:3]}...{epochs[-3:]}, expected 0..{steps}")
if s["final"]["epoch"] != steps:
    errors.append(f"final.epoch = {s['final']['epoch']}, expected {steps}")
try:
    import pandas as pd
    for name in ("metrics.csv", "steps.csv"):
        pd.read_csv(os.path.join(run, name))
except ImportError:
    pass
if errors:
    sys.exit("\n".join(errors))
EOF

expect_exit 0 "$MOT" run "$Q" --out "$S" >/dev/null
[[ -z $LAST_STDERR ]] || fail "the sane run (eta = 1, under the stability bound) wrote to stderr: $LAST_STDERR"
"$PYTHON3" - "$S/summary.json" <<'EOF' || fail "the sane run's summary.json is wrong (above)"
import json, sys
s = json.load(open(sys.argv[1]))
if "diverged_at" not in s or s["diverged_at"] is not None or s["status"] != "completed":
    sys.exit(f"sane run: status {s.get('status')!r}, diverged_at {s.get('diverged_at', 'missing')!r}")
EOF

echo "PASS"
