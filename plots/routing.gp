# routing.gp: where the gate sends each class, as two heatmaps of
# dir/dispatch.csv (`share`: the share of the test samples of class n routed
# to expert e, inference routing), classes down, experts across: at T1 (end of
# stage I, when the routing should already be by class) and at the last
# recorded epoch. Greyscale, each cell's value printed in it. Gated models
# only (dispatch.csv is absent for model = single).
#
#   gnuplot -e "dir='runs/quick'; out='routing.png'; term='png'" plots/routing.gp
#
# Variables (besides those of style.gp): T1 (default: from metrics.csv);
# Tend, the last epoch (default: the last one in dispatch.csv); N, M, the
# numbers of classes and experts (default: from dispatch.csv); label, words
# added to the title.

W = 6.4; H = 5.2
here = ""; do for [i = strlen(ARG0):1:-1] { if (here eq "" && ARG0[i:i] eq "/") { here = ARG0[1:i] } }
load here . "style.gp"
if (!exists("label")) label = ""

file = csv("dispatch.csv")
eval STAGES_FROM_METRICS
stats file using "epoch" nooutput prefix "_E"
if (!exists("Tend")) Tend = int(_E_max)
if (!exists("N")) { stats file using "class" nooutput prefix "_C"; N = int(_C_max) + 1 }
if (!exists("M")) { stats file using "expert" nooutput prefix "_X"; M = int(_X_max) + 1 }

# A cell: value v at (expert, class) of epoch ep, NaN elsewhere.
at(ep, v) = column("epoch") == ep ? v : NaN
cell_text(v) = v == 0 ? "0" : v == 1 ? "1" : sprintf("%.2f", v)
print_values = N * M <= 600    # beyond that the numbers would not fit

set multiplot title "Routing: share of each class's test samples sent to each expert" . \
    (label ne "" ? "\n" . label : "") font ",12"
set lmargin at screen 0.10
set rmargin at screen 0.86
set colorbox user origin screen 0.89, screen 0.12 size screen 0.025, screen 0.72
set cbrange [0:1]
set cbtics 0.25 format "%.2g"
set cblabel "share of the class" offset 0.5, 0
set xrange [-0.5:M - 0.5]
set yrange [N - 0.5:-0.5]            # class 0 on top, as in a matrix
set xtics 1 scale 0 out
set ytics 1 scale 0
set mxtics 1
set mytics 1
set grid noxtics noytics
set border 15 front
set style fill solid 1.0 border lc rgb "#C8C8C8"
set ylabel "class"
unset key
fs = (N * M <= 60) ? 10 : (N * M <= 200) ? 8 : 6

do for [panel = 1:2] {
    ep = panel == 1 ? T1 : Tend
    set title (panel == 1 ? sprintf("epoch %d = T_1 (end of stage I)", ep) : end_title(ep)) font ",10"
    if (panel == 1) {
        set tmargin at screen 0.84; set bmargin at screen 0.53
        set xlabel ""
    } else {
        set tmargin at screen 0.425; set bmargin at screen 0.11
        set xlabel "expert"
    }
    if (print_values) {
        plot file using "expert":(at(ep, column("class"))):(0.5):(0.5):"share" with boxxyerror fc palette, \
             ""   using "expert":(at(ep, column("class"))):(column("share") <= 0.5 ? cell_text(column("share")) : "") \
                  with labels font sprintf(",%d", fs) tc rgb "black", \
             ""   using "expert":(at(ep, column("class"))):(column("share") > 0.5 ? cell_text(column("share")) : "") \
                  with labels font sprintf(",%d", fs) tc rgb "white"
    } else {
        plot file using "expert":(at(ep, column("class"))):(0.5):(0.5):"share" with boxxyerror fc palette
    }
}
unset multiplot
