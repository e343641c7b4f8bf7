#!/usr/bin/env bash
# cli_errors.sh: every user error of `mot` (bad keys and values from --set and
# from config files, constraints between keys, bad options and commands, data,
# parameter and routing files that do not fit the config) exits 2 with one
# line on stderr, "mot: error: ..." naming what is wrong, nothing on stdout,
# and writes nothing: neither the --out directory nor anything in the working
# directory. Also the help texts (stdout, exit 0) and `mot keys`, which must
# list every key of src/config.c. It does not check that good input trains
# well: run_outputs.sh does.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${SRCDIR:-.}/tests/lib.sh"

tmpdir
# Absolute paths, so that the commands can run in an empty directory of
# their own (which must stay empty).
[[ $MOT == */* && $MOT != /* ]] && MOT=$PWD/$MOT
[[ $SRCDIR != /* ]] && SRCDIR=$PWD/$SRCDIR
Q=$SRCDIR/configs/quick.conf
OUT=$TEST_TMP/out
WORK=$TEST_TMP/cwd
FIX=$TEST_TMP/fixtures
mkdir "$WORK" "$FIX"
[[ -x $MOT ]] || fail "no mot binary at $MOT"
[[ -r $Q ]] || fail "no $Q"
cd "$WORK"

cases=0

# user_error NEEDLE... -- COMMAND ARGS...: runs `mot COMMAND --out $OUT ARGS`
# (--out first, so that a case may end in an option lacking its value; not
# for `keys`, which takes no options, so that its error names ARGS) and
# checks exit 2, an empty stdout, exactly one line on stderr starting with
# "mot: error: " and holding every NEEDLE, no $OUT and an empty working
# directory.
user_error() {
    local needles=()
    while [[ $1 != -- ]]; do
        needles+=("$1")
        shift
    done
    shift
    local cmd=$1
    shift
    local out=(--out "$OUT")
    [[ $cmd == keys ]] && out=()
    rm -rf "$OUT"
    local status=0
    "$MOT" "$cmd" ${out[@]+"${out[@]}"} "$@" >"$TEST_TMP/stdout" 2>"$TEST_TMP/stderr" || status=$?
    local what="(case at line ${BASH_LINENO[0]}) mot $cmd ${out[*]+--out \$OUT} $*"
    local err
    err=$(cat "$TEST_TMP/stderr")
    [[ $status -eq 2 ]] || fail "$what: expected exit 2, got $status; stderr: $err"
    [[ ! -s $TEST_TMP/stdout ]] || fail "$what: printed on stdout: $(cat "$TEST_TMP/stdout")"
    local lines
    lines=$(wc -l <"$TEST_TMP/stderr")
    [[ $lines -eq 1 && $(tail -c 1 "$TEST_TMP/stderr" | od -An -c | tr -d ' ') == '\n' ]] \
        || fail "$what: expected one line on stderr, got $lines: $err"
    [[ $err == "mot: error: "* ]] || fail "$what: stderr does not start with \"mot: error: \": $err"
    local n
    for n in "${needles[@]}"; do
        [[ $err == *"$n"* ]] || fail "$what: stderr does not mention \"$n\": $err"
    done
    [[ ! -e $OUT ]] || fail "$what: created $OUT: $(find "$OUT" -maxdepth 1 -printf "%f " 2>/dev/null)"
    assert_no_files "$WORK"
    cases=$((cases + 1))
}

# write_conf NAME LINES...: a config file in $FIX, one argument a line.
write_conf() {
    local path=$FIX/$1
    shift
    printf '%s\n' "$@" >"$path"
}

# ---- --set: unknown keys, malformed numbers, ranges, enums, booleans -----
user_error 'unknown key' '"etaa"' -- run "$Q" --set etaa=1
user_error 'unknown section [foo]' 'foo.eta' -- run "$Q" --set foo.eta=1
user_error '"eta"' 'section [train], not [data]' -- run "$Q" --set data.eta=1
user_error 'eta must be' '"abc"' -- run "$Q" --set eta=abc
user_error 'eta must be' '"1x"' -- run "$Q" --set eta=1x
user_error 'eta must be' '"nan"' -- run "$Q" --set eta=nan
user_error 'eta must be' '"inf"' -- run "$Q" --set eta=inf
user_error 'eta must be' '"1e999"' -- run "$Q" --set eta=1e999
user_error 'eta must be' '(got "")' -- run "$Q" --set eta=
user_error 'eta must be' '>= 0' '"-1"' -- run "$Q" --set eta=-1
user_error 'eta must be' '"-1"' -- run "$Q" --set train.eta=-1
user_error 'L must be' '[4, 1024]' '"3"' -- run "$Q" --set L=3
user_error 'N must be' '"0"' -- run "$Q" --set N=0
user_error 'N must be' '"1.5"' -- run "$Q" --set N=1.5
user_error 'N must be' '"99999999999999999999"' -- run "$Q" --set N=99999999999999999999
user_error 'sigma0 must be' '> 0' '"0"' -- run "$Q" --set sigma0=0
user_error 'lambda_r must be' '"-0.1"' -- run "$Q" --set lambda_r=-0.1
user_error 'alpha_test must be' '(0, 1)' '"1"' -- run "$Q" --set alpha_test=1
user_error 'seed must be' '"-1"' -- run "$Q" --set seed=-1
user_error 'geometry must be one of' 'orthogonal' '"foo"' -- run "$Q" --set geometry=foo
user_error 'geometry must be one of' '"Orthogonal"' -- run "$Q" --set geometry=Orthogonal
user_error 'rotate must be a boolean' '"maybe"' -- run "$Q" --set rotate=maybe
user_error 'class_weights must be' '"1,-2,1"' -- run "$Q" --set class_weights=1,-2,1

# ---- constraints between keys (quick.conf: N=3, d=16, T1=20, T2=120, T=200,
# n_train=600) --------------------------------------------------------------
user_error 'd must be >= 2N = 18' 'orthogonal' '(got 16)' -- run "$Q" --set N=9
user_error 'd must be >= N+1 = 17' 'geometry = conflict' '(got 16)' -- run "$Q" --set geometry=conflict --set N=16 --set d=16
user_error 'd must be >= 2N+1 = 7' 'correlated' '(got 6)' -- run "$Q" --set geometry=correlated --set d=6
user_error 'T1 must be <= T2' 'T1 = 150' 'T2 = 120' -- run "$Q" --set T1=150
user_error 'T2 must be <= T' 'T2 = 300' 'T = 200' -- run "$Q" --set T2=300
user_error 'batch must be <= n_train = 600' '(got 100000)' -- run "$Q" --set batch=100000
user_error 'class_weights must have N = 3 entries' '(got 2)' -- run "$Q" --set class_weights=1,2
user_error 'class_weights must have a positive finite sum' -- run "$Q" --set class_weights=0,0,0

# ---- config files: every message holds the file and the line -------------
# Control characters from the input are shown escaped, so the error stays one line.
write_conf ctrlsweep.conf '[data]' 'N = 3' '[sweep]' "$(printf 'sig\x04ma = 1, 2')"
user_error 'unknown key "sig\x04ma" in [sweep]' -- sweep "$FIX/ctrlsweep.conf"
user_error '--set expects key=value' 'a\x0ab' -- run "$Q" --set "$(printf 'a\nb')"
write_conf section.conf '[data]' 'N = 3' '[bogus]' 'x = 1'
user_error "config $FIX/section.conf line 3" 'unknown section [bogus]' -- run "$FIX/section.conf"
write_conf key.conf '[data]' 'N = 3' '# a comment' 'foo = 1'
user_error "config $FIX/key.conf line 4" 'unknown key "foo"' -- run "$FIX/key.conf"
write_conf wrongsec.conf '[data]' 'N = 3' '' '[model]' 'eta = 1'
user_error "config $FIX/wrongsec.conf line 5" '"eta"' 'section [train], not [model]' -- run "$FIX/wrongsec.conf"
write_conf junk.conf '[data]' 'N = 3' 'this line is junk'
user_error "config $FIX/junk.conf line 3" 'expected [section], key = value' -- run "$FIX/junk.conf"
write_conf header.conf '[data' 'N = 3'
user_error "config $FIX/header.conf line 1" -- run "$FIX/header.conf"
write_conf nosec.conf '# no section yet' 'N = 3'
user_error "config $FIX/nosec.conf line 2" '"N"' '[data]' -- run "$FIX/nosec.conf"
write_conf twice.conf '[data]' 'N = 3' 'N = 4'
user_error "config $FIX/twice.conf line 3" '"N"' 'set twice' -- run "$FIX/twice.conf"
write_conf value.conf '[data]' 'N = 3' '[train]' 'eta = abc'
user_error "config $FIX/value.conf line 4" 'eta must be' '"abc"' -- run "$FIX/value.conf"
write_conf range.conf '[model]' 'sigma0 = -1'
user_error "config $FIX/range.conf line 2" 'sigma0 must be' '"-1"' -- run "$FIX/range.conf"
write_conf cross.conf '[train]' 'T1 = 50' 'T2 = 40'
user_error "$FIX/cross.conf" 'T1 must be <= T2' -- run "$FIX/cross.conf"
user_error "$FIX/missing.conf" 'cannot open' -- run "$FIX/missing.conf"
# --set is applied after the file, so a bad file stops the parse first.
user_error "config $FIX/key.conf line 4" -- run "$FIX/key.conf" --set eta=1

# ---- the command line ----------------------------------------------------
user_error 'missing CONFIG' -- run
user_error 'missing CONFIG' -- run --set eta=1
user_error 'one CONFIG expected' "$Q" "$FIX/other.conf" -- run "$Q" "$FIX/other.conf"
user_error 'unknown option --bogus' -- run "$Q" --bogus
user_error '--set expects key=value' '"eta"' -- run "$Q" --set eta
user_error '--set expects key=value' '"=1"' -- run "$Q" --set =1
user_error '--set needs a value' -- run "$Q" --set
user_error '--data needs a value' -- run "$Q" --data
user_error '--check is not an option of this command' -- gen "$Q" --check
user_error '--threads is not an option of this command' -- gen "$Q" --threads 2
user_error '--threads must be an integer in 1..1024' '"0"' -- run "$Q" --threads 0
user_error '--threads must be an integer in 1..1024' '"2x"' -- bench "$Q" --threads 2x
user_error 'unknown command "frobnicate"' -- frobnicate "$Q"
user_error 'unknown argument --bogus' -- demo --bogus
user_error 'takes no arguments' 'extra' -- keys extra

# ---- mot gen and mot bench read configs the same way ----------------------
user_error 'unknown key "etaa"' -- gen "$Q" --set etaa=1
user_error 'eta must be' '"-1"' -- gen "$Q" --set eta=-1
user_error 'd must be >= 2N' -- gen "$Q" --set N=9
user_error "config $FIX/key.conf line 4" 'unknown key "foo"' -- gen "$FIX/key.conf"
user_error 'missing CONFIG' -- gen
user_error '--data is not an option of this command' -- gen "$Q" --data "$FIX"
user_error 'unknown key "etaa"' -- bench "$Q" --set etaa=1
user_error 'L must be' '"3"' -- bench "$Q" --set L=3
user_error 'T2 must be <= T' -- bench "$Q" --set T2=300
user_error "config $FIX/wrongsec.conf line 5" -- bench "$FIX/wrongsec.conf"
user_error '--routing is not an option of this command' -- bench "$Q" --routing "$FIX/x.npy"

# ---- --data, --init and --routing files that do not fit the config --------
# They are made by mot itself, in $FIX, from quick.conf with other shapes and
# a short schedule (T=2).
short=(--set T=2 --set T1=1 --set T2=2)
expect_exit 0 "$MOT" gen "$Q" --set n_train=50 --out "$FIX/n50" >/dev/null
expect_exit 0 "$MOT" gen "$Q" --set d=20 --out "$FIX/d20" >/dev/null
expect_exit 0 "$MOT" run "$Q" "${short[@]}" --set M=4 --out "$FIX/m4" >/dev/null
expect_exit 0 "$MOT" run "$Q" "${short[@]}" --set model=moe_ffn --out "$FIX/ffn" >/dev/null
expect_exit 0 "$MOT" run "$Q" --set T=200 --set save_routing=true --out "$FIX/r600" >/dev/null
expect_exit 0 "$MOT" run "$Q" --set n_train=50 --set save_routing=true --out "$FIX/r50" >/dev/null
[[ -f $FIX/r600/routing.npy && -f $FIX/r50/routing.npy ]] || fail "save_routing = true wrote no routing.npy"
assert_no_files "$WORK"

user_error "$FIX/n50/train_X.npy" 'shape (50, 6, 16)' '(600, 6, 16)' -- run "$Q" --data "$FIX/n50"
user_error "$FIX/d20/signals_c.npy" 'shape (3, 20)' '(3, 16)' -- run "$Q" --data "$FIX/d20"
user_error "$FIX/signals_c.npy" -- run "$Q" --data "$FIX"
user_error "$FIX/m4/theta_init.npy" 'shape (4, 16)' '(6, 16)' -- run "$Q" --init "$FIX/m4"
user_error "$FIX/ffn/W_init.npy" 'shape (1, 16, 16)' '(6, 16, 16)' -- run "$Q" --init "$FIX/ffn"
user_error "$FIX/none/theta_init.npy" -- run "$Q" --init "$FIX/none"
# The same recorded routing with fewer experts (M=2) routes out of range.
user_error "$FIX/r600/routing.npy" 'routes to expert' 'not in 0..1' -- run "$Q" --set M=2 --routing "$FIX/r600/routing.npy"
user_error "$FIX/r50/routing.npy" 'must have shape (>= 200, 600)' -- run "$Q" --routing "$FIX/r50/routing.npy"
user_error "$FIX/r600/routing.npy" 'must have shape (>= 300, 600)' -- run "$Q" --set T=300 --routing "$FIX/r600/routing.npy"
echo 'not an array' >"$FIX/junk.npy"
user_error "$FIX/junk.npy" -- run "$Q" --routing "$FIX/junk.npy"
user_error "$FIX/none.npy" -- run "$Q" --routing "$FIX/none.npy"

# Routing files written by numpy: values and shapes mot would never write.
if "$PYTHON3" -c 'import numpy' 2>/dev/null; then
    "$PYTHON3" - "$FIX" <<'EOF'
import sys
import numpy as np
fix = sys.argv[1]
ok = np.zeros((200, 600), dtype=np.int32)
high = ok.copy(); high[5, 7] = 6
np.save(fix + "/r_high.npy", high)
np.save(fix + "/r_neg.npy", ok - 1)
np.save(fix + "/r_cols.npy", np.zeros((200, 599), dtype=np.int32))
np.save(fix + "/r_rows.npy", np.zeros((199, 600), dtype=np.int32))
np.save(fix + "/r_flat.npy", np.zeros(200 * 600, dtype=np.int32))
np.save(fix + "/r_f64.npy", np.zeros((200, 600)))
EOF
    user_error "$FIX/r_high.npy" 'epoch 5 sample 7' 'expert 6' 'not in 0..5' -- run "$Q" --routing "$FIX/r_high.npy"
    user_error "$FIX/r_neg.npy" 'epoch 0 sample 0' 'expert -1' -- run "$Q" --routing "$FIX/r_neg.npy"
    user_error "$FIX/r_cols.npy" 'must have shape (>= 200, 600)' -- run "$Q" --routing "$FIX/r_cols.npy"
    user_error "$FIX/r_rows.npy" 'must have shape (>= 200, 600)' -- run "$Q" --routing "$FIX/r_rows.npy"
    user_error "$FIX/r_flat.npy" 'must have shape (>= 200, 600)' -- run "$Q" --routing "$FIX/r_flat.npy"
    user_error "$FIX/r_f64.npy" 'dtype' -- run "$Q" --routing "$FIX/r_f64.npy"
else
    echo "SKIP (part): numpy-written routing files: $PYTHON3 has no numpy"
fi

# ---- help, version, no arguments -----------------------------------------
# help_ok ARGS...: exit 0, the usage on stdout, nothing on stderr, no files.
help_ok() {
    local status=0
    "$MOT" "$@" >"$TEST_TMP/stdout" 2>"$TEST_TMP/stderr" || status=$?
    [[ $status -eq 0 ]] || fail "mot $*: expected exit 0, got $status: $(cat "$TEST_TMP/stderr")"
    [[ ! -s $TEST_TMP/stderr ]] || fail "mot $*: printed on stderr: $(cat "$TEST_TMP/stderr")"
    grep -q '^usage: mot' "$TEST_TMP/stdout" || fail "mot $*: no usage line on stdout: $(head -3 "$TEST_TMP/stdout")"
    assert_no_files "$WORK"
    cases=$((cases + 1))
}
help_ok --help
for c in run gen bench demo keys; do
    grep -q "^  $c " "$TEST_TMP/stdout" || fail "mot --help does not list $c"
done
help_ok -h
help_ok help
help_ok run --help
grep -q -- '--routing FILE' "$TEST_TMP/stdout" || fail "mot run --help does not document --routing"
grep -q 'Exit status' "$TEST_TMP/stdout" || fail "mot run --help does not document the exit status"
help_ok run "$Q" --set eta=1 -h
help_ok gen --help
help_ok bench --help
help_ok demo --help
help_ok keys --help

expect_exit 0 "$MOT" --version >"$TEST_TMP/stdout"
grep -q '^motsim ' "$TEST_TMP/stdout" || fail "mot --version: $(cat "$TEST_TMP/stdout")"
cases=$((cases + 1))

status=0
"$MOT" >"$TEST_TMP/stdout" 2>"$TEST_TMP/stderr" || status=$?
[[ $status -eq 2 ]] || fail "mot without arguments: expected exit 2, got $status"
[[ ! -s $TEST_TMP/stdout ]] || fail "mot without arguments printed on stdout"
grep -q '^usage: mot' "$TEST_TMP/stderr" || fail "mot without arguments: no usage on stderr"
cases=$((cases + 1))

# ---- mot keys lists every key of config.c's table, once ------------------
grep -oE 'K_(INT|REAL|BOOL|ENUM|LIST|ULONG)\("[a-z]+", [A-Za-z0-9_]+' "$SRCDIR/src/config.c" \
    | sed -E 's/^K_[A-Z]+\("([a-z]+)", /\1 /' >"$TEST_TMP/keys.want"
nkeys=$(wc -l <"$TEST_TMP/keys.want")
((nkeys >= 40)) || fail "found only $nkeys keys in src/config.c: has its table changed form?"
expect_exit 0 "$MOT" keys >"$TEST_TMP/keys.out"
[[ -z $LAST_STDERR ]] || fail "mot keys printed on stderr: $LAST_STDERR"
head -1 "$TEST_TMP/keys.out" | grep -q '^| section | key | type | default | allowed | meaning |$' \
    || fail "mot keys: unexpected header: $(head -1 "$TEST_TMP/keys.out")"
while read -r section key; do
    n=$(grep -cF "| $section | \`$key\` |" "$TEST_TMP/keys.out" || true)
    [[ $n -eq 1 ]] || fail "mot keys lists [$section] $key $n times, not once"
done <"$TEST_TMP/keys.want"
rows=$(grep -c '^| [a-z]* | `' "$TEST_TMP/keys.out" || true)
[[ $rows -eq $nkeys ]] || fail "mot keys has $rows key rows, config.c has $nkeys keys"
assert_no_files "$WORK"
cases=$((cases + 1))

echo "PASS: $cases cases"
