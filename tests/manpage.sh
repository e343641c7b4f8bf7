#!/usr/bin/env bash
# manpage.sh: the documentation keeps up with the program. Every command that
# `mot --help` lists is described in the manual page mot.1 and in README.md
# (as "mot COMMAND"), and groff renders mot.1 without a warning (-ww: all
# of them). Skipped when groff is not installed.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$SRCDIR/tests/lib.sh"

command -v groff >/dev/null 2>&1 || skip "groff is not installed"
MAN=$SRCDIR/mot.1
README=$SRCDIR/README.md
[[ -f $MAN ]] || fail "no $MAN"
tmpdir

# The commands: the indented lines of `mot --help` between the usage line
# and the version line, e.g. "  run      train one model ...".
"$MOT" --help > "$TEST_TMP/help" || fail "mot --help failed"
mapfile -t commands < <(sed -n 's/^  \([a-z][a-z0-9_-]*\) .*/\1/p' "$TEST_TMP/help")
((${#commands[@]} >= 5)) || fail "found only ${#commands[@]} commands in mot --help: ${commands[*]}"

# mot.1 without its font changes and escaped hyphens, so that
# ".B mot run" and "\fBmot run\fP" both read "mot run".
sed -e 's/\\f[BIRP]//g' -e 's/\\f([A-Z][A-Z]//g' -e 's/\\-/-/g' "$MAN" > "$TEST_TMP/man"
missing=()
for c in "${commands[@]}"; do
    grep -Eq "(^|[^a-z_])mot $c([^a-z0-9_-]|$)" "$TEST_TMP/man" || missing+=("mot.1: mot $c")
    grep -Eq "(^|[^a-z_])mot $c([^a-z0-9_-]|$)" "$README" || missing+=("README.md: mot $c")
done
((${#missing[@]} == 0)) || fail "commands of mot --help not documented: ${missing[*]}"

# groff's warnings go to stderr; -z discards the output itself.
groff -man -Tutf8 -ww -z "$MAN" 2> "$TEST_TMP/warnings" || fail "groff failed on mot.1: $(cat "$TEST_TMP/warnings")"
[[ ! -s $TEST_TMP/warnings ]] || fail "groff warns about mot.1: $(cat "$TEST_TMP/warnings")"

echo "mot.1 and README.md describe all ${#commands[@]} commands (${commands[*]}); groff renders mot.1 without warnings"
