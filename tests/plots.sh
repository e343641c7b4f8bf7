#!/usr/bin/env bash
# plots.sh: `mot plot` on a short run, a short comparison and the example
# sweep of tests/data/sweep, with the example rates.csv/rate_fits.csv of
# tests/data/rates copied in: every figure that applies is written as a PNG
# and a PDF (checked by their signatures), nothing else is left in the
# figure directory, --format limits the formats, a figure whose input is
# absent is skipped with a message; and the errors: a missing or unplottable
# DIR and a bad --format exit 2, no gnuplot on PATH and a failing script
# exit 1 without leaving a file. It does not judge how the figures look.
# Skipped when gnuplot is not installed.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${SRCDIR:-.}/tests/lib.sh"

command -v gnuplot >/dev/null 2>&1 || skip "gnuplot is not installed"
tmpdir
export MOT_PLOTS_DIR=$SRCDIR/plots
Q=$SRCDIR/configs/quick.conf
SHORT=(--set T=60 --set T1=10 --set T2=40 --set n_train=300 --set n_test=300)

# is_png FILE / is_pdf FILE: non-empty, with the format's signature.
is_png() { [[ -s $1 && $(head -c 8 "$1" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]]; }
is_pdf() { [[ -s $1 && $(head -c 5 "$1") == %PDF- ]]; }

# figures_are DIR FORMATS NAME...: DIR holds exactly NAME.<format> for each
# NAME and format (space-separated FORMATS), each a valid file of its kind.
figures_are() {
    local dir=$1 formats=$2 want=() got name f
    shift 2
    for name in "$@"; do
        for f in $formats; do
            want+=("$name.$f")
            if [[ $f == png ]]; then
                is_png "$dir/$name.png" || fail "$dir/$name.png is missing or not a PNG"
            else
                is_pdf "$dir/$name.pdf" || fail "$dir/$name.pdf is missing or not a PDF"
            fi
        done
    done
    want=$(printf '%s\n' "${want[@]}" | sort)
    got=$(find "$dir" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort)
    [[ $got == "$want" ]] || fail "$dir holds
$got
instead of
$want"
}

# --- a run, with the example rates ------------------------------------------
RUN=$TEST_TMP/run
"$MOT" run "$Q" --out "$RUN" "${SHORT[@]}" >/dev/null
cp "$SRCDIR"/tests/data/rates/rates.csv "$SRCDIR"/tests/data/rates/rate_fits.csv "$RUN"/
out=$("$MOT" plot "$RUN") || fail "mot plot on a run failed"
figures_are "$RUN/figures" "png pdf" losses routing attention alignment rate
[[ $out == *"$RUN/figures/routing.pdf"* ]] || fail "the figures written are not listed: $out"

# --format png and --out
"$MOT" plot "$RUN" --format png --out "$TEST_TMP/runpng" >/dev/null
figures_are "$TEST_TMP/runpng" png losses routing attention alignment rate

# --- a comparison -------------------------------------------------------------
CMP=$TEST_TMP/cmp
"$MOT" compare "$Q" --out "$CMP" "${SHORT[@]}" >/dev/null
cp "$SRCDIR"/tests/data/rates/rates.csv "$SRCDIR"/tests/data/rates/rate_fits.csv "$CMP"/
"$MOT" plot "$CMP" >/dev/null || fail "mot plot on a comparison failed"
figures_are "$CMP/figures" "png pdf" losses rate \
    routing_mot attention_mot alignment_mot attention_single alignment_single \
    routing_moe_noattn alignment_moe_noattn routing_moe_ffn attention_moe_ffn alignment_moe_ffn

# A run of the single transformer, without rates.csv: no routing, no rate.
out=$("$MOT" plot "$CMP/single" --format pdf) || fail "mot plot on a single run failed"
figures_are "$CMP/single/figures" pdf losses attention alignment
[[ $out == *"rate: skipped"* ]] || fail "no message for the missing rates.csv: $out"

# --- the example sweep ----------------------------------------------------------
SW=$TEST_TMP/sweep
mkdir -p "$SW"
cp "$SRCDIR"/tests/data/sweep/sweep.csv "$SRCDIR"/tests/data/sweep/sweep_fit.csv "$SW"/
"$MOT" plot "$SW" >/dev/null || fail "mot plot on a sweep failed"
figures_are "$SW/figures" "png pdf" sweep_t1 sweep_coverage
# Without sweep_fit.csv the exponent lines are left out, not the figure.
rm "$SW/sweep_fit.csv" "$SW"/figures/*
"$MOT" plot "$SW" --format png >/dev/null || fail "mot plot on a sweep without sweep_fit.csv failed"
figures_are "$SW/figures" png sweep_t1 sweep_coverage

# --- errors -------------------------------------------------------------------
expect_exit 2 "$MOT" plot "$TEST_TMP/no_such_dir"
[[ $LAST_STDERR == *"no such directory"* ]] || fail "missing DIR: $LAST_STDERR"
mkdir "$TEST_TMP/empty"
expect_exit 2 "$MOT" plot "$TEST_TMP/empty"
[[ $LAST_STDERR == *"holds no run"* ]] || fail "empty DIR: $LAST_STDERR"
assert_no_files "$TEST_TMP/empty"
expect_exit 2 "$MOT" plot "$RUN" --format svg
expect_exit 2 "$MOT" plot
expect_exit 2 "$MOT" plot "$RUN" "$CMP"
expect_exit 2 "$MOT" plot "$RUN" --bogus
MOT_PLOTS_DIR=$TEST_TMP/empty expect_exit 2 "$MOT" plot "$RUN" --out "$TEST_TMP/x"
[[ $LAST_STDERR == *"MOT_PLOTS_DIR"* ]] || fail "bad MOT_PLOTS_DIR: $LAST_STDERR"

# No gnuplot on PATH: exit 1, nothing written. (env finds mot by its path.)
PATH=$TEST_TMP/empty expect_exit 1 "$MOT" plot "$RUN" --out "$TEST_TMP/nognuplot"
[[ $LAST_STDERR == *"gnuplot not found"* ]] || fail "gnuplot missing: $LAST_STDERR"
assert_no_files "$TEST_TMP/nognuplot"

# A script gnuplot rejects: exit 1, its message shown, no figure and no
# temporary file left; the other figures are still drawn.
BAD=$TEST_TMP/badplots
cp -r "$SRCDIR/plots" "$BAD"
echo 'this is not gnuplot' >> "$BAD/routing.gp"
MOT_PLOTS_DIR=$BAD expect_exit 1 "$MOT" plot "$RUN" --format png --out "$TEST_TMP/bad"
[[ $LAST_STDERR == *"routing.gp failed"* ]] || fail "no message for a failing script: $LAST_STDERR"
figures_are "$TEST_TMP/bad" png losses attention alignment rate

# --help
out=$("$MOT" plot --help) || fail "mot plot --help failed"
[[ $out == usage:* ]] || fail "mot plot --help: $out"
exit 0
