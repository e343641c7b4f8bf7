/* checks.h: the check orchestration of `mot check`, shared with `mot run
 * --check`, `mot compare --check` and `mot demo`. */
#ifndef MOT_SIM_CHECKS_H
#define MOT_SIM_CHECKS_H

#include "check.h"

#define MAX_VERDICTS 16

/* The high-precision replay's epoch cap (mot check --hp-epochs). */
extern long hp_epochs;

typedef struct {
    mot_verdict v[MAX_VERDICTS];
    int n;
} verdicts;

/* Runs every applicable check on DIR (a run or a compare directory) into
 * vs and writes checks.json, rates.csv and rate_fits.csv. Returns EXIT_OK,
 * or an exit code after printing why DIR cannot be checked. bits = 0: the
 * run's own precision key. The caller frees the verdicts. */
int check_collect(const char *dir, unsigned bits, verdicts *vs);

/* check_collect, then the verdict table on stdout; returns 0 when every
 * claim holds, 1 otherwise, 2 on bad input. */
int check_dir(const char *dir, unsigned bits);

#endif
