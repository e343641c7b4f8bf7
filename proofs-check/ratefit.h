/* ratefit.h: is a loss gap's decay logarithmic (T(eps) = O(log 1/eps),
 * linear convergence) or inverse (T(eps) = O(1/eps))? From a gap curve g_t,
 * the times T(eps) = first t with g_t <= eps on the grid
 * eps_k = g_0 10^(-k/4), fitted by least squares both as T = a + b log(1/eps)
 * and as T = a + b / eps (GSL's gsl_fit_linear), with the verdict rule of
 * CHECKS.md's Theorem 1 section. Used by the stage III replay and the
 * Theorem 1 checker; it knows nothing about runs. */
#ifndef MOT_RATEFIT_H
#define MOT_RATEFIT_H

#include <stddef.h>

typedef enum { MOT_RATE_LOGARITHMIC, MOT_RATE_INVERSE, MOT_RATE_INCONCLUSIVE } mot_rate_kind;

typedef struct {
    size_t n;                      /* points fitted */
    double a_log, b_log, r2_log;   /* T = a + b log(1/eps) and its R^2 */
    double a_inv, b_inv, r2_inv;   /* T = a + b / eps and its R^2 */
    mot_rate_kind kind;
} mot_rate_fit_result;

/* R^2 a fit must reach to be taken. */
#define MOT_RATE_R2_MIN 0.95

/* Fits the n points (eps[i], T[i]), eps > 0, both ways and decides:
 * logarithmic when r2_log >= 0.95 and r2_log > r2_inv, inverse when
 * r2_inv >= 0.95 and r2_inv > r2_log, else inconclusive. An R^2 is NaN when
 * T does not vary; fewer than 3 points leave every number NaN. Returns
 * MOT_OK (out filled, possibly inconclusive), MOT_EINVAL when an eps is not
 * > 0 or a value is not finite, or MOT_ENUMERIC when GSL fails. */
int mot_rate_fit(const double *T, const double *eps, size_t n, mot_rate_fit_result *out);

/* The grid of a gap curve g (len) with g[0] > 0: eps_k = g[0] 10^(-k/4) for
 * k = 1, 2, ... while eps_k >= eps_min (to a relative 1e-12, so that
 * eps_min = hp_eps g[0] is itself on the grid) and some g_t <= eps_k;
 * T[k-1] = the first t with g[t] <= eps_k. Writes at most `cap` points and
 * returns how many. */
size_t mot_rate_times(const double *g, size_t len, double eps_min, double *T, double *eps,
                      size_t cap);

/* The contraction factor rho = exp(slope) of a least squares fit of
 * log g_t against t over the t with g_t > 0. NaN with fewer than 2 such t. */
double mot_rate_contraction(const double *g, size_t len);

/* "logarithmic", "inverse" or "inconclusive". */
const char *mot_rate_name(mot_rate_kind kind);

#endif
