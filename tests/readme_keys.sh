#!/usr/bin/env bash
# readme_keys.sh: the README's config-key table is the output of `mot keys`
# (the parser's own table), so the documentation cannot drift from the code.
source "$SRCDIR/tests/lib.sh"
tmpdir
sed -n '/<!-- keys:begin -->/,/<!-- keys:end -->/p' "$SRCDIR/README.md" | sed '1d;$d' > "$TEST_TMP/readme"
"$MOT" keys > "$TEST_TMP/keys" || fail "mot keys failed"
[[ -s $TEST_TMP/readme ]] || fail "README.md has no <!-- keys:begin/end --> block"
diff -u "$TEST_TMP/keys" "$TEST_TMP/readme" || fail "README.md's key table differs from mot keys: regenerate it"
echo "README key table matches mot keys ($(wc -l < "$TEST_TMP/keys") lines)"
