/* data.c: see data.h. Draw order per sample (fixed, so a seed means the
 * same data forever): class, label, distractor class, distractor sign, then
 * the noise tokens coordinate by coordinate. */
#include "data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "status.h"

mot_data *mot_data_alloc(size_t n, size_t L, size_t d, size_t N)
{
    mot_data *D = calloc(1, sizeof *D);
    if (!D)
        return NULL;
    D->n = n, D->L = L, D->d = d, D->N = N;
    D->X = malloc(n * L * d * sizeof *D->X);
    D->y = malloc(n * sizeof *D->y);
    D->cls = malloc(n * sizeof *D->cls);
    if (!D->X || !D->y || !D->cls) {
        mot_data_free(D);
        return NULL;
    }
    return D;
}

void mot_data_free(mot_data *D)
{
    if (!D)
        return;
    free(D->X);
    free(D->y);
    free(D->cls);
    free(D);
}

static void gaussian_token(double *x, size_t d, double sd, gsl_rng *r)
{
    for (size_t j = 0; j < d; j++)
        x[j] = gsl_ran_gaussian_ziggurat(r, sd);
}

int mot_data_generate(mot_data *D, const double *c, const double *v,
                      const mot_config *cfg, gsl_rng *r)
{
    size_t N = D->N, L = D->L, d = D->d;
    gsl_ran_discrete_t *weights = NULL;
    if (cfg->n_class_weights > 0) {
        weights = gsl_ran_discrete_preproc(N, cfg->class_weights);
        if (!weights)
            return MOT_ERROR(MOT_ENOMEM, "cannot prepare class_weights");
    }
    for (size_t k = 0; k < D->n; k++) {
        size_t n = weights ? gsl_ran_discrete(r, weights) : gsl_rng_uniform_int(r, N);
        int y = gsl_rng_uniform_int(r, 2) ? 1 : -1;
        size_t other = N > 1 ? gsl_rng_uniform_int(r, N - 1) : 0;
        size_t n2 = other >= n ? other + 1 : other; /* uniform on the other classes */
        int y2 = gsl_rng_uniform_int(r, 2) ? 1 : -1;
        double *X = D->X + k * L * d;
        const double *cn = c + n * d, *vn = v + n * d;
        for (size_t j = 0; j < d; j++) {
            X[MOT_TOK_CLASS * d + j] = cfg->beta * cn[j];
            X[MOT_TOK_LABEL * d + j] = cfg->alpha * y * vn[j] + cfg->kappa * cn[j];
        }
        if (cfg->gamma > 0 && N > 1)
            for (size_t j = 0; j < d; j++)
                X[MOT_TOK_DISTRACTOR * d + j] = cfg->gamma * y2 * v[n2 * d + j];
        else
            gaussian_token(X + MOT_TOK_DISTRACTOR * d, d, cfg->sigma_p, r);
        for (size_t l = MOT_TOK_NOISE; l < L; l++)
            gaussian_token(X + l * d, d, cfg->sigma_p, r);
        D->y[k] = y;
        D->cls[k] = (int)n;
    }
    gsl_ran_discrete_free(weights);
    return MOT_OK;
}

int mot_data_validate(const mot_data *D, const char *what)
{
    for (size_t k = 0; k < D->n; k++) {
        if (D->y[k] != 1 && D->y[k] != -1)
            return MOT_ERROR(MOT_EINVAL, "%s: label %zu is %d, must be -1 or +1", what, k, D->y[k]);
        if (D->cls[k] < 0 || (size_t)D->cls[k] >= D->N)
            return MOT_ERROR(MOT_EINVAL, "%s: class %zu is %d, must be in 0..%zu", what, k,
                             D->cls[k], D->N - 1);
    }
    for (size_t i = 0; i < D->n * D->L * D->d; i++)
        if (!isfinite(D->X[i]))
            return MOT_ERROR(MOT_EINVAL, "%s: token value %zu is not finite", what, i);
    return MOT_OK;
}
