/* replay.h: the high-precision replay of stage III (CHECKS.md, Theorem 1
 * section). Stage III freezes W; with the gate frozen at its state at T2,
 * each expert's stage III is gradient descent on a least squares problem
 * with fixed attended tokens. The replay recomputes those tokens in MPFR,
 * runs the descent at BITS bits from the sufficient statistics (never per
 * sample per epoch) and in double, and compares the measured contraction
 * with the one strong convexity predicts. It replays the idealized descent,
 * not the recorded run (whose routing keeps its exploration noise). */
#ifndef MOT_REPLAY_H
#define MOT_REPLAY_H

#include <stddef.h>

#include <mpfr.h>

#include "check.h"
#include "ratefit.h"

/* The largest relative difference allowed between the double and the MPFR
 * gap, and the share of its start above which the double gap is compared. */
#define MOT_REPLAY_DOUBLE_TOL 1e-9
#define MOT_REPLAY_DOUBLE_FLOOR 1e-12
/* The largest difference allowed between the MPFR and the library's double
 * attended tokens, relative to the largest token entry. */
#define MOT_REPLAY_Z_TOL 1e-12

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
 * How (replay.c): on the error theta_t - theta*, by single epochs for the
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

void mot_replay_expert_clear(mot_replay_expert *x);

/* The verdict from the experts' replays (nx of them; experts with a zero
 * starting gap are listed but not judged): fails when some
 * expert's tokens disagree with the library's, its contraction misses the
 * prediction by more than cfg->rho_tol, its double gap misses the MPFR gap
 * by more than 1e-9, or its T(eps) is not logarithmic; inconclusive when no
 * expert fails but some did not reach hp_eps within max_epochs (the reason
 * names mu_e and the epochs it would need); holds otherwise. Adds every
 * number to v (already initialized). */
void mot_hp_replay_verdict(const mot_replay_expert *x, size_t nx, const mot_config *cfg,
                           long max_epochs, mot_verdict *v);

/* The replay of a finished MoT run (or any gated run with loss = squared)
 * at `bits` bits with a cap of max_epochs (200000 is the CLI's) epochs per
 * expert. Reads the run's data set and W, theta, router at T2
 * (W_stage2.npy, theta_stage2.npy, router_stage2.npy). Logistic loss or an
 * ungated model give an inconclusive verdict saying why. Returns MOT_OK
 * with v filled, or an error (v freed) when the arrays cannot be read. */
int mot_check_hp_replay(const mot_runrec *r, unsigned bits, long max_epochs, mot_verdict *v);

#endif
