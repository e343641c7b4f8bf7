# style.gp: the look shared by every figure script of plots/ (terminal,
# fonts, line styles, greyscale palette, stage boundaries). The figure
# scripts load it from their own directory; restyle every figure here, one
# figure in its own script. It is not a figure: it plots nothing.
#
# The figure script sets, before loading this file:
#   W, H     figure size in inches (the PNG gets 120 pixels per inch)
# and the caller may set, with gnuplot -e "...":
#   dir      the run (or compare, or sweep) directory to read  (default ".")
#   out      the output file, written as is                    (default: none,
#            the figure goes to the terminal gnuplot opens by default)
#   term     "png" or "pdf"                                    (default "png")
#   font     font name                                         (default "sans")
#   T1, T2   first epochs of stages II and III: dotted vertical lines where
#            the x axis is epochs; `mot plot` passes them from config.json
# Defines (each described where it is defined): the linetypes 1..8, whose
# colour, dash type and point type all differ, so that a black and white
# print still tells them apart; a greyscale palette (white = low, black =
# high); csv(name), the path dir/name; model_name(kind), a model kind as the
# legends name it; end_title(epoch); the macros TERMINAL, STAGES, NOSTAGES,
# STAGES_FROM_METRICS and TICS125, run with `eval`.

if (!exists("dir")) dir = "."
if (!exists("term")) term = "png"
if (!exists("font")) font = "sans"
if (!exists("W")) W = 6.4
if (!exists("H")) H = 4.0

csv(name) = dir . "/" . name

# `eval TERMINAL` (re)sets the terminal at size W x H; a script that learns
# its size from the data sets W, H and evaluates it again before plotting.
TERMINAL = "if (exists('out')) { " . \
    "if (term eq 'pdf') { set terminal pdfcairo enhanced color size W, H font font . ',9' fontscale 0.65 linewidth 1.0 pointscale 0.6 rounded } " . \
    "else { set terminal pngcairo enhanced color size int(W * 120), int(H * 120) font font . ',11' linewidth 1.5 rounded }; " . \
    "set output out }"
if (term ne "png" && term ne "pdf") { print "style.gp: term must be png or pdf (got " . term . ")"; exit status 2 }
eval TERMINAL

set encoding utf8
set datafile separator comma
set datafile columnheaders
set datafile missing "nan"

# Okabe-Ito colours, each with its own dash type and point type.
set linetype 1 lc rgb "#000000" dt 1 pt 7 ps 0.9 lw 1.5
set linetype 2 lc rgb "#D55E00" dt 2 pt 5 ps 0.8 lw 1.5
set linetype 3 lc rgb "#0072B2" dt 4 pt 9 ps 1.0 lw 1.5
set linetype 4 lc rgb "#009E73" dt 3 pt 6 ps 0.9 lw 1.5
set linetype 5 lc rgb "#CC79A7" dt 5 pt 4 ps 0.8 lw 1.5
set linetype 6 lc rgb "#E69F00" dt (8, 3, 2, 3, 2, 3) pt 8 ps 1.0 lw 1.5
set linetype 7 lc rgb "#56B4E9" dt (1, 3) pt 12 ps 1.0 lw 1.5
set linetype 8 lc rgb "#666666" dt (12, 4) pt 13 ps 1.0 lw 1.5
set linetype cycle 8

set style line 100 lc rgb "#909090" dt 3 lw 1      # stage boundaries, references
set style line 101 lc rgb "#D8D8D8" dt 1 lw 0.5    # grid
set grid back ls 101
set border 3 back
set tics nomirror out scale 0.6
set key noautotitle box lc rgb "#B0B0B0" samplen 3 spacing 1.1 opaque

# Greyscale, white at the low end, black at the high end.
set palette gray negative
set palette maxcolors 0

# The model kinds, as the legends name them.
model_name(m) = m eq "mot" ? "MoT" : m eq "single" ? "single transformer" : \
                m eq "moe_noattn" ? "MoE, no attention" : m eq "moe_ffn" ? "MoE, shared attention" : \
                m eq "mot_hp" ? "MoT, MPFR replay" : m

# `eval STAGES` draws dotted vertical lines at T1 and T2 (those defined),
# labelled above the plot, on the current x axis (epochs); `eval NOSTAGES`
# removes them (for a panel whose x axis is not epochs).
STAGES = "if (exists('T1')) { set arrow 901 from T1, graph 0 to T1, graph 1 nohead ls 100 back; " . \
         "set label 901 'T_1' at T1, graph 1 offset 0, 0.6 center font ',9' }; " . \
         "if (exists('T2') && (!exists('T1') || T2 != T1)) { set arrow 902 from T2, graph 0 to T2, graph 1 nohead ls 100 back; " . \
         "set label 902 'T_2' at T2, graph 1 offset 0, 0.6 center font ',9' }"
NOSTAGES = "unset arrow 901; unset arrow 902; unset label 901; unset label 902"

# `eval STAGES_FROM_METRICS` sets T1 and T2, when the caller did not, from
# dir/metrics.csv: the first recorded epochs of stage II (stage >= 2) and of
# stage III. A run directory always holds metrics.csv.
# A run that stopped before a stage leaves that boundary undefined (stats
# defines nothing when no row is valid).
STAGES_FROM_METRICS = "if (!exists('T1') || !exists('T2')) { undefine _S2_* _S3_*; " . \
    "stats csv('metrics.csv') using (column('stage') >= 2 ? column('epoch') : NaN) nooutput prefix '_S2'; " . \
    "if (!exists('T1') && exists('_S2_min')) { T1 = int(_S2_min) }; " . \
    "stats csv('metrics.csv') using (column('stage') >= 3 ? column('epoch') : NaN) nooutput prefix '_S3'; " . \
    "if (!exists('T2') && exists('_S3_min')) { T2 = int(_S3_min) } }"

# `axis = "x"; lo = ...; hi = ...; eval TICS125` puts tics at 1, 2 and 5
# times the powers of ten between lo and hi on a log axis (gnuplot's own
# log tics label only the powers of ten, none at all on a short range); at
# 1, 1.5, 2, 3, 4, 5, 7 times them when that gives fewer than three tics.
TICS125 = "_t = ''; _n = 0; do for [_pass = 1:2] { if (_n < 3) { _t = ''; _n = 0; " . \
    "_ms = _pass == 1 ? '1 2 5' : '1 1.5 2 3 4 5 7'; " . \
    "do for [_d = floor(log10(lo)):ceil(log10(hi))] { do for [_m in _ms] { _v = real(_m) * 10.0 ** _d; " . \
    "if (_v >= lo * 0.999 && _v <= hi * 1.001) { _t = _t . sprintf('%s%.6g', _n == 0 ? '' : ', ', _v); _n = _n + 1 } } } } }; " . \
    "eval sprintf('set %stics (%s)', axis, _t); eval sprintf('set m%stics default', axis)"

# The title of a panel at the last recorded epoch: the end of training, or
# where a run that stopped early (diverged) stopped.
end_title(ep) = exists("T") && ep < T ? sprintf("epoch %d (run stopped before T)", ep) \
                                      : sprintf("epoch %d (end of training)", ep)
