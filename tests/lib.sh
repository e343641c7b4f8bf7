# lib.sh: helpers for the shell tests of the mot program. Source it from a
# test script (which sets its own `set -euo pipefail`):
#   . "${SRCDIR:-.}/tests/lib.sh"
#   tmpdir
#   expect_exit 2 "$MOT" run --set eta=-1
#   [[ $LAST_STDERR == *"eta must be > 0"* ]] || fail "no reason given"
# Reads from the environment (make check sets them): MOT, the mot binary
# (default ./mot); SRCDIR, the source tree (default .); PYTHON3 (default
# /usr/bin/python3). Exit codes follow automake: 0 pass, 1 fail, 77 skip.
# It only helps tests: it does not build or run anything by itself.

MOT=${MOT:-./mot}
SRCDIR=${SRCDIR:-.}
PYTHON3=${PYTHON3:-/usr/bin/python3}
if [[ $PYTHON3 == no ]]; then   # configure found none
    PYTHON3=/usr/bin/python3
fi
LAST_STDERR=
LAST_STATUS=
TEST_TMP=

# fail MSG...: reports the failure with the test's file and line (the first
# caller outside this library) and ends the test.
fail() {
    local i=1
    while [[ ${BASH_SOURCE[i]:-} == *lib.sh ]]; do
        i=$((i + 1))
    done
    echo "FAIL: ${BASH_SOURCE[i]##*/}:${BASH_LINENO[i - 1]}: $*" >&2
    exit 1
}

# skip MSG...: ends the test as skipped (automake's exit code 77).
skip() {
    echo "SKIP: $*"
    exit 77
}

# expect_exit CODE CMD [ARGS...]: runs the command; its stdout passes through,
# its stderr is kept in $LAST_STDERR (and its status in $LAST_STATUS). Fails,
# naming the command, unless it exited with CODE.
expect_exit() {
    local want=$1 status=0
    shift
    # fd 3 is the caller's stdout: the command's stdout goes there, its stderr
    # into the substitution.
    { LAST_STDERR=$("$@" 2>&1 1>&3 3>&-); } 3>&1 || status=$?
    # shellcheck disable=SC2034  # for the tests that source this file
    LAST_STATUS=$status
    if [[ $status -ne $want ]]; then
        fail "expected exit $want, got $status: $*${LAST_STDERR:+
stderr: $LAST_STDERR}"
    fi
}

# assert_no_files DIR: fails if DIR exists and holds anything (hidden files,
# such as leftover temporaries, included).
assert_no_files() {
    local dir=$1
    [[ -d $dir ]] || return 0
    local found
    found=$(find "$dir" -mindepth 1 -maxdepth 1 -printf '%f ')
    if [[ -n $found ]]; then
        fail "$dir is not empty: $found"
    fi
}

# tmpdir: creates a fresh directory in $TEST_TMP, removed when the test exits
# (kept if KEEP_TMP=1, for debugging). Call it directly, not in $(...): the
# trap belongs to the test's shell. It sets an EXIT trap; a test needing its
# own should also remove "$TEST_TMP".
tmpdir() {
    TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mot-test.XXXXXX") || fail "cannot create a temporary directory"
    if [[ ${KEEP_TMP:-0} == 1 ]]; then
        echo "keeping $TEST_TMP"
    else
        trap 'rm -rf "$TEST_TMP"' EXIT
    fi
}
