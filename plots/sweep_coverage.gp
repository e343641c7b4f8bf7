# sweep_coverage.gp: do the experts cover every class by the end of stage I?
# For each (N, M) of a sweep, the share of its runs (over the other swept
# keys and the seeds) whose every class is covered at T1 (sweep.csv
# `coverage_T1`, 1 or 0), with its binomial standard error, against
# M / (N ln N), the number of experts in units of the coupon collector's
# N ln N; one line per N. Dashed: the probability that M experts given
# uniformly random classes cover all N, sum_k (-1)^k C(N,k) (1 - k/N)^M, for
# reference. Dotted: M = N ln N and the 0.9 share the coverage check asks for.
# Reads dir/sweep.csv (header row, columns by name: N, M, coverage_T1, and
# status when present, only `done` runs counting; others ignored). Runs with
# N < 2 (N ln N = 0) or an empty coverage_T1 are left out. Without sweep.csv
# it says so and draws nothing (exit status 0).
#
#   gnuplot -e "dir='runs/sweep'; out='sweep_coverage.png'; term='png'" plots/sweep_coverage.gp
#
# Variables (besides those of style.gp): label, words added to the title.

W = 6.4; H = 4.0
here = ""; do for [i = strlen(ARG0):1:-1] { if (here eq "" && ARG0[i:i] eq "/") { here = ARG0[1:i] } }
load here . "style.gp"
if (!exists("label")) label = ""

sweep = csv("sweep.csv")
readable(f) = system(sprintf("test -r '%s' && echo 1 || echo 0", f)) eq "1"
if (!readable(sweep)) { print "sweep_coverage.gp: " . sweep . " not found: no figure"; exit }

status_col = 0
stats sweep every ::0::0 using (sum [j = 1:64] (columnhead(j) eq "status" ? (status_col = j, 0) : 0)) nooutput prefix "_H"
used(r) = (status_col == 0 || strcol(status_col) eq "done") && column("N") >= 2 && \
          (column("coverage_T1") == 0 || column("coverage_T1") == 1)

# Gather the runs by (N, M): gN, gM, runs, covered (arrays, G groups).
stats sweep using (used(0) ? 1 : NaN) nooutput prefix "_R"
if (!exists("_R_records")) { print "sweep_coverage.gp: no run with N >= 2 and a coverage_T1: no figure"; exit }
array gN[_R_records]; array gM[_R_records]; array gruns[_R_records]; array gcov[_R_records]
G = 0
find(n, m) = sum [j = 1:G] (gN[j] == n && gM[j] == m ? j : 0)
stats sweep using (used(0) ? (n = int(column("N")), m = int(column("M")), j = find(n, m), \
                   j == 0 ? (G = G + 1, j = G, gN[j] = n, gM[j] = m, gruns[j] = 0, gcov[j] = 0) : 0, \
                   gruns[j] = gruns[j] + 1, gcov[j] = gcov[j] + column("coverage_T1"), 1) : NaN) \
    nooutput prefix "_U"

# The groups as a data block sorted by N, then M, one block per N (so that
# `index` picks an N and lines join its M in order): N, M, x, share, se.
array done[G]
do for [j = 1:G] { done[j] = 0 }
NN = 0
array Ns[G]
set print $groups
do for [step = 1:G] {
    b = 0
    do for [j = 1:G] { if (!done[j] && (b == 0 || gN[j] < gN[b] || (gN[j] == gN[b] && gM[j] < gM[b]))) { b = j } }
    done[b] = 1
    if (NN == 0 || Ns[NN] != gN[b]) {
        if (NN > 0) { print ""; print "" }
        NN = NN + 1; Ns[NN] = gN[b]
    }
    share = gcov[b] / gruns[b]
    print sprintf("%d %d %.9g %.9g %.9g %d", gN[b], gM[b], gM[b] / (gN[b] * log(gN[b])), share, \
                  sqrt(share * (1 - share) / gruns[b]), gruns[b])
}
set print
unset datafile columnheaders
set datafile separator whitespace
stats $groups using 3 nooutput prefix "_X"

# P(M uniform draws cover all N classes), by inclusion-exclusion, for
# integer M (drawn at every integer M, clamped to [0, 1] against rounding).
binom(n, k) = exp(lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1))
random_cover(N, M) = M < N ? 0 : sum [k = 0:N] ((-1) ** k * binom(N, k) * (1 - real(k) / N) ** M)
clamp(p) = p < 0 ? 0 : p > 1 ? 1 : p
bound(N) = N * log(N)

set title "Coverage of every class at T_1 against the number of experts" . \
    (label ne "" ? "\n" . label : "") font ",12"
set xlabel "M / (N ln N)   (experts, in units of the coupon-collector bound)"
set ylabel "share of runs covering every class at T_1"
xhi = _X_max * 1.08 > 1.15 ? _X_max * 1.08 : 1.15
set xrange [0:xhi]
set yrange [0:1.05]
set ytics 0.25
set lmargin at screen 0.11
set rmargin at screen 0.96
set tmargin at screen 0.88
set bmargin at screen 0.38
set key at screen 0.11, screen 0.2 left top vertical maxrows (NN <= 2 ? 2 : NN) reverse Left width 1 \
    font ",9" samplen 3
set arrow 904 from 1, graph 0 to 1, graph 1 nohead ls 100 back
set label 904 "M = N ln N" at 1, graph 0.05 offset 0.6, 0 left font ",9" tc rgb "#606060"
set arrow 906 from graph 0, first 0.9 to graph 1, first 0.9 nohead ls 100 back
set label 906 "0.9" at graph 1, first 0.9 offset -0.5, -0.7 right font ",9" tc rgb "#606060"
set samples 300
set bars small

plot for [i = 1:NN] $groups index i - 1 using 3:4:5 with yerrorlines lt i dt 1 \
         title sprintf("N = %d: share of runs ± s.e.", Ns[i]), \
     for [i = 1:NN] [m = 1:ceil(xhi * bound(Ns[i])):1] '+' using ($1 / bound(Ns[i])):(clamp(random_cover(Ns[i], $1))) \
         with lines lt i dt 2 lw 1 \
         title sprintf("N = %d: random classes", Ns[i])
