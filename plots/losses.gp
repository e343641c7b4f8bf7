# losses.gp: test loss (log scale, top) and test error (bottom) against
# epochs, for one run (dir/metrics.csv; the training loss and error are drawn
# too, thinner) or for every model of a comparison (dir/compare.csv, one line
# per model). Stage boundaries T1, T2 are dotted vertical lines.
#
#   gnuplot -e "dir='runs/quick'; out='losses.png'; term='png'; T1=20; T2=120" plots/losses.gp
#   gnuplot -e "dir='runs/cmp'; kind='compare'; out='losses.pdf'; term='pdf'" plots/losses.gp
#
# Variables (besides those of style.gp): kind, "run" (default) or "compare";
# models, the models of a comparison to draw, separated by spaces (default
# "mot single moe_noattn moe_ffn"); label, words added to the title.

W = 6.4; H = 5.6
here = ""; do for [i = strlen(ARG0):1:-1] { if (here eq "" && ARG0[i:i] eq "/") { here = ARG0[1:i] } }
load here . "style.gp"

if (!exists("kind")) kind = "run"
if (!exists("models")) models = "mot single moe_noattn moe_ffn"
if (!exists("label")) label = ""
if (kind ne "run" && kind ne "compare") { print "losses.gp: kind must be run or compare"; exit status 2 }

file = csv(kind eq "run" ? "metrics.csv" : "compare.csv")
is(m) = strcol("model") eq m

set multiplot title (kind eq "run" ? "Loss and error" : "Loss and error of each model") . \
    (label ne "" ? ": " . label : "") font ",12"
set lmargin at screen 0.12
set rmargin at screen 0.96
set xlabel ""
set format x ""
set key at screen 0.54, screen 0.915 center top horizontal maxrows 2 reverse Left width 1
eval STAGES

# Top: the losses, log scale.
set tmargin at screen 0.83
set bmargin at screen 0.50
set logscale y
set format y "10^{%L}"
set ylabel (kind eq "run" ? "loss" : "test loss") . " (log scale)"
set mytics 10
if (kind eq "run") {
    plot file using "epoch":"test_loss" with lines lt 1 title "test", \
         ""   using "epoch":"train_loss" with lines lt 2 lw 1.2 title "training"
} else {
    plot for [i = 1:words(models)] file using "epoch":(is(word(models, i)) ? column("test_loss") : NaN) \
         with lines lt i title model_name(word(models, i))
}

# Bottom: the errors, linear; the stage lines stay, their names do not.
unset label 901; unset label 902
unset logscale y
set mytics default
set format y "%g"
set format x "%g"
set tmargin at screen 0.46
set bmargin at screen 0.10
set xlabel "epoch"
set ylabel (kind eq "run" ? "error" : "test error") . " (share of samples)"
set yrange [0:*]
unset key
if (kind eq "run") {
    plot file using "epoch":"test_error" with lines lt 1, \
         ""   using "epoch":"train_error" with lines lt 2 lw 1.2
} else {
    plot for [i = 1:words(models)] file using "epoch":(is(word(models, i)) ? column("test_error") : NaN) \
         with lines lt i
}
unset multiplot
