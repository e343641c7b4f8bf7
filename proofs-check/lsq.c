/* lsq.c: the least squares subtask of lsq.h: H and b summed sample by
 * sample (MPFR: rounded to nearest at each step, the label's sign applied
 * exactly; double: plain sums), theta* by the MPFR Cholesky of hp.c
 * (dropping the null directions of a singular H), and in double by GSL
 * (eigenvalues, Cholesky or pseudo-inverse). The samples enter only here:
 * the descent works on H and b alone. Not a general least squares solver:
 * H is small (d x d) and symmetric positive semidefinite by construction. */
#include "lsq.h"

#include <math.h>
#include <string.h>

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>

#include "hp.h"
#include "status.h"

void mot_lsq_stats_mp(mpfr_t *H, mpfr_t *b, const mpfr_t *Zm, const mpfr_t *am, const double *y,
                      size_t n, size_t d, mpfr_t *az)
{
    for (size_t i = 0; i < d * d; i++)
        mpfr_set_zero(H[i], 1);
    for (size_t i = 0; i < d; i++)
        mpfr_set_zero(b[i], 1);
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < d; i++) {
            if (am)
                mpfr_mul(az[i], Zm[k * d + i], am[k], MPFR_RNDN);
            else
                mpfr_set(az[i], Zm[k * d + i], MPFR_RNDN);
            if (y[k] > 0)
                mpfr_add(b[i], b[i], az[i], MPFR_RNDN);
            else
                mpfr_sub(b[i], b[i], az[i], MPFR_RNDN);
        }
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j <= i; j++)
                mpfr_fma(H[i * d + j], az[i], az[j], H[i * d + j], MPFR_RNDN);
    }
    for (size_t i = 0; i < d; i++) {
        mpfr_div_ui(b[i], b[i], (unsigned long)n, MPFR_RNDN);
        for (size_t j = 0; j <= i; j++) {
            mpfr_div_ui(H[i * d + j], H[i * d + j], (unsigned long)n, MPFR_RNDN);
            mpfr_set(H[j * d + i], H[i * d + j], MPFR_RNDN);
        }
    }
}

void mot_lsq_stats_d(double *H, double *b, const double *Zd, const double *ad, const double *y,
                     size_t n, size_t d)
{
    memset(H, 0, d * d * sizeof *H);
    memset(b, 0, d * sizeof *b);
    for (size_t k = 0; k < n; k++) {
        double a = ad ? ad[k] : 1.0;
        const double *z = Zd + k * d;
        for (size_t i = 0; i < d; i++) {
            b[i] += a * y[k] * z[i];
            for (size_t j = 0; j <= i; j++)
                H[i * d + j] += a * a * z[i] * z[j];
        }
    }
    for (size_t i = 0; i < d; i++) {
        b[i] /= (double)n;
        for (size_t j = 0; j <= i; j++)
            H[j * d + i] = H[i * d + j] /= (double)n;
    }
}

int mot_lsq_solve_mp(mpfr_t *tstar, int *rank, mpfr_t *Lf, const mpfr_t *H, const mpfr_t *b,
                     size_t d, mpfr_prec_t bits)
{
    for (size_t i = 0; i < d * d; i++)
        mpfr_set(Lf[i], H[i], MPFR_RNDN);
    long dropped = mot_hp_cholesky(Lf, d, 0);
    if (dropped < 0) {
        for (size_t i = 0; i < d * d; i++)
            mpfr_set(Lf[i], H[i], MPFR_RNDN);
        dropped = mot_hp_cholesky(Lf, d, ldexp(1.0, -(int)bits / 2));
    }
    if (dropped < 0)
        return MOT_ERROR(MOT_ENUMERIC, "H_e is not positive semidefinite at %ld bits", (long)bits);
    *rank = (int)(d - (size_t)dropped);
    mot_hp_cholesky_solve(tstar, (const mpfr_t *)Lf, b, d);
    return MOT_OK;
}

int mot_lsq_solve_d(double *evals, double *tstar, const double *Hd, const double *bd, size_t d,
                    int rank)
{
    gsl_matrix *A = gsl_matrix_alloc(d, d), *V = gsl_matrix_alloc(d, d);
    gsl_vector *ev = gsl_vector_alloc(d), *bv = gsl_vector_alloc(d), *xv = gsl_vector_alloc(d);
    gsl_eigen_symmv_workspace *w = gsl_eigen_symmv_alloc(d);
    int status = MOT_OK;
    if (!A || !V || !ev || !bv || !xv || !w) {
        status = MOT_ERROR(MOT_ENOMEM, "cannot allocate a %zu x %zu eigenproblem", d, d);
        goto done;
    }
    memcpy(A->data, Hd, d * d * sizeof *Hd);
    if (gsl_eigen_symmv(A, ev, V, w) != GSL_SUCCESS
        || gsl_eigen_symmv_sort(ev, V, GSL_EIGEN_SORT_VAL_ASC) != GSL_SUCCESS) {
        status = MOT_ERROR(MOT_ENUMERIC, "GSL's symmetric eigensolver failed on H_e");
        goto done;
    }
    for (size_t i = 0; i < d; i++)
        evals[i] = gsl_vector_get(ev, i);
    memcpy(A->data, Hd, d * d * sizeof *Hd);
    memcpy(bv->data, bd, d * sizeof *bd);
    if (rank == (int)d && gsl_linalg_cholesky_decomp1(A) == GSL_SUCCESS
        && gsl_linalg_cholesky_solve(A, bv, xv) == GSL_SUCCESS) {
        memcpy(tstar, xv->data, d * sizeof *tstar);
    } else {
        memset(tstar, 0, d * sizeof *tstar);
        for (size_t k = d - (size_t)rank; k < d; k++) {
            double p = 0;
            for (size_t i = 0; i < d; i++)
                p += gsl_matrix_get(V, i, k) * bd[i];
            for (size_t i = 0; i < d; i++)
                tstar[i] += gsl_matrix_get(V, i, k) * p / evals[k];
        }
    }
done:
    gsl_matrix_free(A), gsl_matrix_free(V);
    gsl_vector_free(ev), gsl_vector_free(bv), gsl_vector_free(xv);
    gsl_eigen_symmv_free(w);
    return status;
}
