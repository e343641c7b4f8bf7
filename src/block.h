/* block.h: one expert's transformer block (section 2) on one sample:
 * attention scores u_l = x_1^T W x_l, weights s = softmax(u), attended token
 * z = sum_l s_l x_l, output f = theta^T z; and its backward. The batched
 * forward over a data set lives in fwd.c and calls these per sample. */
#ifndef MOT_BLOCK_H
#define MOT_BLOCK_H

#include <stddef.h>

/* s = softmax(u), shifted by the maximum so scores of any finite size are
 * safe. s and u (n) may alias. */
void mot_block_softmax(double *s, const double *u, size_t n);

/* Attention given the query q = W^T x_1 (d): fills s (L) and z (d) from the
 * tokens X (L, d). With q == NULL the attention is uniform (s_l = 1/L), the
 * attention-absent expert. */
void mot_block_attend(double *restrict z, double *restrict s, const double *restrict X,
                      const double *restrict q, size_t L, size_t d);

/* The whole forward on one sample, a plain reference: q = W^T x_1 (W may be
 * NULL for uniform attention), then attend. Returns f = theta^T z.
 * `q` is scratch of d doubles. */
double mot_block_forward(double *z, double *s, double *q, const double *X,
                         const double *W, const double *theta, size_t L, size_t d);

/* Backward of `coef` * f on one sample, given the forward's s and z:
 *   dtheta += coef z
 *   dW     += coef x_1 r^T,  r = sum_l s_l (theta^T x_l - f) x_l
 * Either gradient pointer may be NULL to skip it. `r` is scratch (d). */
void mot_block_backward(double *dW, double *dtheta, double *r, double coef,
                        const double *s, const double *z, const double *X,
                        const double *theta, size_t L, size_t d);

#endif
