/* plot_gnuplot.h: how `mot plot` runs gnuplot: finding the gnuplot program
 * and the scripts of plots/, passing a script its variables as a gnuplot -e
 * fragment, and drawing one figure in each format asked, under a temporary
 * name renamed when gnuplot succeeded. It knows nothing about runs, which
 * figures apply or what they show (plot_figs.c, and the scripts). */
#ifndef MOT_PLOT_GNUPLOT_H
#define MOT_PLOT_GNUPLOT_H

#include <stdio.h>

/* One `mot plot`: where gnuplot, the scripts and the figures are, the
 * formats asked, and the count of figures written and failed so far. */
typedef struct {
    char *gnuplot;          /* path of the gnuplot program */
    const char *scripts;    /* directory of the .gp files */
    const char *figdir;
    int png, pdf;
    int written, failed;
} plotter;

/* Whether DIR/name exists (1) or not, or its path cannot be made (0). */
int plot_exists(const char *dir, const char *name);

/* The first executable `gnuplot` on PATH, malloc'd, or NULL. */
char *plot_find_gnuplot(void);

/* The directory holding the scripts: $MOT_PLOTS_DIR (which must then hold
 * them), ./plots, the source tree's plots/, the installed one. NULL after
 * printing why. */
const char *plot_find_scripts(void);

/* Appends name='value'; to a gnuplot -e string (a quote doubled inside). */
void plot_gp_string(FILE *f, const char *name, const char *value);

/* One figure, in each format asked: FIGDIR/<name>.<ext> from plots/<script>
 * with the variables `vars` (a gnuplot -e fragment). Prints each file
 * written; a script that exits cleanly without drawing (nothing to draw) is
 * reported as skipped with the script's last line; a failure is reported
 * with gnuplot's output, leaves no file and counts in p->failed. */
void plot_figure(plotter *p, const char *name, const char *script, const char *vars);

#endif
