# attention.gp: how each expert learns to attend, over epochs. Top: the mean
# attention weight an expert puts on the label token x_2 over the test
# samples routed to it (dir/attention.csv, `label`), with the uniform 1/L
# for reference. Bottom: the alignment c_n^T W c_n / |W|_F of its attention
# matrix with its class n (dir/alignment.csv, `attn_align`), n being the
# class that sends it most of its traffic at the end (for model = single,
# which has no gate: the class its matrix is best aligned with at the end).
# Only the experts that carry traffic at the end are drawn. Models with
# attention only (attention.csv is absent for model = moe_noattn).
#
#   gnuplot -e "dir='runs/quick'; out='attention.png'; experts='2 4 5'; classes='2 0 1'" plots/attention.gp
#
# Variables (besides those of style.gp): experts and classes, the experts to
# draw and the class of each, separated by spaces (default: computed here as
# described above, an expert counting when its share of the test samples at
# the end is at least min_traffic, default 0.02); L, tokens per sample
# (default: from the uniform attention of epoch 0); Tend, the last epoch; T1,
# T2 (default: from metrics.csv); label, words added to the title.

W = 6.4; H = 5.6
here = ""; do for [i = strlen(ARG0):1:-1] { if (here eq "" && ARG0[i:i] eq "/") { here = ARG0[1:i] } }
load here . "style.gp"
if (!exists("label")) label = ""
if (!exists("min_traffic")) min_traffic = 0.02

att = csv("attention.csv")
ali = csv("alignment.csv")
eval STAGES_FROM_METRICS
stats att using "epoch" nooutput prefix "_E"
if (!exists("Tend")) Tend = int(_E_max)
if (!exists("L")) {
    stats att using (column("epoch") == 0 ? column("label") : NaN) nooutput prefix "_L"
    L = int(1 / _L_mean + 0.5)
}

stats att using "expert" nooutput prefix "_X"
if (!exists("M")) M = int(_X_max) + 1
if (!exists("N")) { stats ali using "class" nooutput prefix "_C"; N = int(_C_max) + 1 }
# Gated models have a `traffic` column in alignment.csv; single has heads.
gated = 0
stats ali every ::0::0 using (sum [j = 1:64] (columnhead(j) eq "traffic" ? (gated = 1, 0) : 0)) nooutput prefix "_H"
if (!exists("experts") || !exists("classes")) {
    array routed[M]
    array best[M]
    array main[M]
    do for [e = 1:M] { routed[e] = 0; best[e] = -2; main[e] = -1 }
    stats att using (column("epoch") == Tend ? (routed[int(column("expert")) + 1] = column("routed"), 0) : 0) \
        nooutput prefix "_R"
    total = 0
    do for [e = 1:M] { total = total + routed[e] }
    crit = gated ? "traffic" : "attn_align"
    stats ali using (column("epoch") == Tend ? (e = int(column("expert")) + 1, v = column(crit), \
                     v > best[e] ? (best[e] = v, main[e] = int(column("class"))) : 0, 0) : 0) nooutput prefix "_A"
    experts = ""; classes = ""
    do for [e = 1:M] {
        if ((!gated || routed[e] >= min_traffic * total) && routed[e] > 0 && main[e] >= 0) {
            experts = experts . sprintf(" %d", e - 1)
            classes = classes . sprintf(" %d", main[e])
        }
    }
}
n_shown = words(experts)
if (n_shown == 0) { print "attention.gp: no expert carries traffic at the end: nothing to draw"; exit status 1 }
ex(i) = int(word(experts, i))
cl(i) = int(word(classes, i))
# attention.csv holds M rows per epoch (expert order), alignment.csv N M
# rows (class, then expert order): `every` picks one expert's rows, which
# keeps its line unbroken.
# Points far enough apart that their types tell the experts apart.
pi_every = int(_X_records / M / 9)
pi_every = pi_every > 0 ? pi_every : 1

set multiplot title (gated ? "Attention of the experts that carry traffic at the end" : \
                            "Attention of each head") . \
    (label ne "" ? "\n" . label : "") font ",12"
set lmargin at screen 0.12
set rmargin at screen 0.80
set key at screen 0.82, screen 0.83 left top vertical reverse Left width 1 title (gated ? "expert (class)" : "head (class)") font ",10"
eval STAGES
set xrange [0:Tend]

# Top: attention on the label token.
set tmargin at screen 0.86
set bmargin at screen 0.52
set xlabel ""
set format x ""
set ylabel "attention on the label token"
set yrange [0:1.02]
set arrow 903 from graph 0, first 1.0 / L to graph 1, first 1.0 / L nohead ls 100 back
set label 903 sprintf("uniform 1/L = %.3g", 1.0 / L) at graph 0.99, first 1.0 / L offset 0, -0.7 right font ",9" tc rgb "#606060"
plot for [i = 1:n_shown] att every M::ex(i) using "epoch":"label" \
     with linespoints lt i pi pi_every title sprintf("%d (%d)", ex(i), cl(i))

# Bottom: alignment of W with the class.
unset arrow 903; unset label 903
unset label 901; unset label 902
set tmargin at screen 0.46
set bmargin at screen 0.10
set format x "%g"
set xlabel "epoch"
set ylabel "alignment c_n^T W c_n / |W|_F"
set yrange [*:1.02]
unset key
plot for [i = 1:n_shown] ali every N * M::(cl(i) * M + ex(i)) using "epoch":"attn_align" \
     with linespoints lt i pi pi_every
unset multiplot
