/* hp.h: the few high-precision linear algebra helpers the checkers share:
 * MPFR vectors and matrices as row-major arrays of mpfr_t, their allocation,
 * and a Cholesky factorization and solve that also handles a positive
 * semidefinite matrix. Used by Lemma 1's exact floor (lemma1.c) and the
 * stage III replay (descent.c, replay.c). Not a general MPFR linear algebra
 * library: only what those checks need, with no pivoting and no BLAS. */
#ifndef MOT_HP_H
#define MOT_HP_H

#include <stddef.h>

#include <mpfr.h>

/* n values, each initialized to 0 at `prec` bits. NULL on ENOMEM. */
mpfr_t *mot_hp_alloc(size_t n, mpfr_prec_t prec);
/* Clears and frees the n values; NULL does nothing. */
void mot_hp_free(mpfr_t *a, size_t n);

/* Cholesky factorization A = L L^T in place of the symmetric n x n matrix A
 * (row-major; only the lower triangle is read, L is left there and the
 * strict upper triangle is zeroed). With drop_tol = 0 every pivot must be
 * > 0 (A positive definite). With drop_tol > 0, a pivot within
 * drop_tol * (largest diagonal entry) of 0 is taken as an exact zero of a
 * positive semidefinite A: its column of L is set to 0, and the solve below
 * then returns the solution with that coordinate 0, which is exact when the
 * right-hand side lies in the range of A. Returns the number of dropped
 * pivots, or -1 when a pivot is below the threshold (not positive
 * (semi)definite); A is then garbage. */
long mot_hp_cholesky(mpfr_t *A, size_t n, double drop_tol);

/* Solves L L^T x = b with the factor from mot_hp_cholesky (zero diagonal
 * entries give zero coordinates). x (n) and b (n) may alias; x must be
 * initialized. Rounds to nearest at x's precision. */
void mot_hp_cholesky_solve(mpfr_t *x, const mpfr_t *L, const mpfr_t *b, size_t n);

#endif
