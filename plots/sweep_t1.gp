# sweep_t1.gp: how the time to specialization scales over a sweep, against
# the study's T1 = O(eta^-1 sigma0^-0.5 M). `mot check` fits
#   log T_spec = c + a_eta log lr_scale + a_sigma log sigma0 + a_M log M
# over the runs of the grid; this figure has one log-log panel per swept key
# (lr_scale, sigma0, M: those with more than one value), one point per run,
# the line of the fitted exponent and the line of the study's exponent (-1,
# -0.5, +1). Since the grid varies every key at once, a panel shows T_spec
# with the other keys' effect taken out by their fitted exponents: each run's
# T_spec times (x_j / x̄_j)^(-a_j) for the other keys j, x̄_j their geometric
# mean (a partial residual plot), so that its points scatter around the
# fitted line, which goes through their centroid; the study's line goes
# through the same centroid.
# Reads dir/sweep.csv (header row, columns by name: lr_scale, sigma0, M,
# T_spec, and status when present; others ignored) and dir/sweep_fit.csv
# (key,exponent,stderr,paper; key lr_scale, sigma0, M, and c). Runs used: status
# `done` and T_spec > 0, as in the fit. Without sweep_fit.csv the points are
# the raw T_spec and only the study's line is drawn. Without sweep.csv it
# says so and draws nothing (exit status 0).
#
#   gnuplot -e "dir='runs/sweep'; out='sweep_t1.png'; term='png'" plots/sweep_t1.gp
#
# Variables (besides those of style.gp): label, words added to the title.

W = 10; H = 3.8
here = ""; do for [i = strlen(ARG0):1:-1] { if (here eq "" && ARG0[i:i] eq "/") { here = ARG0[1:i] } }
load here . "style.gp"
if (!exists("label")) label = ""

sweep = csv("sweep.csv")
fitf = csv("sweep_fit.csv")
readable(f) = system(sprintf("test -r '%s' && echo 1 || echo 0", f)) eq "1"
if (!readable(sweep)) { print "sweep_t1.gp: " . sweep . " not found: no figure"; exit }

keys = "lr_scale sigma0 M"
key_title(k) = k eq "lr_scale" ? "lr\\_scale" : k eq "sigma0" ? "σ_0" : k
key_label(k) = k eq "lr_scale" ? "learning rate scale lr\\_scale" : \
               k eq "sigma0" ? "initial scale σ_0 of θ" : "number of experts M"
key_index(s) = s eq "lr_scale" ? 1 : s eq "sigma0" ? 2 : s eq "M" ? 3 : 0
array paper[3] = [-1, -0.5, 1]
array expo[3]; array err[3]; array has_fit[3]; array ref[3]; array nvals[3]
do for [k = 1:3] { has_fit[k] = 0; expo[k] = 0; err[k] = 0; ref[k] = 1 }
if (readable(fitf)) {
    stats fitf using (k = key_index(strcol("key")), k > 0 ? (expo[k] = column("exponent"), \
        err[k] = column("stderr"), paper[k] = column("paper"), has_fit[k] = (expo[k] == expo[k]), 0) : NaN) \
        nooutput prefix "_F"
}
do for [k = 1:3] { if (!has_fit[k]) { expo[k] = 0 } }

# The columns sweep.csv has (a key missing is not swept; status may be absent).
array col_of[4]
do for [k = 1:4] { col_of[k] = 0 }
col_names = keys . " status"
stats sweep every ::0::0 using (sum [j = 1:64] (sum [k = 1:4] (columnhead(j) eq word(col_names, k) ? (col_of[k] = j, 0) : 0))) \
    nooutput prefix "_H"
used(r) = (col_of[4] == 0 || strcol(col_of[4]) eq "done") && column("T_spec") > 0
kv(k) = col_of[k] > 0 ? column(col_of[k]) : NaN

# Geometric means of the keys over the runs used, and their distinct values
# (a key with one value is not swept: no panel).
do for [k = 1:3] {
    if (col_of[k] > 0) {
        undefine _G_*     # stats defines nothing when no row is valid
        stats sweep using (used(0) && kv(k) > 0 ? log(kv(k)) : NaN) nooutput prefix "_G"
        ref[k] = exists("_G_records") ? exp(_G_mean) : 1
        nvals[k] = exists("_G_records") && _G_max > _G_min ? 2 : 1
    } else {
        nvals[k] = 0
    }
}
panels = ""
do for [k = 1:3] { if (nvals[k] > 1) { panels = panels . sprintf(" %d", k) } }
if (words(panels) == 0) { print "sweep_t1.gp: no key of lr_scale, sigma0, M takes two values over the runs used: no figure"; exit }

# T_spec with the other swept keys' fitted effect taken out.
other(k, j) = j != k && nvals[j] > 1 && has_fit[j] ? (kv(j) / ref[j]) ** (-expo[j]) : 1
adj(k) = used(0) && kv(k) > 0 ? column("T_spec") * other(k, 1) * other(k, 2) * other(k, 3) : NaN
any_fit = has_fit[1] || has_fit[2] || has_fit[3]

P = words(panels)
W = P == 1 ? 5.2 : P == 2 ? 8.2 : 10
eval TERMINAL
set multiplot title "Time to specialization T_{spec} across the sweep (log-log)" . \
    (label ne "" ? "\n" . label : "") font ",12"
set logscale xy
set format x "%g"
set format y "%g"
set tmargin at screen 0.83
set bmargin at screen 0.40
set key vertical reverse Left width -2 font ",9" samplen 3
if (any_fit) {
    set label 905 "Each point is one run, its T_{spec} scaled to the geometric mean of the other swept keys by their fitted exponents." \
        at screen 0.5, screen 0.04 center font ",8" tc rgb "#505050"
}

do for [p = 1:P] {
    k = int(word(panels, p))
    key = word(keys, k)
    set xrange [*:*]; set yrange [*:*]     # stats honours the previous panel's ranges
    stats sweep using (log(kv(k))):(log(adj(k))) nooutput prefix "_P"
    mx = _P_mean_x; my = _P_mean_y
    x0 = exp(_P_min_x); x1 = exp(_P_max_x)
    line(x, b) = exp(my + b * (log(x) - mx))
    left = 0.08 + (p - 1) * (0.92 / P)
    set lmargin at screen left
    set rmargin at screen left + 0.92 / P - 0.08
    set key at screen left, screen 0.245 left top
    set xlabel key_label(key)
    set ylabel (p > 1 ? "" : "T_{spec} (epochs)")
    lo = x0 / 1.25; hi = x1 * 1.25
    set xrange [lo:hi]
    axis = "x"; eval TICS125
    lo = exp(_P_min_y) / 1.3; hi = exp(_P_max_y) * 1.3
    set yrange [lo:hi]
    axis = "y"; eval TICS125
    set title sprintf("T_{spec} against %s: %d runs", key_title(key), _P_records) font ",10"
    if (has_fit[k]) {
        plot sweep using (kv(k)):(adj(k)) with points lt 8 pt 6 ps 0.8 title "one run", \
             [x = x0:x1] line(x, expo[k]) with lines lt 1 dt 1 lw 1.5 \
                 title sprintf("fit: slope %.3g ± %.2g", expo[k], err[k]), \
             [x = x0:x1] line(x, paper[k]) with lines lt 2 dt 2 lw 1.5 title sprintf("study: slope %+g", paper[k])
    } else {
        plot sweep using (kv(k)):(adj(k)) with points lt 8 pt 6 ps 0.8 title "one run", \
             [x = x0:x1] line(x, paper[k]) with lines lt 2 dt 2 lw 1.5 title sprintf("study: slope %+g", paper[k])
    }
}
unset multiplot
