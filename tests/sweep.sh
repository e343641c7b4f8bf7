#!/usr/bin/env bash
# sweep.sh: `mot sweep` and `mot check SWEEP_DIR` on a tiny grid of
# configs/quick.conf (12 points of 40 epochs). The run directories and the
# rows of sweep.csv do not depend on how the sweep was executed: --jobs 1,
# --jobs 2, two shards into one directory, a sweep killed with SIGKILL and
# started again, and (when the build has MPI and mpirun is on PATH) 2 MPI
# ranks all give the same files, byte for byte, wall times aside (timing.csv,
# the seconds of summary.json, the seconds column of sweep.csv). Also: bad
# [sweep] values and options exit 2 with nothing written, re-running skips
# finished points and redoes unfinished ones, a worker killed alone makes its
# point failed (redone next time), a diverged run is a row like any other, and
# mot check writes its files.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${SRCDIR:-.}/tests/lib.sh"

tmpdir
Q=$SRCDIR/configs/quick.conf
C=$TEST_TMP/sweep.conf
small=(--set T=40 --set T1=5 --set T2=20 --set n_train=200 --set n_test=200)
{ cat "$Q"; printf '\n[sweep]\nlr_scale = 0.5, 1\nsigma0 = 0.01:1:x10\nseeds = 1:2\n'; } > "$C"
POINTS=12

# same_runs DIR1 DIR2: the run directories hold the same files with the same
# bytes, except for wall times.
same_runs() {
    local a=$1/runs b=$2/runs d f
    [[ $(ls "$a" | wc -l) -eq $POINTS ]] || fail "$a holds $(ls "$a" | wc -l) runs, not $POINTS"
    diff <(cd "$a" && find . -type f | LC_ALL=C sort) <(cd "$b" && find . -type f | LC_ALL=C sort) >/dev/null \
        || fail "$a and $b hold different files"
    while read -r f; do
        case $f in
            */timing.csv) ;;
            */summary.json) cmp -s <(grep -v '"seconds' "$a/$f") <(grep -v '"seconds' "$b/$f") \
                || fail "$f differs between $1 and $2" ;;
            *) cmp -s "$a/$f" "$b/$f" || fail "$f differs between $1 and $2" ;;
        esac
    done < <(cd "$a" && find . -type f)
}

# rows DIR: sweep.csv without its last column (seconds).
rows() {
    sed 's/,[^,]*$//' "$1/sweep.csv"
}

same_rows() {
    diff <(rows "$1") <(rows "$2") >/dev/null || fail "sweep.csv of $2 differs from $1:
$(diff <(rows "$1") <(rows "$2") | head -5)"
}

# ---- bad input: exit 2, nothing written ----------------------------------
bad() {
    printf '%s\n' "$@" > "$TEST_TMP/bad.conf"
    expect_exit 2 "$MOT" sweep "$TEST_TMP/bad.conf" --out "$TEST_TMP/bad" "${small[@]}"
    [[ ! -e $TEST_TMP/bad ]] || fail "a refused sweep wrote $TEST_TMP/bad"
}
bad '[sweep]' 'eta = -1, 0.1'
[[ $LAST_STDERR == *"line 2: eta must be a real >= 0"* ]] || fail "bad value: $LAST_STDERR"
bad '[sweep]' 'sigma0 = 0.01:1:x1'
[[ $LAST_STDERR == *"sigma0 = 0.01:1:x1"*"accepted"* ]] || fail "x1 ratio: $LAST_STDERR"
bad '[sweep]' 'M = 4:32:+0'
[[ $LAST_STDERR == *"zero step"* ]] || fail "zero step: $LAST_STDERR"
bad '[sweep]' 'foo = 1, 2'
[[ $LAST_STDERR == *'unknown key "foo"'* ]] || fail "unknown key: $LAST_STDERR"
bad '[sweep]' 'batch = 0, 500'
[[ $LAST_STDERR == *"batch must be <= n_train = 200 (got 500)"* ]] || fail "constraint: $LAST_STDERR"
expect_exit 2 "$MOT" sweep "$C" "${small[@]}"
[[ $LAST_STDERR == *"--out"* ]] || fail "missing --out: $LAST_STDERR"
for opt in "--jobs 0" "--jobs x" "--shard 2/2" "--shard 1" "--shard -1/2" "--set sigma0=0.5" "--check"; do
    # shellcheck disable=SC2086
    expect_exit 2 "$MOT" sweep "$C" --out "$TEST_TMP/bad" "${small[@]}" $opt
    [[ ! -e $TEST_TMP/bad ]] || fail "sweep $opt wrote $TEST_TMP/bad"
done
expect_exit 0 "$MOT" sweep --help >/dev/null

# ---- one job, two jobs ---------------------------------------------------
expect_exit 0 "$MOT" sweep "$C" --out "$TEST_TMP/j1" --jobs 1 "${small[@]}" >"$TEST_TMP/j1.out"
grep -qF "sweep.csv: $POINTS of $POINTS points" "$TEST_TMP/j1.out" || fail "stdout: $(cat "$TEST_TMP/j1.out")"
[[ $LAST_STDERR == *"mot sweep: $POINTS/$POINTS points finished"* ]] || fail "no final progress line: $LAST_STDERR"
head -1 "$TEST_TMP/j1/sweep.csv" | grep -qx \
    'point,lr_scale,sigma0,seed,N,M,eta,T_spec,coverage_T1,prop1,final_test_loss,final_test_error,status,seconds' \
    || fail "sweep.csv header: $(head -1 "$TEST_TMP/j1/sweep.csv")"
[[ $(($(wc -l < "$TEST_TMP/j1/sweep.csv") - 1)) -eq $POINTS ]] || fail "sweep.csv rows"
sed -n 2p "$TEST_TMP/j1/sweep.csv" | grep -q '^0,0.5,0.01,1,3,6,1,' || fail "first row: $(sed -n 2p "$TEST_TMP/j1/sweep.csv")"
sed -n 3p "$TEST_TMP/j1/sweep.csv" | grep -q '^1,0.5,0.01,2,' || fail "seeds vary fastest"
[[ -f $TEST_TMP/j1/runs/lr_scale=0.5_sigma0=0.01_seed=1/summary.json ]] || fail "run directory names"
[[ -f $TEST_TMP/j1/runs/lr_scale=0.5_sigma0=0.01_seed=1/sweep_point.json ]] || fail "no sweep_point.json"
cut -d, -f13 "$TEST_TMP/j1/sweep.csv" | sed 1d | sort -u | grep -qvx done && fail "a status is not done"
expect_exit 0 "$MOT" sweep "$C" --out "$TEST_TMP/j2" --jobs 2 "${small[@]}" >/dev/null
same_runs "$TEST_TMP/j1" "$TEST_TMP/j2"
same_rows "$TEST_TMP/j1" "$TEST_TMP/j2"

# ---- re-running skips finished points, redoes unfinished ones --------------
victim=$TEST_TMP/j2/runs/lr_scale=1_sigma0=0.1_seed=2
rm "$victim/summary.json" "$victim/theta_final.npy"
expect_exit 0 "$MOT" sweep "$C" --out "$TEST_TMP/j2" --jobs 2 "${small[@]}" >"$TEST_TMP/j2.out"
grep -qF "1 done, 0 diverged, 0 failed, 11 done before" "$TEST_TMP/j2.out" || fail "rerun: $(cat "$TEST_TMP/j2.out")"
same_runs "$TEST_TMP/j1" "$TEST_TMP/j2"
same_rows "$TEST_TMP/j1" "$TEST_TMP/j2"
# a finished run of another config is refused, not overwritten
expect_exit 2 "$MOT" sweep "$C" --out "$TEST_TMP/j2" "${small[@]}" --set eta=0.5
[[ $LAST_STDERR == *"holds a finished run of another config (eta = "* ]] || fail "config mismatch: $LAST_STDERR"

# ---- two shards into one directory, at the same time -----------------------
"$MOT" sweep "$C" --out "$TEST_TMP/sh" --shard 0/2 --jobs 1 "${small[@]}" >/dev/null 2>&1 &
shard0=$!
expect_exit 0 "$MOT" sweep "$C" --out "$TEST_TMP/sh" --shard 1/2 --jobs 1 "${small[@]}" >/dev/null
wait $shard0 || fail "shard 0/2 failed"
# sweep.csv lists what was finished when it was written: regenerate it
expect_exit 0 "$MOT" sweep "$C" --out "$TEST_TMP/sh" "${small[@]}" >"$TEST_TMP/sh.out"
grep -qF "0 done, 0 diverged, 0 failed, $POINTS done before" "$TEST_TMP/sh.out" || fail "shards: $(cat "$TEST_TMP/sh.out")"
same_runs "$TEST_TMP/j1" "$TEST_TMP/sh"
same_rows "$TEST_TMP/j1" "$TEST_TMP/sh"

# ---- killed outright, then resumed -----------------------------------------
# Longer runs so that the kill lands mid-sweep. setsid puts the sweep and its
# workers in a session of their own, to look for survivors.
big=(--set T=300 --set T1=5 --set T2=20 --set n_train=200 --set n_test=200)
expect_exit 0 "$MOT" sweep "$C" --out "$TEST_TMP/k0" --jobs 2 "${big[@]}" >/dev/null
if command -v setsid >/dev/null 2>&1; then
    setsid "$MOT" sweep "$C" --out "$TEST_TMP/k" --jobs 2 "${big[@]}" >/dev/null 2>&1 &
    victim=$!
    for _ in $(seq 200); do   # kill as soon as the first point is finished
        compgen -G "$TEST_TMP/k/runs/*/summary.json" >/dev/null && break
        sleep 0.05
    done
    kill -9 "$victim"
    wait "$victim" 2>/dev/null || true
    survivors=
    for _ in $(seq 50); do   # killed workers may linger a moment as zombies
        survivors=$(ps -o pid=,stat= -s "$victim" | awk '$2 !~ /^Z/' || true)
        [[ -z $survivors ]] && break
        sleep 0.1
    done
    [[ -z $survivors ]] || fail "workers left running after kill -9: $survivors"
    finished=$(find "$TEST_TMP/k/runs" -name summary.json 2>/dev/null | wc -l)
    echo "killed after $finished of $POINTS points"
    expect_exit 0 "$MOT" sweep "$C" --out "$TEST_TMP/k" --jobs 2 "${big[@]}" >"$TEST_TMP/k.out"
    grep -qF "$finished done before" "$TEST_TMP/k.out" || fail "resume: $(cat "$TEST_TMP/k.out")"
    same_runs "$TEST_TMP/k0" "$TEST_TMP/k"
    same_rows "$TEST_TMP/k0" "$TEST_TMP/k"
else
    echo "no setsid: the kill test is skipped"
fi

# ---- a worker that dies: its point failed, and is redone next time ----------
# Long runs (1500 epochs), so that the worker dies mid-run.
{ cat "$Q"; printf '\n[sweep]\nseeds = 1:2\n'; } > "$TEST_TMP/w.conf"
long=(--set T=1500 --set T1=5 --set T2=20 --set n_train=200 --set n_test=200)
"$MOT" sweep "$TEST_TMP/w.conf" --out "$TEST_TMP/w" --jobs 1 "${long[@]}" >/dev/null 2>"$TEST_TMP/w.err" &
parent=$!
worker=
for _ in $(seq 250); do   # a child running the same program (not the libtool wrapper's shell)
    exe=$(readlink "/proc/$parent/exe" || true)
    for c in $(pgrep -P "$parent" || true); do
        [[ $exe != */bash && $(readlink "/proc/$c/exe" || true) == "$exe" ]] && worker=$c
    done
    [[ -n $worker ]] && break
    sleep 0.02
done
[[ -n $worker ]] || fail "no worker process seen"
kill -9 "$worker"
status=0
wait "$parent" || status=$?
[[ $status -eq 1 ]] || fail "a sweep with a failed point exited $status, not 1"
grep -q "point 0 (seed=1) failed: worker killed by signal 9" "$TEST_TMP/w.err" \
    || fail "no failure line: $(cat "$TEST_TMP/w.err")"
sed -n 2p "$TEST_TMP/w/sweep.csv" | grep -q '^0,1,3,6,1,0.1,1,,,,,,failed,$' \
    || fail "failed row: $(sed -n 2p "$TEST_TMP/w/sweep.csv")"
expect_exit 0 "$MOT" sweep "$TEST_TMP/w.conf" --out "$TEST_TMP/w" --jobs 2 "${long[@]}" >"$TEST_TMP/w.out"
grep -qF "1 done, 0 diverged, 0 failed, 1 done before" "$TEST_TMP/w.out" || fail "redo: $(cat "$TEST_TMP/w.out")"
[[ $(grep -c ',done,' "$TEST_TMP/w/sweep.csv") -eq 2 ]] || fail "not redone: $(cat "$TEST_TMP/w/sweep.csv")"

# ---- a diverged point is a result, not a failure ------------------------------
{ cat "$Q"; printf '
[sweep]
eta = 1, 1e100
'; } > "$TEST_TMP/div.conf"
expect_exit 0 "$MOT" sweep "$TEST_TMP/div.conf" --out "$TEST_TMP/div" "${small[@]}" >/dev/null
sed -n 2p "$TEST_TMP/div/sweep.csv" | grep -q ',done,' || fail "eta = 1 did not finish"
sed -n 3p "$TEST_TMP/div/sweep.csv" | grep -q '^1,1e100,1,3,6,1,0.1,,,,nan,[^,]*,diverged,' \
    || fail "eta = 1e100: $(sed -n 3p "$TEST_TMP/div/sweep.csv")"

# ---- MPI -------------------------------------------------------------------
if ! "$MOT" sweep --help | grep -q "MPI: yes"; then
    echo "this build has no MPI (configure --with-mpi): the MPI sweep is skipped"
elif ! command -v mpirun >/dev/null 2>&1; then
    echo "no mpirun on PATH: the MPI sweep is skipped"
else
    expect_exit 0 mpirun --allow-run-as-root --oversubscribe -np 2 "$MOT" sweep "$C" --out "$TEST_TMP/mpi" \
        "${small[@]}" >/dev/null
    same_runs "$TEST_TMP/j1" "$TEST_TMP/mpi"
    same_rows "$TEST_TMP/j1" "$TEST_TMP/mpi"
    echo "2 MPI ranks: same runs and rows"
fi
if "$MOT" sweep --help | grep -q "MPI: no"; then
    OMPI_COMM_WORLD_SIZE=2 expect_exit 2 "$MOT" sweep "$C" --out "$TEST_TMP/nompi" "${small[@]}"
    [[ $LAST_STDERR == *"--with-mpi"* ]] || fail "under mpirun without MPI: $LAST_STDERR"
fi

# ---- mot check SWEEP_DIR -----------------------------------------------------
expect_exit 1 "$MOT" check "$TEST_TMP/j1" >"$TEST_TMP/check.out"
grep -q '^t1_scaling ' "$TEST_TMP/check.out" || fail "no t1_scaling verdict: $(cat "$TEST_TMP/check.out")"
grep -q '^coverage ' "$TEST_TMP/check.out" || fail "no coverage verdict"
grep -q 'a_M: not swept\|not swept' "$TEST_TMP/check.out" || fail "M is not swept here: $(cat "$TEST_TMP/check.out")"
[[ -f $TEST_TMP/j1/sweep_checks.json ]] || fail "no sweep_checks.json"
head -1 "$TEST_TMP/j1/sweep_fit.csv" | grep -qx 'key,exponent,stderr,paper' || fail "sweep_fit.csv header"
grep -q '^M,nan,nan,1$' "$TEST_TMP/j1/sweep_fit.csv" || fail "sweep_fit.csv: $(cat "$TEST_TMP/j1/sweep_fit.csv")"
"$PYTHON3" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [v["claim"] for v in d["verdicts"]] == ["t1_scaling", "coverage"]' \
    "$TEST_TMP/j1/sweep_checks.json" || fail "sweep_checks.json"
echo "sweep tests passed"
