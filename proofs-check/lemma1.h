/* lemma1.h: Lemma 1 of CHECKS.md (the attention-absent floor): the least
 * population loss of a linear expert on the mean-pooled token, computed
 * exactly in MPFR from the law of Definition 1 and the run's own signals,
 * its closed form for the orthogonal geometry, and the check against a
 * moe_noattn plateau and a MoT run. The high-precision helpers it solves
 * with (mot_hp_*) are in hp.h, included here. */
#ifndef MOT_LEMMA1_H
#define MOT_LEMMA1_H

#include <stddef.h>

#include <mpfr.h>

#include "check.h"
#include "config.h"
#include "hp.h"

/* The exact floor of CHECKS.md for cfg's law (N, L, alpha, beta, kappa,
 * gamma, sigma_p, class_weights) with the signals c, v (N, d) the data were
 * drawn with: floor_n = (1 - b_n^T S_n^{-1} b_n) / 2 with b_n = E[y zbar | n],
 * S_n = E[zbar zbar^T | n] (derived in lemma1.c), solved by Cholesky at
 * `prec` bits; floor = sum_n P(n) floor_n into floor_out (rounded to its own
 * precision). floor_n (N), when not NULL, receives each class's floor
 * rounded to double. With sigma_p = 0, S_n is singular and its null
 * directions (which b_n avoids) are dropped. Returns MOT_OK, MOT_ENOMEM, or
 * MOT_ENUMERIC when S_n is not positive (semi)definite. */
int mot_lemma1_floor(const mot_config *cfg, const double *c, const double *v,
                     mpfr_prec_t prec, mpfr_t floor_out, double *floor_n);

/* The closed form of the floor for geometry = orthogonal, into out (at out's
 * precision): s2 / (2 (alpha^2 + s2)) with s2 = n_noise sigma_p^2, where
 * n_noise = L - 3 noise tokens (CHECKS.md's formula) when the distractor is
 * another class's signal (gamma > 0 and N > 1), and L - 2 when the
 * distractor is itself a noise token (gamma = 0 or N = 1). Exact for every
 * alpha, beta, kappa, gamma and class_weights (see lemma1.c). NaN for the
 * other geometries, which have no closed form here. */
void mot_lemma1_closed_form(const mot_config *cfg, mpfr_t out);

/* Lemma 1 on a MoT run and a moe_noattn run of the same law; either may be
 * NULL (that part is then not checked, and the numbers say so; both NULL is
 * inconclusive). The floor comes from each run's signals_c.npy and
 * signals_v.npy at its `precision` bits. Parts, each when applicable:
 *  - orthogonal geometry: the closed form agrees with the exact floor of the
 *    ideal (exactly orthonormal) signals to 1e-30 relative, and with the
 *    floor of the stored signals to max(1e-30, 4 * their orthonormality
 *    defect max|<s_i, s_j> - delta_ij|), which must itself be at most
 *    MOT_LEMMA1_DEFECT_MAX: stored signals are rotated in double, so they
 *    are orthonormal only to rounding (the floor moves by about twice the
 *    defect, through the norms of the v_n);
 *  - moe_noattn: its plateau (mean test loss over the last 10% of the rows
 *    of metrics.csv) is >= floor - 3 SE, SE the combination of the spread of
 *    those rows (sd / sqrt(count)) and, when the run's arrays are there, the
 *    test-set sampling error of its final loss (sd of the per-sample test
 *    losses / sqrt(n_test));
 *  - MoT: its final test loss is < floor.
 * Returns MOT_OK with v filled, or an error (v freed) when a run's signals
 * or metrics cannot be read. */
/* Stored orthogonal signals must be orthonormal to this (double rounding). */
#define MOT_LEMMA1_DEFECT_MAX 1e-12

int mot_check_lemma1(const mot_runrec *mot_run, const mot_runrec *noattn_run, mot_verdict *v);

#endif
