/* plot_figs.h: the figures `mot plot` draws for each kind of directory: a
 * run (losses, routing, attention, alignment), a comparison (the losses of
 * every model, then each model's run figures) and a sweep (sweep_t1,
 * sweep_coverage), plus `rate` where `mot check` left rates.csv. It decides
 * which figures apply and reads the few numbers their scripts are given
 * (stage boundaries, sizes, the experts worth showing); how a figure looks
 * is the scripts' business, and running gnuplot is plot_gnuplot.c's. */
#ifndef MOT_PLOT_FIGS_H
#define MOT_PLOT_FIGS_H

#include "plot_gnuplot.h"

/* The figures of one run directory: losses (when `suffix` is NULL: a
 * comparison draws its own), routing, attention, alignment, named
 * <figure>[_<suffix>], each when its CSV is there. Returns EXIT_OK or
 * EXIT_USAGE (unreadable run: config.json, or metrics.csv without an epoch
 * column or a row), having printed why. */
int plot_run(plotter *p, const char *dir, const char *suffix);

/* rate.gp for a run or a comparison with the variables `vars`, when
 * `mot check` wrote DIR/rates.csv; else says it is skipped. */
void plot_rate(plotter *p, const char *dir, const char *vars);

/* The figures of a comparison directory (compare.csv): losses of every
 * model and rate (the stage boundaries from the first model's run), then
 * plot_run of each model's run, suffixed _<model>. Returns EXIT_OK,
 * EXIT_USAGE when compare.csv names no model, or the exit code of a run
 * that cannot be read, having printed why. */
int plot_compare(plotter *p, const char *dir);

/* The figures of a sweep directory (sweep.csv): sweep_t1, sweep_coverage.
 * Returns EXIT_OK, or an exit code when out of memory. */
int plot_sweep(plotter *p, const char *dir);

#endif
