#!/usr/bin/env bash
# torch_ref.sh: the C trainer and an independent PyTorch implementation
# (bench/torch_ref.py: einsum and autograd, float64) compute the same epoch.
# For every model kind and every stage's groups (stage I: theta and router;
# II: W and router; III: theta and router, and W too for single), plus the
# other gate, loss, router input and normalization on mot: a short joint run
# gives parameters where attention and gate are not uniform; a one-epoch run
# from them (T = 1, the stage chosen by T1 and T2) records its routing; from
# the same data, parameters and routing, torch_ref.py's epoch must give that
# run's *_final.npy to 1e-10 (max |difference| / max |value| per group), and
# leave the frozen groups as they were. Skipped (77) without PyTorch.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${SRCDIR:-.}/tests/lib.sh"

"$PYTHON3" -c 'import torch, numpy' 2>/dev/null || skip "no PyTorch for $PYTHON3 (Debian: python3-torch)"
tmpdir
Q=$SRCDIR/configs/quick.conf
small=(--set n_train=300 --set n_test=50)

# case: NAME MODEL [--set ...]: the start, then one epoch per stage.
runs=()
case_() {
    local name=$1 model=$2
    shift 2
    local start=$TEST_TMP/$name-start
    expect_exit 0 "$MOT" run "$Q" "${small[@]}" --set model="$model" "$@" \
        --set schedule=joint --set T1=0 --set T2=0 --set T=4 --set lr_scale=0.5 \
        --out "$start" >/dev/null
    local init=$TEST_TMP/$name-init
    mkdir -p "$init"
    cp "$start"/*.npy "$start/config.json" "$init/"
    for p in theta W router; do
        [[ -f $start/${p}_final.npy ]] && cp "$start/${p}_final.npy" "$init/${p}_init.npy"
    done
    local stage t1 t2
    for stage in 1 2 3; do
        case $stage in 1) t1=1 t2=1 ;; 2) t1=0 t2=1 ;; 3) t1=0 t2=0 ;; esac
        local out=$TEST_TMP/$name-stage$stage
        expect_exit 0 "$MOT" run "$Q" "${small[@]}" --set model="$model" "$@" \
            --data "$init" --init "$init" --set T=1 --set T1=$t1 --set T2=$t2 \
            --set save_routing=true --threads 2 --out "$out" >/dev/null
        runs+=("$out")
    done
}

case_ mot mot
case_ single single
case_ noattn moe_noattn
case_ ffn moe_ffn
case_ mot-switch mot --set gate=switch --set loss=logistic
case_ mot-sum mot --set router_input=sum --set grad_norm=global
case_ ffn-switch moe_ffn --set gate=switch --set grad_norm=global

"$PYTHON3" "$SRCDIR/bench/torch_ref.py" check --rtol 1e-10 "${runs[@]}" > "$TEST_TMP/check.out" \
    || { cat "$TEST_TMP/check.out"; fail "PyTorch's epoch differs from the C trainer's"; }
cat "$TEST_TMP/check.out"
n=$(grep -c ': model ' "$TEST_TMP/check.out" || true)
((n == ${#runs[@]})) || fail "torch_ref.py checked $n runs of ${#runs[@]}"
echo "PASS"
