/* hp.c: MPFR vectors and matrices and the Cholesky factorization and solve
 * of hp.h, shared by Lemma 1's floor and the stage III replay. Each product
 * is accumulated with one rounding per term (mpfr_fma/mpfr_fms); there is no
 * pivoting, no blocking and nothing faster than O(n^3): the matrices are
 * d x d with d the token dimension. */
#include "hp.h"

#include <stdlib.h>

/* s -= a b, with one rounding. */
static void sub_mul(mpfr_t s, const mpfr_t a, const mpfr_t b)
{
    mpfr_fms(s, a, b, s, MPFR_RNDN);
    mpfr_neg(s, s, MPFR_RNDN);
}

mpfr_t *mot_hp_alloc(size_t n, mpfr_prec_t prec)
{
    mpfr_t *a = malloc((n ? n : 1) * sizeof *a);
    if (!a)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        mpfr_init2(a[i], prec);
        mpfr_set_zero(a[i], 1);
    }
    return a;
}

void mot_hp_free(mpfr_t *a, size_t n)
{
    if (!a)
        return;
    for (size_t i = 0; i < n; i++)
        mpfr_clear(a[i]);
    free(a);
}

long mot_hp_cholesky(mpfr_t *A, size_t n, double drop_tol)
{
    mpfr_prec_t prec = n ? mpfr_get_prec(A[0]) : 53;
    mpfr_t s, thr;
    mpfr_inits2(prec, s, thr, (mpfr_ptr)0);
    mpfr_set_zero(thr, 1);
    for (size_t i = 0; i < n; i++)
        if (mpfr_cmpabs(A[i * n + i], thr) > 0)
            mpfr_abs(thr, A[i * n + i], MPFR_RNDN);
    mpfr_mul_d(thr, thr, drop_tol, MPFR_RNDN);
    long dropped = 0;
    for (size_t j = 0; j < n && dropped >= 0; j++) {
        mpfr_set(s, A[j * n + j], MPFR_RNDN);
        for (size_t k = 0; k < j; k++)
            sub_mul(s, A[j * n + k], A[j * n + k]);
        if (mpfr_cmp(s, thr) > 0 && mpfr_sgn(s) > 0) {
            mpfr_sqrt(A[j * n + j], s, MPFR_RNDN);
            for (size_t i = j + 1; i < n; i++) {
                mpfr_set(s, A[i * n + j], MPFR_RNDN);
                for (size_t k = 0; k < j; k++)
                    sub_mul(s, A[i * n + k], A[j * n + k]);
                mpfr_div(A[i * n + j], s, A[j * n + j], MPFR_RNDN);
            }
        } else if (drop_tol > 0 && mpfr_cmpabs(s, thr) <= 0) {
            dropped++;
            for (size_t i = j; i < n; i++)
                mpfr_set_zero(A[i * n + j], 1);
        } else {
            dropped = -1;
        }
        for (size_t i = 0; i < j; i++)
            mpfr_set_zero(A[i * n + j], 1);
    }
    mpfr_clears(s, thr, (mpfr_ptr)0);
    return dropped;
}

void mot_hp_cholesky_solve(mpfr_t *x, const mpfr_t *L, const mpfr_t *b, size_t n)
{
    mpfr_t s;
    mpfr_init2(s, n ? mpfr_get_prec(x[0]) : 53);
    for (size_t i = 0; i < n; i++) { /* L y = b */
        mpfr_set(s, b[i], MPFR_RNDN);
        for (size_t k = 0; k < i; k++)
            sub_mul(s, L[i * n + k], x[k]);
        if (mpfr_zero_p(L[i * n + i]))
            mpfr_set_zero(x[i], 1);
        else
            mpfr_div(x[i], s, L[i * n + i], MPFR_RNDN);
    }
    for (size_t i = n; i-- > 0;) { /* L^T x = y */
        mpfr_set(s, x[i], MPFR_RNDN);
        for (size_t k = i + 1; k < n; k++)
            sub_mul(s, L[k * n + i], x[k]);
        if (mpfr_zero_p(L[i * n + i]))
            mpfr_set_zero(x[i], 1);
        else
            mpfr_div(x[i], s, L[i * n + i], MPFR_RNDN);
    }
    mpfr_clear(s);
}
