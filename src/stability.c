/* stability.c: see stability.h. H_n is accumulated as Z_n^T Z_n / n_n with
 * one rank-k update per class (the rows of Z_n are the uniformly attended
 * tokens of the samples of class n), and its eigenvalues come from GSL's
 * symmetric eigensolver. */
#include "stability.h"

#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_cblas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>   /* GSL_SUCCESS; `mot` turns GSL's abort off */
#include <gsl/gsl_matrix.h>

#include "status.h"

/* The uniformly attended tokens of the samples of class n, as rows of Z;
 * returns their count. */
static size_t attended_rows(const mot_data *D, size_t n, double *Z)
{
    size_t rows = 0, L = D->L, d = D->d;
    for (size_t k = 0; k < D->n; k++) {
        if ((size_t)D->cls[k] != n)
            continue;
        double *z = Z + rows++ * d;
        for (size_t j = 0; j < d; j++)
            z[j] = 0;
        for (size_t l = 0; l < L; l++)
            cblas_daxpy((int)d, 1.0 / (double)L, D->X + (k * L + l) * d, 1, z, 1);
    }
    return rows;
}

int mot_stability_bound(const mot_data *D, mot_loss_kind loss, double *bound)
{
    size_t d = D->d;
    double curvature = loss == MOT_LOSS_SQUARED ? 1.0 : 0.25;   /* l''(0) */
    double *Z = malloc((D->n ? D->n : 1) * d * sizeof *Z);
    gsl_matrix *H = gsl_matrix_alloc(d, d);
    gsl_vector *eval = gsl_vector_alloc(d);
    gsl_eigen_symm_workspace *ws = gsl_eigen_symm_alloc(d);
    int status = MOT_OK;
    double lmax = 0;
    if (!Z || !H || !eval || !ws)
        status = MOT_ERROR(MOT_ENOMEM, "cannot allocate the stability bound's %zu x %zu matrices", d, d);
    for (size_t n = 0; status == MOT_OK && n < D->N; n++) {
        size_t rows = attended_rows(D, n, Z);
        if (rows == 0)
            continue;
        /* Lower triangle of Z^T Z / rows: all gsl_eigen_symm reads. */
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)rows, curvature / (double)rows,
                    Z, (int)d, 0.0, H->data, (int)H->tda);
        if (gsl_eigen_symm(H, eval, ws) != GSL_SUCCESS) {
            status = MOT_ERROR(MOT_ENUMERIC, "the eigenvalues of class %zu's Hessian did not converge", n);
            break;
        }
        for (size_t i = 0; i < d; i++)
            if (gsl_vector_get(eval, i) > lmax)
                lmax = gsl_vector_get(eval, i);
    }
    if (status == MOT_OK)
        *bound = lmax > 0 ? 2.0 / lmax : INFINITY;
    gsl_eigen_symm_free(ws);
    gsl_vector_free(eval);
    gsl_matrix_free(H);
    free(Z);
    return status;
}
