# rate.gp: the convergence rate of stage III. T(eps), the epochs the loss
# gap takes to fall below eps, against log10(1/eps), for MoT and the single
# transformer (and the MPFR replay of MoT's stage III, which goes much
# further down), with the two fits of `mot check`: T = a + b ln(1/eps), a
# straight line here (linear convergence, MoT's claim), and T = a + b / eps,
# an exponential here (the O(1/eps) of one transformer), each with its R^2.
# Reads dir/rates.csv (source,k,eps,log10_inv_eps,T) and dir/rate_fits.csv
# (source,slope_log,intercept_log,r2_log,slope_inv,intercept_inv,r2_inv,
# verdict), source being mot, single or mot_hp. Without rates.csv it says so
# and draws nothing (exit status 0).
#
#   gnuplot -e "dir='runs/cmp'; out='rate.png'; term='png'" plots/rate.gp
#
# Variables (besides those of style.gp): label, words added to the title.

W = 7.2; H = 4.3
here = ""; do for [i = strlen(ARG0):1:-1] { if (here eq "" && ARG0[i:i] eq "/") { here = ARG0[1:i] } }
load here . "style.gp"
if (!exists("label")) label = ""

rates = csv("rates.csv")
fits = csv("rate_fits.csv")
readable(f) = system(sprintf("test -r '%s' && echo 1 || echo 0", f)) eq "1"
if (!readable(rates)) { print "rate.gp: " . rates . " not found: no figure"; exit }

sources = "mot single mot_hp"
S = words(sources)
src_index(s) = s eq "mot" ? 1 : s eq "single" ? 2 : s eq "mot_hp" ? 3 : 0
array count[S]; array xmin[S]; array xmax[S]
array b_log[S]; array a_log[S]; array r2_log[S]
array b_inv[S]; array a_inv[S]; array r2_inv[S]; array verdict[S]; array fitted[S]
do for [s = 1:S] { count[s] = 0; xmin[s] = 1e300; xmax[s] = -1e300; fitted[s] = 0; verdict[s] = "" }

# One pass over each file, filling the arrays (a using expression may assign).
stats rates using (s = src_index(strcol("source")), x = column("log10_inv_eps"), \
                   s > 0 ? (count[s] = count[s] + 1, xmin[s] = x < xmin[s] ? x : xmin[s], \
                            xmax[s] = x > xmax[s] ? x : xmax[s], column("T")) : NaN) nooutput prefix "_T"
if (!exists("_T_records")) { print "rate.gp: " . rates . " holds no point of mot, single or mot_hp: no figure"; exit }
if (readable(fits)) {
    stats fits using (s = src_index(strcol("source")), \
                      s > 0 ? (fitted[s] = 1, b_log[s] = column("slope_log"), a_log[s] = column("intercept_log"), \
                               r2_log[s] = column("r2_log"), b_inv[s] = column("slope_inv"), \
                               a_inv[s] = column("intercept_inv"), r2_inv[s] = column("r2_inv"), \
                               verdict[s] = strcol("verdict"), 0) : NaN) nooutput prefix "_F"
}
# A fit whose numbers are NaN (too few points) is not drawn.
do for [s = 1:S] { if (fitted[s] && (b_log[s] != b_log[s] || a_log[s] != a_log[s])) { fitted[s] = 0 } }

fit_log(s, x) = a_log[s] + b_log[s] * log(10) * x
fit_inv(s, x) = a_inv[s] + b_inv[s] * 10 ** x
r2(v) = v == v ? sprintf("R^2 = %.3f", v) : "R^2 undefined"
is(s) = src_index(strcol("source")) == s

# The plot command of a panel: for each source in `list` (indices into
# `sources`) that has points, its points, then its fits over its own range
# (so a legend reads source by source).
panel_cmd = ""
BUILD = "panel_cmd = ''; do for [s in list] { s = int(s); if (count[s] > 0) { " . \
    "panel_cmd = panel_cmd . sprintf(\"rates using 'log10_inv_eps':(is(%d) ? column('T') : NaN) with points lt %d ps %g title '%s%s', \", " . \
    "s, s, s == 3 ? 0.45 : 0.8, model_name(word(sources, s)), verdict[s] ne '' ? ' (' . verdict[s] . ')' : ''); " . \
    "if (fitted[s]) { panel_cmd = panel_cmd . " . \
    "sprintf(\"[x=%.17g:%.17g] fit_log(%d, x) with lines lt %d dt 1 lw 1.2 title '   fit a + b ln(1/ε), %s', \", xmin[s], xmax[s], s, s, r2(r2_log[s])) . " . \
    "sprintf(\"[x=%.17g:%.17g] fit_inv(%d, x) with lines lt %d dt 2 lw 1.2 title '   fit a + b/ε, %s', \", xmin[s], xmax[s], s, s, r2(r2_inv[s])) } } }; " . \
    "panel_cmd = 'plot ' . panel_cmd[1:strlen(panel_cmd) - 2]"

# Ranges of the two panels.
double_max = 0; double_x = 0
do for [s = 1:2] { if (count[s] > 0) { double_x = xmax[s] > double_x ? xmax[s] : double_x } }
stats rates using (src_index(strcol("source")) <= 2 ? column("T") : NaN) nooutput prefix "_D"
hp = count[3] > 0
both = hp && (count[1] > 0 || count[2] > 0)
if (both) { W = 10; H = 4.4; eval TERMINAL }

set xlabel "log_{10}(1/ε)"
set ylabel "T(ε) (epochs)"
set samples 400
# The legend under each panel, one column per source.
set key vertical maxrows 3 reverse Left width -2 font ",9" samplen 3
set bmargin at screen 0.33
set tmargin at screen (both ? 0.82 : 0.86)
if (both) {
    set multiplot title "Stage III convergence: epochs T(ε) until the loss gap is below ε" . \
        (label ne "" ? "\n" . label : "") font ",12"
}
if (count[1] > 0 || count[2] > 0) {
    if (both) {
        set lmargin at screen 0.07; set rmargin at screen 0.47
        set key at screen 0.07, screen 0.195 left top
        set title "recorded runs (double precision)" font ",10"
    } else {
        set lmargin at screen 0.10; set rmargin at screen 0.95
        set key at screen 0.10, screen 0.195 left top
        set title "Stage III convergence: epochs T(ε) until the loss gap is below ε" . \
            (label ne "" ? "\n" . label : "") font ",12"
    }
    set xrange [0:ceil(double_x + 0.25)]
    set yrange [0:_D_max * 1.12]
    list = "1 2"
    eval BUILD
    eval panel_cmd
}
if (hp) {
    if (both) {
        set lmargin at screen 0.56; set rmargin at screen 0.96
        set key at screen 0.56, screen 0.195 left top
        set title "MoT stage III replayed in MPFR" font ",10"
    } else {
        set lmargin at screen 0.10; set rmargin at screen 0.95
        set key at screen 0.10, screen 0.195 left top
        set title "Stage III of MoT replayed in MPFR: epochs T(ε) until the loss gap is below ε" . \
            (label ne "" ? "\n" . label : "") font ",12"
    }
    set xrange [0:ceil(xmax[3] + 0.5)]
    set yrange [0:_T_max * 1.12]
    list = "3"
    eval BUILD
    eval panel_cmd
}
if (both) { unset multiplot }
