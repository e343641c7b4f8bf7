/* descent.h: the descent of one expert's stage III subtask, as the
 * high-precision replay runs it: gradient descent on the least squares
 * problem of lsq.h, in MPFR with the exact propagator and in double epoch by
 * epoch, side by side, with what it measures (the contraction per epoch,
 * the epochs T(eps) to each gap on a grid and their fit, how far the double
 * gap strays from the MPFR one). It takes the attended tokens as given:
 * computing them from a run and judging the results is replay.c's. */
#ifndef MOT_DESCENT_H
#define MOT_DESCENT_H

#include <stddef.h>

#include <mpfr.h>

#include "ratefit.h"

/* The share of its start above which the double gap is compared with the
 * MPFR gap. */
#define MOT_REPLAY_DOUBLE_FLOOR 1e-12

/* One expert's replay. */
typedef struct {
    int expert;
    size_t n;             /* samples routed to it */
    size_t d;
    double step;          /* s = lr_scale eta (times n_e/n_train for grad_norm = global) */
    int rank;             /* rank of H_e (d unless the MPFR Cholesky dropped pivots) */
    double mu, lambda;    /* smallest nonzero and largest eigenvalue of H_e (double) */
    double rho_pred;      /* max(|1 - s mu|, |1 - s lambda|) */
    double rho_meas;      /* |e_T| / |e_{T-1}| at the last epoch T (MPFR); from the gap when rank < d */
    double rho_rel_diff;  /* |rho_meas - rho_pred| / rho_pred */
    double rate_rel_diff; /* the same for 1 - rho: the stronger test when rho is near 1 */
    double epochs_needed; /* log(hp_eps) / log(rho_pred^2) */
    long epochs;          /* T: first epoch with gap <= hp_eps gap_0, or max_epochs */
    int reached;          /* the gap fell to hp_eps of its start */
    double g0, g_end;     /* MPFR gap at the start and at epoch T */
    double z_diff;        /* max |z_MPFR - z_double| / max |z| (NaN if not compared) */
    double double_rel_diff; /* max |g_double - g_MPFR| / g_MPFR over the compared epochs */
    long double_epochs;   /* the double gap stayed above 1e-12 of its start up to here */
    long double_compared; /* epochs at which the two gaps were compared */
    size_t n_eps;         /* the T(eps) grid: eps_k = g0 10^(-k/4) down to hp_eps g0 */
    double *T, *eps;      /* (n_eps) each; owned */
    mot_rate_fit_result fit; /* T(eps) fitted both ways */
} mot_replay_expert;

/* Gradient descent theta <- theta - step (H theta - b) from theta0 (d) on
 * the least squares subtask of n samples with attended tokens Zm (n, d) in
 * MPFR at `bits` bits and Zd (n, d) in double, gate factors a (n; NULL: all
 * 1) and labels y (n): H = (1/n) sum a_k^2 z_k z_k^T, b = (1/n) sum a_k y_k z_k.
 * The MPFR descent runs until its gap (theta_t - theta*)^T H
 * (theta_t - theta*)/2 falls to hp_eps of its start, or max_epochs; the
 * double one while its gap is above 1e-12 of its start (and max_epochs).
 * How (descent.c): on the error theta_t - theta*, by single epochs for the
 * first 64, then by blocks of 64 epochs while the double gap is compared,
 * then of 4096, each block one product with the exact propagator
 * (I - step H)^m (by repeated squaring in MPFR); every T(eps) is then
 * located to the epoch by bisection inside its block, and the two gaps are
 * compared at every epoch the MPFR descent visits. Fills x (free with
 * mot_replay_expert_clear), leaving x->expert and x->z_diff to the caller.
 * MOT_OK, MOT_ENOMEM, or MOT_ENUMERIC (GSL's eigensolver failed, or H is not
 * positive semidefinite). */
int mot_hp_descent(mot_replay_expert *x, const mpfr_t *Zm, const double *Zd, const double *a,
                   const double *y, size_t n, size_t d, const double *theta0, double step,
                   double hp_eps, long max_epochs, mpfr_prec_t bits);

/* Frees x's T(eps) grid (x->T, x->eps) and empties it; the other fields
 * are left as they are. */
void mot_replay_expert_clear(mot_replay_expert *x);

#endif
