#!/usr/bin/env bash
# kill.sh: crash safety. `mot run` (quick.conf, 30 epochs, routing saved) is
# killed with SIGKILL at seeded pseudo-random moments, KILL_ROUNDS times
# (default 50; the moments spread over the length of an uninterrupted run,
# seed KILL_SEED, default 1). After each kill, every file under a final name
# in the run directory must be complete: .npy files load (numpy when
# /usr/bin/python3 has it, else a check of the header against the size),
# CSV rows all have the header's width, JSON parses, and each equals the
# file of an uninterrupted run; files under temporary names (".*") may
# remain. Then the same command, run again into the same directory, must
# complete with files identical to the uninterrupted run's (timing.csv:
# the same epochs; summary.json: all but the wall times). When the program
# has `mot sweep`, a two-point sweep is killed the same way (KILL_ROUNDS / 4
# times, the whole process group) and its re-run must complete the set with
# the same files and the same sweep.csv (but its seconds). It does not test
# disk-full or power loss (fsync is io.c's business).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${SRCDIR:-.}/tests/lib.sh"

[[ -x $PYTHON3 ]] || skip "no $PYTHON3 to read the files"
tmpdir
ROUNDS=${KILL_ROUNDS:-50}
RANDOM=${KILL_SEED:-1}
echo "kill.sh: seed ${KILL_SEED:-1}, $ROUNDS rounds"
ARGS=("$SRCDIR/configs/quick.conf" --set T=30 --set T1=5 --set T2=20 --set save_routing=true)

cat >"$TEST_TMP/check.py" <<'EOF'
# check.py MODE DIR REF: MODE "partial" checks that every file under a final
# name in DIR (recursively) is complete and equals REF's; MODE "complete"
# also checks that DIR has every file of REF. timing.csv compares by epochs,
# summary.json without its wall times, sweep.csv without its seconds.
import ast, csv, io, json, os, sys

mode, top, ref_top = sys.argv[1:4]
try:
    import numpy
except ImportError:
    numpy = None
errors = []

def npy_ok(path, data):
    if numpy is not None:
        numpy.load(io.BytesIO(data), allow_pickle=False)
        return
    if data[:6] != b"\x93NUMPY":
        raise ValueError("bad magic")
    n = 10 + (data[8] | data[9] << 8) if data[6] == 1 else 12 + int.from_bytes(data[8:12], "little")
    h = ast.literal_eval(data[10 if data[6] == 1 else 12:n].decode("latin1"))
    size = {"<f8": 8, "<i4": 4}[h["descr"]]
    for s in h["shape"]:
        size *= s
    if len(data) - n != size:
        raise ValueError(f"{len(data) - n} data bytes, header says {size}")

def rows(data):
    r = list(csv.reader(io.StringIO(data.decode())))
    if not r or any(len(x) != len(r[0]) for x in r):
        raise ValueError("rows of different widths")
    return r

def summary(data):
    s = json.loads(data)
    del s["seconds"], s["seconds_per_epoch"]
    return s

def without(r, column):
    if column not in r[0]:
        return r
    i = r[0].index(column)
    return [x[:i] + x[i + 1:] for x in r]

for d, _, names in os.walk(top):
    for name in names:
        if name.startswith("."):
            continue   # a temporary: may remain after a kill
        path = os.path.join(d, name)
        rel = os.path.relpath(path, top)
        ref = os.path.join(ref_top, rel)
        try:
            data = open(path, "rb").read()
            if name.endswith(".npy"):
                npy_ok(path, data)
            elif name.endswith(".csv"):
                rows(data)
            elif name.endswith(".json"):
                json.loads(data)
            else:
                raise ValueError("unexpected file")
            if not os.path.exists(ref):
                raise ValueError("not in the uninterrupted run")
            want = open(ref, "rb").read()
            if name == "timing.csv":
                same = [x[0] for x in rows(data)] == [x[0] for x in rows(want)]
            elif name == "summary.json":
                same = summary(data) == summary(want)
            elif name == "sweep.csv":
                same = without(rows(data), "seconds") == without(rows(want), "seconds")
            else:
                same = data == want
            if not same:
                raise ValueError("differs from the uninterrupted run")
        except Exception as e:
            errors.append(f"{rel}: {e}")
if mode == "complete":
    for d, _, names in os.walk(ref_top):
        for name in names:
            rel = os.path.relpath(os.path.join(d, name), ref_top)
            if not os.path.exists(os.path.join(top, rel)):
                errors.append(f"{rel}: missing after the re-run")
if errors:
    sys.exit("\n".join(errors[:20]))
EOF

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# sleep_ms MS
sleep_ms() { sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"; }

# rounds NAME ROUNDS MAX_MS REF CMD...: kills CMD (its process group) ROUNDS
# times after 0..MAX_MS ms, checks what it left, re-runs it and checks the
# result. The command's output directory is $TEST_TMP/$NAME.
rounds() {
    local name=$1 n=$2 max=$3 ref=$4
    shift 4
    local dir=$TEST_TMP/$name killed=0 i pid status t0 killed_status
    t0=$(now_ms)
    for ((i = 1; i <= n; i++)); do
        rm -rf "$dir"
        local delay=$(((RANDOM * 32768 + RANDOM) % max))
        setsid "$@" >/dev/null 2>&1 &
        pid=$!
        sleep_ms "$delay"
        kill -KILL -- "-$pid" 2>/dev/null || true
        status=0
        { wait "$pid"; } 2>/dev/null || status=$?   # no "Killed" notice
        ((status == 137)) && killed=$((killed + 1))
        killed_status=$status
        if [[ -d $dir ]]; then
            "$PYTHON3" "$TEST_TMP/check.py" partial "$dir" "$ref" \
                || fail "$name round $i (killed after $delay ms, exit $status): incomplete files under final names (above)"
        fi
        status=0
        "$@" >/dev/null 2>"$TEST_TMP/stderr" || status=$?
        if ((status != 0)); then
            echo "re-run: exit $status: $(cat "$TEST_TMP/stderr")"
            ls -la "$dir" 2>&1 | head -n 40
            ps -eo pid,pgid,stat,etimes,args | grep -F -- "$dir" | grep -v grep
            fail "$name round $i (killed after $delay ms, exit of the kill $killed_status): the re-run failed"
        fi
        "$PYTHON3" "$TEST_TMP/check.py" complete "$dir" "$ref" \
            || fail "$name round $i (killed after $delay ms): the re-run differs from the uninterrupted run (above)"
    done
    echo "kill.sh: $name: $killed of $n rounds killed mid-way (within ${max} ms), all re-runs complete" \
         "and identical ($(($(now_ms) - t0)) ms)"
    # The moments must land inside the runs, or nothing was tested.
    ((killed * 4 >= n)) || fail "$name: only $killed of $n kills landed before the command ended"
}

# The uninterrupted run, timed: the kills spread over its length.
t0=$(now_ms)
expect_exit 0 "$MOT" run "${ARGS[@]}" --out "$TEST_TMP/ref" >/dev/null
span=$(($(now_ms) - t0 + 20))
rounds run "$ROUNDS" "$span" "$TEST_TMP/ref" "$MOT" run "${ARGS[@]}" --out "$TEST_TMP/run"

if "$MOT" sweep --help >/dev/null 2>&1; then
    { cat "$SRCDIR/configs/quick.conf"; printf '\n[sweep]\nseeds = 1:2\n'; } >"$TEST_TMP/sweep.conf"
    SWEEP=("$TEST_TMP/sweep.conf" --jobs 2 --set T=30 --set T1=5 --set T2=20)
    t0=$(now_ms)
    expect_exit 0 "$MOT" sweep "${SWEEP[@]}" --out "$TEST_TMP/sweep-ref" >/dev/null
    span=$(($(now_ms) - t0 + 20))
    rounds sweep $(((ROUNDS + 3) / 4)) "$span" "$TEST_TMP/sweep-ref" \
        "$MOT" sweep "${SWEEP[@]}" --out "$TEST_TMP/sweep"
else
    echo "kill.sh: this mot has no sweep command: only mot run was tested"
fi

echo "PASS"
