#!/usr/bin/env bash
# run_outputs.sh: what `mot run` and `mot gen` write for configs/quick.conf.
# The exact set of files (no leftover temporaries); with numpy and pandas, the
# shape, dtype and values of every .npy file, the columns and rows of every
# CSV file and their agreement with each other, with the .npy files and with
# summary.json; determinism (same config and seed: same bytes, timing aside;
# another seed: other data); `mot gen` writing the same data as `mot run`, and
# `mot run --data` training on it to the same metrics; and routing.npy with
# save_routing = true. It does not judge whether training learns what the
# paper says: proofs-check does.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${SRCDIR:-.}/tests/lib.sh"

tmpdir
Q=$SRCDIR/configs/quick.conf
# quick.conf's shapes, which every check below expects.
N=3 D=16 L=6 NTRAIN=600 NTEST=600 M=6 T1=20 T2=120 T=200
A=$TEST_TMP/a
B=$TEST_TMP/b

data_files=(signals_c.npy signals_v.npy train_X.npy train_y.npy train_class.npy
            test_X.npy test_y.npy test_class.npy)
# timing.csv holds wall times: the only CSV file that may differ between runs.
csv_same=(metrics.csv dispatch.csv gate.csv alignment.csv attention.csv experts.csv
          steps.csv train_dispatch.csv)
csv_files=("${csv_same[@]}" timing.csv)
param_files=()
for p in theta W router; do
    for tag in init stage1 stage2 final; do
        param_files+=("${p}_$tag.npy")
    done
done

# same_files DIR NAME...: fails unless DIR holds exactly the NAMEs (hidden
# files included).
same_files() {
    local dir=$1
    shift
    local want got
    want=$(printf '%s\n' "$@" | LC_ALL=C sort)
    got=$(find "$dir" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort)
    [[ $got == "$want" ]] || fail "$dir holds other files than expected:
$(diff <(echo "$want") <(echo "$got") | grep '^[<>]')"
}

# same_bytes DIR1 DIR2 NAME...: fails unless each NAME is byte-identical in both.
same_bytes() {
    local d1=$1 d2=$2
    shift 2
    local f
    for f in "$@"; do
        [[ -f $d1/$f ]] || fail "$d1/$f is missing"
        cmp -s "$d1/$f" "$d2/$f" || fail "$f differs between $d1 and $d2"
    done
}

# ---- one run: exit 0, a line on stdout, exactly the documented files ------
expect_exit 0 "$MOT" run "$Q" --out "$A" >"$TEST_TMP/a.stdout"
grep -qF "$A: $T epochs" "$TEST_TMP/a.stdout" || fail "mot run stdout: $(cat "$TEST_TMP/a.stdout")"
same_files "$A" config.json summary.json "${csv_files[@]}" "${data_files[@]}" "${param_files[@]}"

# ---- determinism: same config and seed, same bytes (timing aside) ---------
expect_exit 0 "$MOT" run "$Q" --out "$B" >/dev/null
same_files "$B" config.json summary.json "${csv_files[@]}" "${data_files[@]}" "${param_files[@]}"
same_bytes "$A" "$B" config.json "${csv_same[@]}" "${data_files[@]}" "${param_files[@]}"
# summary.json: the same but for the wall times.
"$PYTHON3" - "$A/summary.json" "$B/summary.json" <<'EOF' || fail "summary.json differs beyond its wall times"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for s in (a, b):
    for k in ("seconds", "seconds_per_epoch"):
        assert isinstance(s.pop(k), float), k
if a != b:
    sys.exit("%s\n!=\n%s" % (a, b))
EOF

# ---- another seed: other data ----------------------------------------------
expect_exit 0 "$MOT" run "$Q" --set seed=2 --set T=2 --set T1=1 --set T2=2 --out "$TEST_TMP/seed2" >/dev/null
for f in signals_c.npy train_X.npy test_X.npy theta_init.npy; do
    cmp -s "$A/$f" "$TEST_TMP/seed2/$f" && fail "seed = 2 gave the same $f as seed = 1"
done

# ---- mot gen: exactly the data and config.json, the bytes of the run's ----
G=$TEST_TMP/gen
expect_exit 0 "$MOT" gen "$Q" --out "$G" >"$TEST_TMP/gen.stdout"
grep -qF "$G: $NTRAIN training and $NTEST test samples" "$TEST_TMP/gen.stdout" \
    || fail "mot gen stdout: $(cat "$TEST_TMP/gen.stdout")"
same_files "$G" config.json "${data_files[@]}"
same_bytes "$A" "$G" config.json "${data_files[@]}"
# Trained on the generated data, the run is the plain run.
C=$TEST_TMP/from_gen
expect_exit 0 "$MOT" run "$Q" --data "$G" --out "$C" >/dev/null
same_files "$C" config.json summary.json "${csv_files[@]}" "${data_files[@]}" "${param_files[@]}"
same_bytes "$A" "$C" "${csv_same[@]}" "${data_files[@]}" "${param_files[@]}"

# ---- save_routing = true: routing.npy, and training unchanged -------------
R=$TEST_TMP/routing
expect_exit 0 "$MOT" run "$Q" --set save_routing=true --out "$R" >/dev/null
same_files "$R" config.json summary.json routing.npy "${csv_files[@]}" "${data_files[@]}" "${param_files[@]}"
same_bytes "$A" "$R" "${csv_same[@]}" "${data_files[@]}" "${param_files[@]}"
cmp -s "$A/config.json" "$R/config.json" && fail "config.json does not record save_routing"

# ---- the contents, read by numpy and pandas --------------------------------
if ! "$PYTHON3" -c 'import numpy, pandas' 2>/dev/null; then
    skip "$PYTHON3 lacks numpy or pandas: the contents of the files were not checked"
fi
"$PYTHON3" - "$A" "$R" "$N" "$D" "$L" "$NTRAIN" "$NTEST" "$M" "$T1" "$T2" "$T" <<'EOF' \
    || fail "the files of $A do not hold what they should (above)"
import json, os, sys
import numpy as np
import pandas as pd

run, rdir = sys.argv[1:3]
N, d, L, n_train, n_test, M, T1, T2, T = map(int, sys.argv[3:])
errors = []

def check(ok, msg):
    if not ok:
        errors.append(msg)
    return ok

def npy(name, shape, dtype, where=run):
    a = np.load(os.path.join(where, name), allow_pickle=False)
    check(a.shape == shape, f"{name}: shape {a.shape}, expected {shape}")
    check(a.dtype == np.dtype(dtype), f"{name}: dtype {a.dtype}, expected {np.dtype(dtype)}")
    if a.dtype.kind == "f":
        check(np.isfinite(a).all(), f"{name}: not all finite")
    return a

def csv(name, columns, rows):
    # round_trip: the exact doubles the 17 significant digits stand for.
    f = pd.read_csv(os.path.join(run, name), float_precision="round_trip")
    check(list(f.columns) == columns, f"{name}: columns {list(f.columns)}, expected {columns}")
    check(len(f) == rows, f"{name}: {len(f)} rows, expected {rows}")
    return f

def stage(t):
    return np.where(t < T1, 1, np.where(t < T2, 2, 3))

def close(a, b, name, rtol=1e-12, atol=1e-12):
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    if not check(ok, f"{name}: {a} != {b}" if a.size < 8 else f"{name}: differs"):
        return False
    return True

# ---- config.json ---------------------------------------------------------
cfg = json.load(open(os.path.join(run, "config.json")))
got = (cfg["data"]["N"], cfg["data"]["d"], cfg["data"]["L"], cfg["data"]["n_train"],
       cfg["data"]["n_test"], cfg["model"]["M"], cfg["train"]["T1"], cfg["train"]["T2"],
       cfg["train"]["T"], cfg["model"]["model"], cfg["output"]["save_routing"])
check(got == (N, d, L, n_train, n_test, M, T1, T2, T, "mot", False), f"config.json: {got}")
check(set(cfg) == {"data", "model", "train", "output", "check"}, f"config.json sections: {list(cfg)}")

# ---- the .npy files --------------------------------------------------------
c = npy("signals_c.npy", (N, d), np.float64)
v = npy("signals_v.npy", (N, d), np.float64)
sets = {}
for s, n in (("train", n_train), ("test", n_test)):
    X = npy(f"{s}_X.npy", (n, L, d), np.float64)
    y = npy(f"{s}_y.npy", (n,), np.int32)
    k = npy(f"{s}_class.npy", (n,), np.int32)
    check(set(np.unique(y)) == {-1, 1}, f"{s}_y.npy: labels {np.unique(y)}, expected -1 and 1")
    check(set(np.unique(k)) == set(range(N)), f"{s}_class.npy: classes {np.unique(k)}, expected 0..{N-1}")
    sets[s] = (X, y, k)
check(not np.array_equal(sets["train"][0], sets["test"][0]), "train_X.npy == test_X.npy")
params = {}
for tag in ("init", "stage1", "stage2", "final"):
    params[tag] = (npy(f"theta_{tag}.npy", (M, d), np.float64),
                   npy(f"W_{tag}.npy", (M, d, d), np.float64),
                   npy(f"router_{tag}.npy", (M, d), np.float64))
check(not np.array_equal(params["init"][0], params["final"][0]), "theta did not change in training")
# The three stages (schedule = three_stage): theta, then W, then theta; the
# router throughout.
check(not np.array_equal(params["init"][0], params["stage1"][0]), "theta did not change in stage I")
check(np.array_equal(params["stage1"][0], params["stage2"][0]), "theta changed in stage II")
check(np.array_equal(params["init"][1], params["stage1"][1]), "W changed in stage I")
check(not np.array_equal(params["stage1"][1], params["stage2"][1]), "W did not change in stage II")
check(np.array_equal(params["stage2"][1], params["final"][1]), "W changed in stage III")
for a, b in (("init", "stage1"), ("stage1", "stage2"), ("stage2", "final")):
    check(not np.array_equal(params[a][2], params[b][2]), f"the router did not change from {a} to {b}")

# ---- the CSV files ---------------------------------------------------------
epochs = np.arange(T + 1)
met_cols = (["epoch", "stage", "train_loss", "train_error", "test_loss", "test_error",
             "router_entropy", "gate_p_chosen", "theta_norm", "W_norm", "router_norm"]
            + [f"test_loss_c{i}" for i in range(N)] + [f"test_error_c{i}" for i in range(N)])
met = csv("metrics.csv", met_cols, T + 1)
check(np.array_equal(met.epoch, epochs), "metrics.csv: epochs are not 0..T, once each")
check(np.array_equal(met.stage, stage(met.epoch)), "metrics.csv: wrong stage numbers")
for col in met_cols[2:]:
    check(np.isfinite(met[col]).all(), f"metrics.csv: {col} not all finite")
for col in ["train_error", "test_error", "gate_p_chosen"] + [f"test_error_c{i}" for i in range(N)]:
    check(met[col].between(0, 1).all(), f"metrics.csv: {col} outside [0, 1]")
check((met.router_entropy >= 0).all() and (met.router_entropy <= np.log(M) + 1e-12).all(),
      "metrics.csv: router_entropy outside [0, log M]")
# Norms agree with the parameter snapshots.
for tag, t in (("init", 0), ("stage1", T1), ("stage2", T2), ("final", T)):
    th, W, w = params[tag]
    row = met[met.epoch == t].iloc[0]
    close(row.theta_norm, np.linalg.norm(th), f"metrics.csv theta_norm at {t} vs theta_{tag}.npy")
    close(row.W_norm, np.linalg.norm(W), f"metrics.csv W_norm at {t} vs W_{tag}.npy")
    close(row.router_norm, np.linalg.norm(w), f"metrics.csv router_norm at {t} vs router_{tag}.npy")
# Per-class test losses average to the test loss.
k = sets["test"][2]
share = np.bincount(k, minlength=N) / n_test
close(met[[f"test_loss_c{i}" for i in range(N)]].to_numpy() @ share, met.test_loss,
      "metrics.csv: class-weighted test_loss_c* vs test_loss")
close(met[[f"test_error_c{i}" for i in range(N)]].to_numpy() @ share, met.test_error,
      "metrics.csv: class-weighted test_error_c* vs test_error")

per_class = (T + 1) * N * M
disp = csv("dispatch.csv", ["epoch", "class", "expert", "share"], per_class)
gate = csv("gate.csv", ["epoch", "class", "expert", "mean_pi"], per_class)
align = csv("alignment.csv", ["epoch", "class", "expert", "ffn_align", "traffic", "attn_align"], per_class)
grid = pd.MultiIndex.from_product([epochs, range(N), range(M)]).to_frame(index=False).to_numpy()
for name, f in (("dispatch.csv", disp), ("gate.csv", gate), ("alignment.csv", align)):
    check(np.array_equal(f[["epoch", "class", "expert"]].to_numpy(), grid),
          f"{name}: rows are not every (epoch, class, expert) in order")
check(disp.share.between(0, 1).all(), "dispatch.csv: share outside [0, 1]")
close(disp.groupby(["epoch", "class"]).share.sum(), np.ones(per_class // M),
      "dispatch.csv: shares of an (epoch, class) do not sum to 1")
check(gate.mean_pi.between(0, 1).all(), "gate.csv: mean_pi outside [0, 1]")
close(gate.groupby(["epoch", "class"]).mean_pi.sum(), np.ones(per_class // M),
      "gate.csv: mean_pi of an (epoch, class) do not sum to 1")
check(align.ffn_align.between(-1 - 1e-12, 1 + 1e-12).all(), "alignment.csv: ffn_align outside [-1, 1]")
a = align.attn_align.dropna()
check(a.between(-1 - 1e-12, 1 + 1e-12).all(), "alignment.csv: attn_align outside [-1, 1]")
check(align[align.epoch == T].attn_align.notna().all(), "alignment.csv: attn_align undefined at T")

att = csv("attention.csv", ["epoch", "expert", "routed", "class_token", "label", "distractor", "noise"],
          (T + 1) * M)
check(np.array_equal(att[["epoch", "expert"]].to_numpy(),
                     pd.MultiIndex.from_product([epochs, range(M)]).to_frame(index=False).to_numpy()),
      "attention.csv: rows are not every (epoch, expert) in order")
check(np.array_equal(att.groupby("epoch").routed.sum(), np.full(T + 1, n_test)),
      "attention.csv: routed does not sum to n_test per epoch")
# routed agrees with the dispatch shares times the class sizes of the test set.
counts = np.bincount(k, minlength=N)
routed = (disp.share.to_numpy().reshape(T + 1, N, M) * counts[None, :, None]).sum(axis=1)
close(routed, att.routed.to_numpy().reshape(T + 1, M), "attention.csv routed vs dispatch.csv shares", atol=1e-9)
used = att[att.routed > 0]
close(used[["class_token", "label", "distractor", "noise"]].sum(axis=1), np.ones(len(used)),
      "attention.csv: attention of an expert does not sum to 1")
check(att[att.routed == 0][["class_token", "label", "distractor", "noise"]].isna().all().all(),
      "attention.csv: an expert with no samples has attention values")

exp = csv("experts.csv", ["epoch", "expert", "load", "theta_norm", "W_norm", "router_norm"], (T + 1) * M)
close(exp.load, att.routed / n_test, "experts.csv load vs attention.csv routed")
final = exp[exp.epoch == T]
th, W, w = params["final"]
close(final.theta_norm, np.linalg.norm(th, axis=1), "experts.csv theta_norm at T vs theta_final.npy")
close(final.W_norm, np.linalg.norm(W.reshape(M, -1), axis=1), "experts.csv W_norm at T vs W_final.npy")
close(final.router_norm, np.linalg.norm(w, axis=1), "experts.csv router_norm at T vs router_final.npy")

steps = csv("steps.csv", ["epoch", "stage", "objective", "grad_theta", "grad_W", "grad_router"], T)
check(np.array_equal(steps.epoch, np.arange(T)), "steps.csv: epochs are not 0..T-1")
check(np.array_equal(steps.stage, stage(steps.epoch)), "steps.csv: wrong stage numbers")
check(np.isfinite(steps[["objective", "grad_theta", "grad_W", "grad_router"]]).all().all(),
      "steps.csv: values not all finite")
check((steps.grad_W[steps.stage != 2] == 0).all() and (steps.grad_W[steps.stage == 2] > 0).all(),
      "steps.csv: grad_W is not nonzero exactly in stage II")
check((steps.grad_theta[steps.stage == 2] == 0).all() and (steps.grad_theta[steps.stage != 2] > 0).all(),
      "steps.csv: grad_theta is not nonzero exactly in stages I and III")

td = csv("train_dispatch.csv", ["epoch", "class", "expert", "count"], T * N * M)
check(np.array_equal(td[["epoch", "class", "expert"]].to_numpy(),
                     pd.MultiIndex.from_product([range(T), range(N), range(M)]).to_frame(index=False).to_numpy()),
      "train_dispatch.csv: rows are not every (epoch, class, expert) in order")
check(td["count"].dtype.kind == "i" and (td["count"] >= 0).all(), "train_dispatch.csv: counts are not integers >= 0")
check(np.array_equal(td.groupby("epoch")["count"].sum(), np.full(T, n_train)),
      "train_dispatch.csv: counts do not sum to n_train per epoch")
per = td.groupby(["epoch", "class"])["count"].sum().to_numpy().reshape(T, N)
check((per == np.bincount(sets["train"][2], minlength=N)).all(),
      "train_dispatch.csv: counts of a class are not its size in train_class.npy")

tim = csv("timing.csv", ["epoch", "seconds"], T)
check(np.array_equal(tim.epoch, np.arange(T)), "timing.csv: epochs are not 0..T-1")
check((tim.seconds >= 0).all() and (np.diff(tim.seconds) >= 0).all(), "timing.csv: seconds not cumulative")

# ---- summary.json ----------------------------------------------------------
s = json.load(open(os.path.join(run, "summary.json")))
check((s["model"], s["status"], s["epochs_planned"], s["epochs_run"], s["diverged_at"])
      == ("mot", "completed", T, T, None), f"summary.json: {s}")
last = met.iloc[-1]
check(s["final"]["test_loss"] == last.test_loss,
      f"summary.json final test_loss {s['final']['test_loss']!r} != metrics.csv {last.test_loss!r}")
for key, t in (("T1", T1), ("T2", T2), ("T", T)):
    e = s["stage_ends"][key]
    row = met[met.epoch == t].iloc[0]
    for col in ("train_loss", "train_error", "test_loss", "test_error"):
        check(e[col] == row[col], f"summary.json stage_ends.{key}.{col} {e[col]!r} != metrics.csv {row[col]!r}")
    check(e["epoch"] == t, f"summary.json stage_ends.{key}.epoch = {e['epoch']}")
check(s["final"] == s["stage_ends"]["T"], "summary.json: final != stage_ends.T")
check(s["seconds"] >= 0 and abs(s["seconds_per_epoch"] * T - s["seconds"]) <= 1e-9 * max(1, s["seconds"]),
      "summary.json: seconds_per_epoch is not seconds / T")

# ---- routing.npy (save_routing = true) ----------------------------------------
r = npy("routing.npy", (T, n_train), np.int32, where=rdir)
check(r.min() >= 0 and r.max() < M, f"routing.npy: experts {r.min()}..{r.max()}, expected 0..{M-1}")
# Its counts per (epoch, class, expert) are train_dispatch.csv.
tk = sets["train"][2]
cnt = np.zeros((T, N, M), dtype=np.int64)
np.add.at(cnt, (np.repeat(np.arange(T), n_train), np.tile(tk, T), r.ravel()), 1)
check(np.array_equal(cnt.ravel(), td["count"].to_numpy()), "routing.npy does not count to train_dispatch.csv")

if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
EOF

echo "PASS"
