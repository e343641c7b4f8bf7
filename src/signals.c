/* signals.c: see signals.h. Signals are first built on coordinate axes,
 * then rotated, so orthonormality holds to rounding whatever the rotation. */
#include "signals.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>

#include "status.h"

int mot_signals_haar(double *Q, size_t d, gsl_rng *r)
{
    gsl_matrix *A = gsl_matrix_alloc(d, d);
    gsl_vector *tau = gsl_vector_alloc(d);
    gsl_matrix *Qm = gsl_matrix_alloc(d, d);
    gsl_matrix *R = gsl_matrix_alloc(d, d);
    int status = MOT_OK;
    if (!A || !tau || !Qm || !R) {
        status = MOT_ERROR(MOT_ENOMEM, "cannot allocate a %zu x %zu rotation", d, d);
        goto done;
    }
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            gsl_matrix_set(A, i, j, gsl_ran_gaussian(r, 1.0));
    if (gsl_linalg_QR_decomp(A, tau) || gsl_linalg_QR_unpack(A, tau, Qm, R)) {
        status = MOT_ERROR(MOT_ENUMERIC, "QR decomposition of the rotation failed");
        goto done;
    }
    for (size_t j = 0; j < d; j++) {
        double sign = gsl_matrix_get(R, j, j) < 0 ? -1.0 : 1.0;
        for (size_t i = 0; i < d; i++)
            Q[i * d + j] = sign * gsl_matrix_get(Qm, i, j);
    }
done:
    gsl_matrix_free(A);
    gsl_vector_free(tau);
    gsl_matrix_free(Qm);
    gsl_matrix_free(R);
    return status;
}

/* Applies Q to each of the `rows` vectors of x (rows, d): x_i <- Q x_i. */
static void rotate_rows(double *x, size_t rows, const double *Q, size_t d, double *tmp)
{
    for (size_t i = 0; i < rows; i++) {
        for (size_t a = 0; a < d; a++) {
            double acc = 0;
            for (size_t b = 0; b < d; b++)
                acc += Q[a * d + b] * x[i * d + b];
            tmp[a] = acc;
        }
        memcpy(x + i * d, tmp, d * sizeof *tmp);
    }
}

int mot_signals_make(double *c, double *v, const mot_config *cfg, gsl_rng *r)
{
    size_t N = (size_t)cfg->N, d = (size_t)cfg->d;
    size_t need = cfg->geometry == MOT_GEOM_ORTHOGONAL ? 2 * N
                : cfg->geometry == MOT_GEOM_CONFLICT   ? N + 1
                                                       : 2 * N + 1;
    if (d < need)
        return MOT_ERROR(MOT_EINVAL, "d must be >= %zu for this geometry (got %zu)", need, d);
    memset(c, 0, N * d * sizeof *c);
    memset(v, 0, N * d * sizeof *v);
    for (size_t n = 0; n < N; n++) {
        c[n * d + n] = 1.0;
        switch (cfg->geometry) {
        case MOT_GEOM_ORTHOGONAL:
            v[n * d + N + n] = 1.0;
            break;
        case MOT_GEOM_CONFLICT: /* v_n = (-1)^n u with classes numbered from 1 */
            v[n * d + N] = n % 2 == 0 ? -1.0 : 1.0;
            break;
        case MOT_GEOM_CORRELATED:
            v[n * d + N + n] = sqrt(1.0 - cfg->rho);
            v[n * d + 2 * N] = sqrt(cfg->rho);
            break;
        }
    }
    if (!cfg->rotate)
        return MOT_OK;
    double *Q = malloc(d * d * sizeof *Q), *tmp = malloc(d * sizeof *tmp);
    int status = Q && tmp ? mot_signals_haar(Q, d, r)
                          : MOT_ERROR(MOT_ENOMEM, "cannot allocate a rotation");
    if (status == MOT_OK) {
        rotate_rows(c, N, Q, d, tmp);
        rotate_rows(v, N, Q, d, tmp);
    }
    free(Q);
    free(tmp);
    return status;
}
