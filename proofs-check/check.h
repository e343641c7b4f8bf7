/* check.h: what every checker shares. A finished run is read back from its
 * directory (mot_runrec: its config and its CSV tables); each claim of
 * the study (README.md, "Checks") is one function in its own file that reads a runrec and fills a
 * verdict (holds, fails or inconclusive), with the measured numbers that
 * decided it and the thresholds used, in one line and as a JSON object.
 * Checkers never train: they only read what a run recorded (and, for the
 * high-precision replay, the arrays it saved). */
#ifndef MOT_CHECK_H
#define MOT_CHECK_H

#include <jansson.h>

#include "config.h"
#include "table.h"

typedef enum { MOT_VERDICT_HOLDS, MOT_VERDICT_FAILS, MOT_VERDICT_INCONCLUSIVE } mot_verdict_kind;

typedef struct {
    char claim[32];          /* "definition2", "prop1", "prop2", "lemma1", ... */
    mot_verdict_kind verdict;
    char reason[1024];       /* the deciding numbers against their thresholds */
    json_t *numbers;         /* every measured number and threshold, by name */
} mot_verdict;

/* A finished run, read back. Tables a model kind does not record are NULL. */
typedef struct {
    char *dir;
    mot_config cfg;
    mot_table *metrics, *dispatch, *gate, *alignment, *attention, *experts, *steps,
        *train_dispatch;
} mot_runrec;

/* Reads DIR/config.json and DIR's CSV files. A run without summary.json is
 * unfinished and refused. NULL with a message (MOT_EINVAL/EIO) on failure. */
mot_runrec *mot_runrec_load(const char *dir);
void mot_runrec_free(mot_runrec *r);

/* Row index of `epoch` in a table with an "epoch" column (the first such row),
 * or -1. */
long mot_runrec_row(const mot_table *t, int epoch);

void mot_verdict_init(mot_verdict *v, const char *claim);
void mot_verdict_free(mot_verdict *v);
/* Sets the verdict and its one-line reason (printf-style). */
void mot_verdict_set(mot_verdict *v, mot_verdict_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records a number (NaN and infinities become null) under `key`. */
void mot_verdict_num(mot_verdict *v, const char *key, double x);
const char *mot_verdict_name(mot_verdict_kind kind);
/* {"claim", "verdict", "reason", "numbers"}: a new reference. */
json_t *mot_verdict_json(const mot_verdict *v);

/* Definition 2 at one recorded epoch: which experts are specialized in which
 * class, from the traffic composition q_e(n) (alignment.csv), the load
 * (experts.csv) and the dispatch table D[n][e] (dispatch.csv). */
typedef struct {
    int epoch;
    size_t N, E;
    double load[4096];          /* share of test samples routed to e */
    int best[4096];             /* n_e* = argmax_n q_e(n), -1 when idle */
    double purity[4096];        /* q_e(n_e*) */
    int idle[4096], specialized[4096];
    double A_ratio[4096];       /* largest over second largest |A[e][.]| */
    int covered[MOT_MAX_CLASSES];      /* |M_n| */
    double misrouted[MOT_MAX_CLASSES]; /* sum over e not in M_n of D[n][e] */
    int all_specialized, all_covered, routing_correct;
} mot_spec;

/* Fills s for `epoch` of a gated run. MOT_EINVAL when the epoch was not
 * recorded or the run has no gate. */
int mot_spec_at(const mot_runrec *r, int epoch, mot_spec *s);

/* The checks. Each returns MOT_OK with `v` filled (whatever the verdict), or
 * an error with a message when the run cannot be read as the check needs. */
int mot_check_definition2(const mot_runrec *r, mot_verdict *v);
int mot_check_prop1(const mot_runrec *r, mot_verdict *v);
int mot_check_prop2(const mot_runrec *r, mot_verdict *v);

#endif
