/* ratefit.c: see ratefit.h. */
#include "ratefit.h"

#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_fit.h>

#include "status.h"

/* Fits y = c0 + c1 x; NaN R^2 when y is constant. */
static int fit_r2(const double *x, const double *y, size_t n, double *c0, double *c1, double *r2)
{
    double cov00, cov01, cov11, sumsq;
    if (gsl_fit_linear(x, 1, y, 1, n, c0, c1, &cov00, &cov01, &cov11, &sumsq) != GSL_SUCCESS)
        return MOT_ERROR(MOT_ENUMERIC, "gsl_fit_linear failed on %zu points", n);
    double mean = 0, sst = 0;
    for (size_t i = 0; i < n; i++)
        mean += y[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        sst += (y[i] - mean) * (y[i] - mean);
    *r2 = sst > 0 ? 1 - sumsq / sst : NAN;
    return MOT_OK;
}

int mot_rate_fit(const double *T, const double *eps, size_t n, mot_rate_fit_result *out)
{
    out->n = n;
    out->a_log = out->b_log = out->r2_log = NAN;
    out->a_inv = out->b_inv = out->r2_inv = NAN;
    out->kind = MOT_RATE_INCONCLUSIVE;
    for (size_t i = 0; i < n; i++)
        if (!(eps[i] > 0) || !isfinite(eps[i]) || !isfinite(T[i]))
            return MOT_ERROR(MOT_EINVAL, "rate fit: point %zu has eps %g, T %g (need eps > 0, finite)",
                             i, eps[i], T[i]);
    if (n < 3)
        return MOT_OK;
    double *x = malloc(2 * n * sizeof *x);
    if (!x)
        return MOT_ERROR(MOT_ENOMEM, "cannot allocate a rate fit of %zu points", n);
    double *xi = x + n;
    for (size_t i = 0; i < n; i++)
        x[i] = log(1 / eps[i]), xi[i] = 1 / eps[i];
    int status = fit_r2(x, T, n, &out->a_log, &out->b_log, &out->r2_log);
    if (status == MOT_OK)
        status = fit_r2(xi, T, n, &out->a_inv, &out->b_inv, &out->r2_inv);
    free(x);
    if (status)
        return status;
    double rl = isnan(out->r2_log) ? -INFINITY : out->r2_log;
    double ri = isnan(out->r2_inv) ? -INFINITY : out->r2_inv;
    if (rl >= MOT_RATE_R2_MIN && rl > ri)
        out->kind = MOT_RATE_LOGARITHMIC;
    else if (ri >= MOT_RATE_R2_MIN && ri > rl)
        out->kind = MOT_RATE_INVERSE;
    return MOT_OK;
}

size_t mot_rate_times(const double *g, size_t len, double eps_min, double *T, double *eps,
                      size_t cap)
{
    if (len == 0 || !(g[0] > 0))
        return 0;
    size_t n = 0, t = 0;
    for (int k = 1; n < cap; k++) {
        double e = g[0] * pow(10.0, -k / 4.0);
        if (e < eps_min * (1 - 1e-12))
            break;
        while (t < len && !(g[t] <= e)) /* g is not assumed monotone: the first t */
            t++;
        if (t == len)
            break;
        T[n] = (double)t, eps[n] = e;
        n++;
    }
    return n;
}

double mot_rate_contraction(const double *g, size_t len)
{
    double st = 0, sl = 0, stt = 0, stl = 0, m = 0;
    for (size_t t = 0; t < len; t++)
        if (g[t] > 0 && isfinite(g[t])) {
            double l = log(g[t]);
            st += (double)t, sl += l, stt += (double)t * (double)t, stl += (double)t * l, m++;
        }
    double den = m * stt - st * st;
    return m >= 2 && den > 0 ? exp((m * stl - st * sl) / den) : NAN;
}

const char *mot_rate_name(mot_rate_kind kind)
{
    switch (kind) {
    case MOT_RATE_LOGARITHMIC: return "logarithmic";
    case MOT_RATE_INVERSE: return "inverse";
    default: return "inconclusive";
    }
}
