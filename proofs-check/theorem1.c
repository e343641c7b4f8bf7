/* theorem1.c: the rate of a loss curve (see theorem1.h) and the two checks
 * built on it, theorem1 for MoT and separation for `single`. The fits
 * themselves are mot_rate_fit's (ratefit.c); this file builds the eps grid
 * from a recorded curve and turns the fit's verdict into a claim's. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <gsl/gsl_fit.h>

#include "status.h"
#include "theorem1.h"

/* Least squares line of log g_i against t_i - t_0 over the transient. */
static int fit_rho(const double *t, const double *g, size_t n, double floor,
                   mot_rate_window_result *out)
{
    out->rho = out->rho_slope = out->rho_r2 = NAN;
    size_t k = 0;
    while (k < n && g[k] > floor)
        k++;
    out->rho_points = k;
    if (k < 2)
        return MOT_OK;
    double *x = malloc(2 * k * sizeof *x);
    if (!x)
        return MOT_ERROR(MOT_ENOMEM, "cannot allocate the log-gap fit");
    double *y = x + k, c0, c1, cov00, cov01, cov11, sumsq, ybar = 0, tss = 0;
    for (size_t i = 0; i < k; i++)
        x[i] = t[i] - t[0], y[i] = log(g[i]), ybar += y[i] / (double)k;
    for (size_t i = 0; i < k; i++)
        tss += (y[i] - ybar) * (y[i] - ybar);
    int err = gsl_fit_linear(x, 1, y, 1, k, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
    free(x);
    if (err)
        return MOT_ERROR(MOT_ENUMERIC, "log-gap fit: gsl_fit_linear failed (%d)", err);
    out->rho_slope = c1;
    out->rho = exp(c1);
    out->rho_r2 = tss > 0 ? 1 - sumsq / tss : NAN;
    return MOT_OK;
}

int mot_rate_window_at(const double *t, const double *loss, size_t n,
                       mot_rate_window_result *out)
{
    *out = (mot_rate_window_result){.n = n, .verdict = MOT_RATE_INCONCLUSIVE,
                                    .rho = NAN, .rho_slope = NAN, .rho_r2 = NAN};
    if (n == 0)
        return MOT_ERROR(MOT_EINVAL, "rate window: no points");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(loss[i]) || !isfinite(t[i]))
            return MOT_ERROR(MOT_EINVAL, "rate window: point %zu is not finite (t %g, loss %g)",
                             i, t[i], loss[i]);
        if (i > 0 && !(t[i] > t[i - 1]))
            return MOT_ERROR(MOT_EINVAL, "rate window: epochs do not increase at point %zu "
                             "(%g after %g)", i, t[i], t[i - 1]);
    }
    size_t m = n / 10 > 0 ? n / 10 : 1;
    const double *tail = loss + (n - m);
    double mean = 0, ss = 0;
    for (size_t i = 0; i < m; i++) /* running mean: exact when the tail is constant */
        mean += (tail[i] - mean) / (double)(i + 1);
    for (size_t i = 0; i < m; i++)
        ss += (tail[i] - mean) * (tail[i] - mean);
    out->n_tail = m;
    out->L_inf = mean;
    out->s = m > 1 ? sqrt(ss / (double)(m - 1)) : 0;
    out->floor = fmax(MOT_RATE_NOISE_MULT * fmax(out->s, DBL_EPSILON * fabs(mean)), DBL_MIN);
    out->g0 = loss[0] - mean;

    double *g = malloc(n * sizeof *g);
    if (!g)
        return MOT_ERROR(MOT_ENOMEM, "cannot allocate %zu gaps", n);
    for (size_t i = 0; i < n; i++)
        g[i] = loss[i] - mean;
    /* the grid and the first crossings are ratefit's; T comes back as a
     * point index and becomes an epoch offset here */
    out->n_eps = mot_rate_times(g, n, out->floor, out->T, out->eps, MOT_RATE_MAX_EPS);
    for (size_t k = 0; k < out->n_eps; k++)
        out->T[k] = t[(size_t)out->T[k]] - t[0];
    out->truncated = out->n_eps == MOT_RATE_MAX_EPS
                  && out->g0 * pow(10, -(MOT_RATE_MAX_EPS + 1) / 4.0) >= out->floor;
    int status = fit_rho(t, g, n, out->floor, out);
    free(g);
    if (status || (status = mot_rate_fit(out->T, out->eps, out->n_eps, &out->fit)))
        return status;
    out->fitted = out->n_eps >= 3;
    out->verdict = out->fit.kind;
    return MOT_OK;
}

int mot_rate_window(const double *loss, size_t n, mot_rate_window_result *out)
{
    double *t = malloc((n ? n : 1) * sizeof *t);
    if (!t)
        return MOT_ERROR(MOT_ENOMEM, "cannot allocate %zu epochs", n);
    for (size_t i = 0; i < n; i++)
        t[i] = (double)i;
    int status = mot_rate_window_at(t, loss, n, out);
    free(t);
    return status;
}

/* Adds every number of a window to the verdict, the grid as two arrays. */
static void window_numbers(mot_verdict *v, int t0, int t_end, const mot_rate_window_result *w)
{
    mot_verdict_num(v, "t0", t0);
    mot_verdict_num(v, "t_end", t_end);
    mot_verdict_num(v, "points", (double)w->n);
    mot_verdict_num(v, "tail_points", (double)w->n_tail);
    mot_verdict_num(v, "L_inf", w->L_inf);
    mot_verdict_num(v, "s", w->s);
    mot_verdict_num(v, "gap_start", w->g0);
    mot_verdict_num(v, "floor", w->floor);
    mot_verdict_num(v, "noise_mult", MOT_RATE_NOISE_MULT);
    mot_verdict_num(v, "eps_points", (double)w->n_eps);
    mot_verdict_num(v, "eps_truncated", w->truncated);
    int f = w->fitted;
    mot_verdict_num(v, "log_intercept", f ? w->fit.a_log : NAN);
    mot_verdict_num(v, "log_slope", f ? w->fit.b_log : NAN);
    mot_verdict_num(v, "log_r2", f ? w->fit.r2_log : NAN);
    mot_verdict_num(v, "inv_intercept", f ? w->fit.a_inv : NAN);
    mot_verdict_num(v, "inv_slope", f ? w->fit.b_inv : NAN);
    mot_verdict_num(v, "inv_r2", f ? w->fit.r2_inv : NAN);
    mot_verdict_num(v, "r2_min", MOT_RATE_R2_MIN);
    mot_verdict_num(v, "rho", w->rho);
    mot_verdict_num(v, "rho_r2", w->rho_r2);
    mot_verdict_num(v, "rho_points", (double)w->rho_points);
    json_t *eps = json_array(), *T = json_array();
    for (size_t k = 0; k < w->n_eps; k++) {
        json_array_append_new(eps, json_real(w->eps[k]));
        json_array_append_new(T, json_real(w->T[k]));
    }
    json_object_set_new(v->numbers, "eps", eps);
    json_object_set_new(v->numbers, "T_eps", T);
    json_object_set_new(v->numbers, "rate", json_string(mot_rate_name(w->verdict)));
}

/* Reads the test loss of `r` over epochs T2..T and measures its window.
 * Returns MOT_OK with *why empty, or with *why set (the window cannot be
 * measured: inconclusive), or an error. */
static int stage3_window(const mot_runrec *r, mot_model_kind kind, mot_rate_window_result *w,
                         char *why, size_t why_len)
{
    const mot_config *cfg = &r->cfg;
    why[0] = '\0';
    if (cfg->model != kind) {
        snprintf(why, why_len, "applies to model = %s (this run is %s)",
                 mot_config_enum_name("model", (int)kind), mot_config_enum_name("model", (int)cfg->model));
        return MOT_OK;
    }
    if (cfg->schedule != MOT_SCHED_THREE_STAGE) {
        snprintf(why, why_len, "schedule = %s has no stage III",
                 mot_config_enum_name("schedule", (int)cfg->schedule));
        return MOT_OK;
    }
    if (cfg->T2 >= cfg->T) {
        snprintf(why, why_len, "no stage III (T2 = T = %d)", cfg->T);
        return MOT_OK;
    }
    const mot_table *M = r->metrics;
    int c_ep = mot_table_col(M, "epoch"), c_loss = mot_table_col(M, "test_loss");
    if (c_ep < 0 || c_loss < 0)
        return MOT_ERROR(MOT_EINVAL, "%s: metrics.csv lacks the epoch or test_loss column", r->dir);
    long r0 = mot_runrec_row(M, cfg->T2);
    if (r0 < 0)
        return MOT_ERROR(MOT_EINVAL, "%s: metrics.csv lacks epoch T2 = %d", r->dir, cfg->T2);
    size_t n = 0;
    for (size_t i = (size_t)r0; i < M->rows && mot_table_at(M, i, c_ep) <= cfg->T; i++)
        n++;
    double last = mot_table_at(M, (size_t)r0 + n - 1, c_ep);
    if (last < cfg->T) {
        snprintf(why, why_len, "the run stopped at epoch %g, before T = %d", last, cfg->T);
        return MOT_OK;
    }
    double *t = malloc(2 * n * sizeof *t);
    if (!t)
        return MOT_ERROR(MOT_ENOMEM, "cannot allocate the stage III window");
    double *loss = t + n;
    for (size_t i = 0; i < n; i++)
        t[i] = mot_table_at(M, (size_t)r0 + i, c_ep), loss[i] = mot_table_at(M, (size_t)r0 + i, c_loss);
    int status = mot_rate_window_at(t, loss, n, w);
    free(t);
    if (status == MOT_EINVAL) { /* a non-finite or disordered row: say which file */
        char msg[256];
        snprintf(msg, sizeof msg, "%s", mot_status_message()); /* the buffer MOT_ERROR writes */
        return MOT_ERROR(MOT_EINVAL, "%s: metrics.csv, stage III window: %s", r->dir, msg);
    }
    return status;
}

/* "window 800..1400 (601 points): ..." describing what decided the rate. */
static void describe(char *buf, size_t len, const mot_runrec *r, const mot_rate_window_result *w)
{
    if (!w->fitted) {
        snprintf(buf, len, "window %d..%d (%zu points): L_inf %.6g, s %.3g, gap %.3g at T2 gives "
                 "%zu eps points above the floor %.3g (need 3)", r->cfg.T2, r->cfg.T, w->n,
                 w->L_inf, w->s, w->g0, w->n_eps, w->floor);
        return;
    }
    snprintf(buf, len, "window %d..%d (%zu points): L_inf %.6g, s %.3g, %zu eps points "
             "%.3g..%.3g; T(eps) vs ln(1/eps): R^2 %.4f, slope %.4g; vs 1/eps: R^2 %.4f, "
             "slope %.4g (need R^2 >= %.2f and the better); rho %.6g (R^2 %.4f over %zu epochs): %s",
             r->cfg.T2, r->cfg.T, w->n, w->L_inf, w->s, w->n_eps, w->eps[0], w->eps[w->n_eps - 1],
             w->fit.r2_log, w->fit.b_log, w->fit.r2_inv, w->fit.b_inv, MOT_RATE_R2_MIN,
             w->rho, w->rho_r2, w->rho_points, mot_rate_name(w->verdict));
}

/* Measures the stage III window of run r (a run of `kind`) into verdict v.
 * Theorem 1 holds when the window is logarithmic; the separation holds when
 * it is not. With fewer than 3 eps points no rate was measured: inconclusive. */
static int stage3_check(const mot_runrec *r, mot_model_kind kind, int want_log,
                        const char *claim, const char *label, const char *suffix, mot_verdict *v)
{
    mot_verdict_init(v, claim);
    mot_rate_window_result *w = malloc(sizeof *w);
    if (!w)
        return MOT_ERROR(MOT_ENOMEM, "cannot allocate a rate window");
    char why[256], desc[768];
    int status = stage3_window(r, kind, w, why, sizeof why);
    if (status == MOT_OK && why[0]) {
        mot_verdict_set(v, MOT_VERDICT_INCONCLUSIVE, "%s", why);
    } else if (status == MOT_OK) {
        window_numbers(v, r->cfg.T2, r->cfg.T, w);
        describe(desc, sizeof desc, r, w);
        int logarithmic = w->verdict == MOT_RATE_LOGARITHMIC;
        mot_verdict_kind k = !w->fitted ? MOT_VERDICT_INCONCLUSIVE
                           : logarithmic == want_log ? MOT_VERDICT_HOLDS
                                                     : MOT_VERDICT_FAILS;
        mot_verdict_set(v, k, "%s stage III %s%s", label, desc, suffix);
    }
    free(w);
    return status;
}

int mot_check_theorem1(const mot_runrec *mot_run, mot_verdict *v)
{
    return stage3_check(mot_run, MOT_MODEL_MOT, 1, "theorem1", "MoT", "", v);
}

int mot_check_separation(const mot_runrec *single_run, mot_verdict *v)
{
    return stage3_check(single_run, MOT_MODEL_SINGLE, 0, "separation", "single",
                        " (must not be logarithmic)", v);
}
