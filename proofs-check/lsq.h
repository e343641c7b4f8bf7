/* lsq.h: the least squares subtask of one expert in stage III, as the
 * high-precision replay sees it: with the n samples routed to the expert,
 * their attended tokens z_k, gate factors a_k and labels y_k = +-1,
 *
 *   H = (1/n) sum a_k^2 z_k z_k^T,  b = (1/n) sum a_k y_k z_k,  c = mean y_k^2
 *   loss(theta) = theta^T H theta / 2 - b^T theta + c / 2,  theta* = H^{-1} b,
 *
 * its sufficient statistics H and b in MPFR and in double, its minimizer
 * both ways, and the spectrum of the double H. The descent on it is
 * descent.c's; this file knows nothing about runs, routing or descents. */
#ifndef MOT_LSQ_H
#define MOT_LSQ_H

#include <stddef.h>

#include <mpfr.h>

/* H (d, d; full, symmetric) and b (d) in MPFR from the tokens Zm (n, d),
 * the gate factors am (n; NULL: all 1) and the labels y (n; only their sign
 * is read: +1 when > 0, else -1). az (d) is scratch. Rounds to nearest at the outputs'
 * precision. */
void mot_lsq_stats_mp(mpfr_t *H, mpfr_t *b, const mpfr_t *Zm, const mpfr_t *am, const double *y,
                      size_t n, size_t d, mpfr_t *az);

/* The same in double, from the tokens Zd (n, d), gate factors ad (n; NULL:
 * all 1) and labels y (n). */
void mot_lsq_stats_d(double *H, double *b, const double *Zd, const double *ad, const double *y,
                     size_t n, size_t d);

/* theta* (d) in MPFR from the MPFR Cholesky of H (d, d) at `bits` bits, its
 * factor left in Lf (d, d; scratch, distinct from H). A singular H is
 * factored again with the pivots within 2^(-bits/2) of 0 dropped, and
 * theta* is then one of its minimizers, which leaves every gap the same;
 * *rank receives d less the dropped pivots. Returns MOT_OK, or MOT_ENUMERIC
 * when H is not positive semidefinite at `bits` bits. */
int mot_lsq_solve_mp(mpfr_t *tstar, int *rank, mpfr_t *Lf, const mpfr_t *H, const mpfr_t *b,
                     size_t d, mpfr_prec_t bits);

/* The eigenvalues evals (d, ascending) of the double Hd (d, d) and the
 * double minimizer tstar (d) of Hd theta = bd (d): Cholesky when rank = d
 * and Hd is positive definite to double precision, else the pseudo-inverse
 * on the `rank` largest eigenvalues. Returns MOT_OK, MOT_ENOMEM, or
 * MOT_ENUMERIC when GSL's symmetric eigensolver fails. */
int mot_lsq_solve_d(double *evals, double *tstar, const double *Hd, const double *bd, size_t d,
                    int rank);

#endif
