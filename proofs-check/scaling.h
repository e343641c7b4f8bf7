/* scaling.h: the sweep-level checks (README.md). What a sweep measures of
 * each finished run (T_spec, coverage of every class at T1, the Prop 1
 * verdict), read back from the run's directory; sweep.csv read back; the
 * T1-scaling fit log T_spec = c + a_eta log lr_scale + a_sigma log sigma0 +
 * a_M log M against the study's T1 = O(eta^-1 sigma0^-0.5 M); and the
 * coverage table (share of runs covering every class at T1, for each M,
 * against M / (N ln N)). Nothing here trains or runs a sweep. */
#ifndef MOT_SCALING_H
#define MOT_SCALING_H

#include <stddef.h>

#include "check.h"

/* ---- one run of a sweep ------------------------------------------------- */

typedef struct {
    int T_spec;        /* Prop 1's T_spec: the first recorded epoch from which
                        * every non-idle expert is specialized, every class
                        * covered and routed correctly, until the end; -1 when
                        * never; -2 when not measured */
    int coverage_T1;   /* every class covered (Definition 2) at epoch T1: 1 or
                        * 0; -1 when not measured */
    int prop1;         /* mot_verdict_kind of Prop 1, -1 when not checked */
} mot_sweep_measure;

/* Measures the finished run in `dir` (mot_runrec_load: summary.json must be
 * there). Parts that cannot be measured (a model without gate, a run that
 * diverged before T1 or T) are marked as such, not errors. Returns MOT_OK,
 * or the loader's error (MOT_EINVAL, MOT_EIO, MOT_ENOMEM) with a message. */
int mot_sweep_measure_run(const char *dir, mot_sweep_measure *m);

/* ---- sweep.csv ---------------------------------------------------------- */

typedef struct {
    size_t rows, cols;
    char **names;      /* (cols) */
    char **cells;      /* (rows, cols) texts, row-major; "" for empty fields */
} mot_sweep_csv;

/* Reads a CSV file of text fields (no quoting: the fields sweep.csv holds).
 * NULL with a message (MOT_EIO; MOT_EINVAL naming the line of a row with
 * the wrong number of fields) on failure. */
mot_sweep_csv *mot_sweep_csv_read(const char *path);
void mot_sweep_csv_free(mot_sweep_csv *t);

/* Column index of `name`, or -1. */
int mot_sweep_csv_col(const mot_sweep_csv *t, const char *name);

/* ---- T1 scaling --------------------------------------------------------- */

#define MOT_SCALING_TERMS 3   /* lr_scale, sigma0, M */

typedef struct {
    const char *key;      /* column of sweep.csv: "lr_scale", "sigma0", "M" */
    const char *name;     /* "a_eta", "a_sigma", "a_M" */
    double paper;         /* -1, -0.5, +1 */
    int swept;            /* more than one value over all rows */
    size_t values;        /* distinct values over the rows fitted */
    int fitted;           /* in the regression (swept, >= 2 values left) */
    double exponent, se;  /* NaN when not fitted */
    int consistent;       /* |exponent - paper| <= max(3 se, 0.25) */
} mot_scaling_term;

typedef struct {
    size_t rows;          /* rows of sweep.csv */
    size_t used;          /* rows fitted: status done, T_spec > 0 */
    size_t zero;          /* left out: T_spec = 0 (routed by class at once) */
    size_t never;         /* left out: T_spec never reached (-1) */
    size_t unmeasured;    /* left out: failed, diverged, or T_spec empty */
    mot_scaling_term term[MOT_SCALING_TERMS];
    double c, c_se;       /* intercept and its standard error */
    double r2;            /* of the fit in log space */
    long dof;             /* used - parameters */
} mot_scaling_fit;

/* The T1-scaling check on the rows of sweep.csv (columns
 * lr_scale, sigma0, M, T_spec, status; a missing column counts as a key not
 * swept). Least squares (gsl_multifit_linear) of log T_spec on 1 and the
 * logs of the swept keys over the rows with status done and T_spec > 0;
 * standard errors from the covariance sigma^2 (X^T X)^-1, sigma^2 the
 * residual variance. Inconclusive when no key is swept, a swept key keeps
 * fewer than 3 distinct values among the rows fitted, or there are no more
 * rows than parameters; else fails when an exponent is inconsistent with
 * the paper's; else holds. Fills fit and v; MOT_OK, or MOT_ENUMERIC /
 * MOT_ENOMEM with a message. */
int mot_check_t1_scaling(const mot_sweep_csv *t, mot_scaling_fit *fit, mot_verdict *v);

/* Writes fit as CSV (`key,exponent,stderr,paper`: one row per term, NaN
 * when not fitted, then `c` for the intercept with paper NaN), atomically. */
int mot_scaling_write_fit(const char *path, const mot_scaling_fit *fit);

/* ---- coverage ----------------------------------------------------------- */

#define MOT_COVERAGE_MAX 1024

typedef struct {
    int N, M;
    size_t runs, covered;  /* runs with coverage measured; of them covering */
    double share, x;       /* covered / runs; M / (N ln N) (NaN for N = 1) */
    double random;         /* probability that M experts given uniformly
                            * random classes cover all N (coupon collector) */
} mot_coverage_row;

typedef struct {
    size_t n;
    mot_coverage_row row[MOT_COVERAGE_MAX]; /* by N, then M */
    size_t unmeasured;                      /* rows of sweep.csv without coverage */
} mot_coverage;

/* The probability that M independent uniform draws from N classes hit all
 * of them (exact, by the chain on the number of classes seen). */
double mot_coverage_random(int N, int M);

/* The coverage check on the rows of sweep.csv (columns N, M, coverage_T1).
 * For each (N, M): the share of runs covering every class at T1; M_0.9 the
 * smallest M with share >= 0.9. With se = sqrt(0.9 0.1 / runs): fails when
 * for some N a larger M than M_0.9 falls below 0.9 - 2 se (more experts
 * cover worse), or when no M reaches 0.9 although at the largest M even a
 * uniformly random assignment of classes to experts covers every class with
 * probability >= 0.99 and its share is below 0.9 - 2 se; holds when every N
 * reaches 0.9 over at least 2 values of M; inconclusive otherwise. Fills cov
 * and v; MOT_OK, or MOT_EINVAL when a column is missing. */
int mot_check_coverage(const mot_sweep_csv *t, mot_coverage *cov, mot_verdict *v);

#endif
