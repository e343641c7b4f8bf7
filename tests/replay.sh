#!/usr/bin/env bash
# replay.sh: `mot run --data A --init A --routing A/routing.npy` replays run A
# exactly, whatever the seed: with seed = 7 (other routing noise) every CSV
# file but timing.csv, every parameter snapshot, the recorded routing and the
# results of summary.json are A's, byte for byte. A negative control, the
# same without --routing, must differ from A, which shows that only the
# replay makes the runs agree (and that the comparison can fail). It does not
# check the files' contents: run_outputs.sh does.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${SRCDIR:-.}/tests/lib.sh"

tmpdir
Q=$SRCDIR/configs/quick.conf
A=$TEST_TMP/a
B=$TEST_TMP/b
C=$TEST_TMP/control

csv_same=(metrics.csv dispatch.csv gate.csv alignment.csv attention.csv experts.csv
          steps.csv train_dispatch.csv)
npy_same=(signals_c.npy signals_v.npy train_X.npy train_y.npy train_class.npy
          test_X.npy test_y.npy test_class.npy routing.npy)
for p in theta W router; do
    for tag in init stage1 stage2 final; do
        npy_same+=("${p}_$tag.npy")
    done
done

expect_exit 0 "$MOT" run "$Q" --set save_routing=true --out "$A" >/dev/null
[[ -f $A/routing.npy ]] || fail "save_routing = true wrote no routing.npy"

# B also saves its routing: it must record what it replayed.
expect_exit 0 "$MOT" run "$Q" --data "$A" --init "$A" --routing "$A/routing.npy" \
    --set seed=7 --set save_routing=true --out "$B" >/dev/null
"$PYTHON3" -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["train"]["seed"] != 7)' \
    "$B/config.json" || fail "$B/config.json does not record seed = 7"
for f in "${csv_same[@]}" "${npy_same[@]}"; do
    [[ -f $A/$f ]] || fail "run A wrote no $f"
    cmp -s "$A/$f" "$B/$f" || fail "the replay differs from run A in $f"
done
# summary.json: the same results; only the wall times may differ.
"$PYTHON3" - "$A/summary.json" "$B/summary.json" <<'EOF' || fail "the replay's summary.json differs from A's"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for s in (a, b):
    del s["seconds"], s["seconds_per_epoch"]
if a != b:
    sys.exit("%s\n!=\n%s" % (a, b))
EOF

# The control: same data and start, seed 7's own routing noise.
expect_exit 0 "$MOT" run "$Q" --data "$A" --init "$A" --set seed=7 --out "$C" >/dev/null
for f in train_X.npy theta_init.npy W_init.npy router_init.npy; do
    cmp -s "$A/$f" "$C/$f" || fail "the control does not start from A's $f"
done
for f in metrics.csv train_dispatch.csv theta_final.npy; do
    cmp -s "$A/$f" "$C/$f" && fail "without --routing, seed = 7 still gives A's $f: the replay test proves nothing"
done

echo "PASS"
