#!/usr/bin/env bash
# fuzz/run.sh SRCDIR: what `make fuzz` runs, in the build directory. Builds
# every fuzz/fuzz_<parser>.c of SRCDIR with clang's libFuzzer, AddressSanitizer
# and UndefinedBehaviorSanitizer (every src/*.c is compiled again here,
# instrumented, into fuzz-out/libmot-fuzz.a), then runs each
# harness for FUZZ_SECONDS seconds (default 60) with -rss_limit_mb=2048 and
# -timeout=5, starting from the committed seeds in SRCDIR/fuzz/corpus/<parser>
# and keeping what it finds in fuzz-out/corpus/<parser>. Prints one line per
# harness (executions, executions per second, corpus size in inputs/bytes) and
# exits non-zero if any harness crashed, leaked, hung or ran out of memory (the
# input is then in fuzz-out/crash-<parser>-*). Skips, exiting 0 with a
# message, when the compiler has no libFuzzer. fuzz_sweep.c is built only when src/sweep.h
# exists. Environment: FUZZ_CC (clang), FUZZ_SECONDS, FUZZ_CFLAGS and
# FUZZ_LIBS (the libraries' flags, from the Makefile), FUZZ_ONLY (a list of
# parsers to run, e.g. "npy store"), FUZZ_FLAGS (more libFuzzer options).
set -uo pipefail

srcdir=${1:?usage: fuzz/run.sh SRCDIR}
cc=${FUZZ_CC:-clang}
seconds=${FUZZ_SECONDS:-60}
out=fuzz-out
export OPENBLAS_NUM_THREADS=1   # idle OpenBLAS threads spin on the shared cores
mkdir -p "$out/obj" || exit 1

if ! printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }\n' \
        | "$cc" -fsanitize=fuzzer -x c - -o "$out/probe" >"$out/probe.log" 2>&1; then
    echo "make fuzz: skipped: '$cc -fsanitize=fuzzer' does not link (no clang, or no libFuzzer:"
    echo "  install the Debian packages clang and libclang-rt-dev, e.g. scripts/bootstrap --fuzz)"
    exit 0
fi

flags=(-std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
       -fno-sanitize-recover=undefined -I"$srcdir/src" -I"$srcdir/fuzz" -I.)
read -r -a dep_cflags <<< "${FUZZ_CFLAGS:-}"
read -r -a dep_libs <<< "${FUZZ_LIBS:--lgsl -lgslcblas -ljansson -linih -lmpfr -lm}"

# The library: every src/*.c (the linker takes what a harness needs), so a
# file split in two needs no change here; one that does not compile (work in
# progress) is left out with a note, and only a harness that needs it fails.
harnesses=(config set npy store)
if [[ -f $srcdir/src/sweep.h && -f $srcdir/src/sweep.c ]]; then
    harnesses+=(sweep)
else
    echo "make fuzz: no src/sweep.h yet: fuzz_sweep is not built"
fi
if [[ -n ${FUZZ_ONLY:-} ]]; then
    read -r -a harnesses <<< "$FUZZ_ONLY"
fi

# Rebuild the instrumented library when a source or header is newer.
archive=$out/libmot-fuzz.a
stale=0
[[ -f $archive ]] || stale=1
for f in "$srcdir"/src/*.[ch]; do
    [[ $f -nt $archive ]] && stale=1
done
if ((stale)); then
    echo "make fuzz: building the instrumented library"
    objs=()
    rm -f "$out"/obj/*.o
    for f in "$srcdir"/src/*.c; do
        m=$(basename "$f" .c)
        if "$cc" "${flags[@]}" -fsanitize=fuzzer-no-link "${dep_cflags[@]}" -c "$f" -o "$out/obj/$m.o" \
                2>"$out/obj/$m.log"; then
            objs+=("$out/obj/$m.o")
        else
            echo "make fuzz: src/$m.c does not compile (see $out/obj/$m.log): left out"
        fi
    done
    rm -f "$archive"
    ar rcs "$archive" "${objs[@]}" || exit 1
fi

failed=0
summary=()
for h in "${harnesses[@]}"; do
    bin=$out/fuzz_$h
    if [[ ! -f $bin || $srcdir/fuzz/fuzz_$h.c -nt $bin || $srcdir/fuzz/fuzz.h -nt $bin || $archive -nt $bin ]]; then
        "$cc" "${flags[@]}" -fsanitize=fuzzer "${dep_cflags[@]}" "$srcdir/fuzz/fuzz_$h.c" \
            "$archive" "${dep_libs[@]}" -o "$bin" \
            || { failed=1; summary+=("fuzz_$h: does not build"); continue; }
    fi
    mkdir -p "$out/corpus/$h"
    dict=()
    [[ -f $srcdir/fuzz/$h.dict ]] && dict=(-dict="$srcdir/fuzz/$h.dict")
    echo "make fuzz: fuzz_$h for $seconds s (log: $out/fuzz_$h.log)"
    read -r -a more <<< "${FUZZ_FLAGS:-}"
    "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=5 -print_final_stats=1 \
        -artifact_prefix="$out/crash-$h-" "${dict[@]}" ${more[@]+"${more[@]}"} \
        "$out/corpus/$h" "$srcdir/fuzz/corpus/$h" \
        >"$out/fuzz_$h.log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz_$h.log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/fuzz_$h.log" | tail -n 1)
    corpus=$(grep -oE 'corp: [0-9]+(/[0-9]+[a-zA-Z]*)?' "$out/fuzz_$h.log" | tail -n 1)
    if [[ -z $runs ]]; then   # -fork=N prints no final stats: its last status line
        runs=$(grep -oE '^#[0-9]+: cov' "$out/fuzz_$h.log" | tail -n 1 | tr -dc 0-9)
        [[ -n $runs ]] && rate=$((runs / seconds))
    fi
    line="fuzz_$h: ${runs:-?} runs in $seconds s (${rate:-?}/s), corpus ${corpus#corp: } (inputs/bytes)"
    if ((status != 0)); then
        failed=1
        line+=": FAILED (exit $status), see $out/fuzz_$h.log and $out/crash-$h-*"
        grep -m 3 -E 'ERROR|SUMMARY|^[^ ]*: (unexpected|status)' "$out/fuzz_$h.log" | sed 's/^/    /'
    fi
    summary+=("$line")
done
printf '%s\n' "${summary[@]}"
exit "$failed"
