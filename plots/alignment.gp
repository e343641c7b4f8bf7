# alignment.gp: the feed-forward alignment matrix A[e][n] = v_n^T theta_e /
# |theta_e| (dir/alignment.csv, `ffn_align`), experts down, classes across,
# at the end of each stage: T1, T2 and the last recorded epoch, three
# heatmaps side by side. Greyscale from 0 (white) to 1 (black); a negative
# entry is white too, its value (printed in every cell) carries the sign.
#
#   gnuplot -e "dir='runs/quick'; out='alignment.png'; term='png'" plots/alignment.gp
#
# Variables (besides those of style.gp): T1, T2 (default: from metrics.csv);
# Tend, the last epoch (default: the last one in alignment.csv); N, M, the
# numbers of classes and experts (default: from alignment.csv); label, words
# added to the title.

here = ""; do for [i = strlen(ARG0):1:-1] { if (here eq "" && ARG0[i:i] eq "/") { here = ARG0[1:i] } }
load here . "style.gp"
if (!exists("label")) label = ""

file = csv("alignment.csv")
eval STAGES_FROM_METRICS
stats file using "epoch" nooutput prefix "_E"
if (!exists("Tend")) Tend = int(_E_max)
if (!exists("N")) { stats file using "class" nooutput prefix "_C"; N = int(_C_max) + 1 }
if (!exists("M")) { stats file using "expert" nooutput prefix "_X"; M = int(_X_max) + 1 }

# Gated models have a `traffic` column; model = single has heads, not experts.
gated = 0
stats file every ::0::0 using (sum [j = 1:64] (columnhead(j) eq "traffic" ? (gated = 1, 0) : 0)) nooutput prefix "_H"

# The figure grows with the matrix: three panels of N columns, M rows.
W = 7.5
H = 1.9 + 0.32 * M
H = H < 3.6 ? 3.6 : H > 10 ? 10 : H
eval TERMINAL

at(ep, v) = column("epoch") == ep ? v : NaN
cell_text(v) = sprintf("%.2f", v)
print_values = N * M <= 400
fs = (N * M <= 40) ? 9 : (N * M <= 120) ? 8 : 6

set multiplot title "Feed-forward alignment A[e][n] = v_n^T θ_e / |θ_e| at the end of each stage" . \
    (label ne "" ? "\n" . label : "") font ",12"
set colorbox user origin screen 0.885, screen 0.15 size screen 0.018, screen 0.62
set cbrange [0:1]
set cbtics 0.25 format "%.2g"
set cblabel "alignment (negative: white)" offset 0.5, 0
set xrange [-0.5:N - 0.5]
set yrange [M - 0.5:-0.5]           # expert 0 on top, as in a matrix
set xtics 1 scale 0
set ytics 1 scale 0
set grid noxtics noytics
set border 15 front
set style fill solid 1.0 border lc rgb "#C8C8C8"
set xlabel "class n"
unset key
set tmargin at screen 1 - 0.9 / H     # room for the two title lines
set bmargin at screen 0.5 / H + 0.02

# Three panels between x = 0.07 and 0.86 of the page.
left(p) = 0.07 + (p - 1) * 0.27
do for [p = 1:3] {
    ep = p == 1 ? T1 : p == 2 ? T2 : Tend
    set title (p == 1 ? sprintf("epoch %d = T_1 (end of stage I)", ep) : \
               p == 2 ? sprintf("epoch %d = T_2 (end of stage II)", ep) : \
                        end_title(ep)) font ",10"
    set lmargin at screen left(p)
    set rmargin at screen left(p) + 0.23
    if (p == 1) { set ylabel (gated ? "expert e" : "head e"); set format y "%g" } else { set ylabel ""; set format y "" }
    if (print_values) {
        plot file using "class":(at(ep, column("expert"))):(0.5):(0.5):"ffn_align" with boxxyerror fc palette, \
             ""   using "class":(at(ep, column("expert"))):(column("ffn_align") <= 0.5 ? cell_text(column("ffn_align")) : "") \
                  with labels font sprintf(",%d", fs) tc rgb "black", \
             ""   using "class":(at(ep, column("expert"))):(column("ffn_align") > 0.5 ? cell_text(column("ffn_align")) : "") \
                  with labels font sprintf(",%d", fs) tc rgb "white"
    } else {
        plot file using "class":(at(ep, column("expert"))):(0.5):(0.5):"ffn_align" with boxxyerror fc palette
    }
}
unset multiplot
