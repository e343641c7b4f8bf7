/* theorem1.h: Theorem 1 of CHECKS.md, the convergence rate of stage III.
 * mot_rate_window measures, on one loss curve, how the epochs T(eps) needed
 * to bring the gap to the curve's own plateau below eps grow as eps shrinks,
 * and asks mot_rate_fit whether that growth is logarithmic (linear
 * convergence, MoT's claim) or inverse (the O(1/eps) of one transformer).
 * The two checks apply it to the stage III window of a recorded MoT run
 * (theorem1) and of a recorded `single` run (separation). Nothing here
 * trains or replays: the high-precision replay of stage III is another file. */
#ifndef MOT_THEOREM1_H
#define MOT_THEOREM1_H

#include <stddef.h>

#include "check.h"
#include "ratefit.h"

/* Room for the eps grid: 200 points at four per decade are 50 decades, more
 * than a double loss curve resolves (the grid stops there if it gets that
 * far, and says so). */
#define MOT_RATE_MAX_EPS 200

/* The gap must stay above this many noise standard deviations to count. */
#define MOT_RATE_NOISE_MULT 5.0

typedef struct {
    size_t n;               /* points in the window */
    size_t n_tail;          /* last points averaged for L_inf: max(1, n / 10) */
    double L_inf, s;        /* their mean and standard deviation (0 when n_tail = 1) */
    double floor;           /* smallest resolvable gap (see mot_rate_window_at) */
    double g0;              /* gap at the start of the window, L_0 - L_inf */
    size_t n_eps;           /* grid points */
    int truncated;          /* the grid hit MOT_RATE_MAX_EPS before the floor */
    double eps[MOT_RATE_MAX_EPS]; /* eps_k = g0 10^(-k/4), k = 1..n_eps */
    double T[MOT_RATE_MAX_EPS];   /* first t - t_0 with g_t <= eps_k */
    int fitted;             /* n_eps >= 3; else the fit's numbers are NaN */
    mot_rate_fit_result fit;
    size_t rho_points;      /* points of the log-gap fit (the transient) */
    double rho, rho_slope, rho_r2; /* exp(slope) of log g_t against t; NaN below 2 points */
    mot_rate_kind verdict;  /* the fit's verdict; inconclusive below 3 eps points */
} mot_rate_window_result;

/* Measures the rate of one loss curve sampled at strictly increasing epochs
 * t (t[0] is the start of the window, t0; only differences t - t0 matter) with
 * values loss[0..n-1]:
 *   L_inf, s = mean and standard deviation of the last max(1, n/10) values;
 *   g_i = loss[i] - L_inf;
 *   floor = max(5 max(s, DBL_EPSILON |L_inf|), DBL_MIN);
 *   eps_k = g_0 10^(-k/4), k = 1, 2, ... while eps_k >= floor
 *   (mot_rate_times: >= to a relative 1e-12, where CHECKS.md says > 5 s);
 *   T(eps_k) = t_i - t_0 for the first i with g_i <= eps_k;
 *   mot_rate_fit on (T, eps) when there are at least 3 grid points;
 *   rho = exp(slope) of the least squares line of log g_i against t_i - t_0
 *   over the transient, the points before the gap first falls to the floor.
 * The floor is CHECKS.md's 5 s, except that a curve which reaches its plateau
 * exactly (s = 0: the last 10% are bit-identical, as when gradient descent
 * hits a fixed point of double arithmetic) still has a resolution: gaps
 * below a few units in the last place of L_inf are rounding, not
 * convergence, and DBL_MIN keeps a plateau at exactly 0 out of the
 * subnormals. Later excursions of the gap above the floor are plateau
 * noise and stay out of the rho fit.
 * Sampled every log_every epochs, T(eps) is rounded up to the next recorded
 * epoch. Fills *out whatever the verdict; returns MOT_OK, or MOT_EINVAL for
 * n = 0, a non-finite value or epochs that do not increase, or the status
 * of a failed fit (MOT_ENUMERIC), each with a message. */
int mot_rate_window_at(const double *t, const double *loss, size_t n,
                       mot_rate_window_result *out);

/* The same for one value per epoch, loss[i] at t0 + i. */
int mot_rate_window(const double *loss, size_t n, mot_rate_window_result *out);

/* Theorem 1: the test loss of a MoT run over its stage III window, epochs T2
 * to T as recorded in metrics.csv (every recorded epoch, at its own epoch
 * number, so log_every > 1 only coarsens T(eps)), is `logarithmic`. Holds
 * when it is; fails when the window resolves at least 3 grid points and is
 * not (the inverse fit won, or neither fit reached MOT_RATE_R2_MIN: a 1/t
 * curve whose plateau the window cannot resolve reads so); inconclusive
 * when it resolves fewer than 3 grid points, or the run is not a three-stage
 * MoT run or stopped before T. MOT_OK with `v` filled, or an error with a
 * message when metrics.csv lacks the columns or epoch T2, or a value of the
 * window is not finite. */
int mot_check_theorem1(const mot_runrec *mot_run, mot_verdict *v);

/* Separation: the same window of a `single` run (its stage III also starts
 * at T2) is not `logarithmic`. Holds when it is not (the verdict, both R^2
 * and rho are reported); fails when it is; inconclusive when the window
 * resolves fewer than 3 grid points or the run is not a three-stage `single`
 * run that reached T. Errors as for mot_check_theorem1. */
int mot_check_separation(const mot_runrec *single_run, mot_verdict *v);

#endif
