/* data.h: a data set of the N-mixture of classification (Definition 1) and
 * its generator. Tokens are stored sample by sample, token by token: token
 * l (0-based; docs/model.md's x_{l+1}) of sample k is the d-vector at
 * X + (k L + l) d. So X has shape (n, L, d) in C order, the transpose of
 * the d x L matrices, which is what numpy users expect. */
#ifndef MOT_DATA_H
#define MOT_DATA_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "config.h"

typedef struct {
    size_t n, L, d, N;
    double *X;   /* (n, L, d) tokens */
    int *y;      /* (n) labels, -1 or +1 */
    int *cls;    /* (n) classes, 0..N-1 */
} mot_data;

/* The token roles, as indices into a sample's L tokens. */
enum { MOT_TOK_CLASS = 0, MOT_TOK_LABEL = 1, MOT_TOK_DISTRACTOR = 2, MOT_TOK_NOISE = 3 };

/* Allocates an empty data set of n samples (contents uninitialized). NULL
 * on ENOMEM (nothing leaked). */
mot_data *mot_data_alloc(size_t n, size_t L, size_t d, size_t N);
void mot_data_free(mot_data *D);

/* Draws every sample of D from the law of Definition 1 with the signals
 * c, v (N, d) and the knobs of cfg (alpha, beta, kappa, gamma, sigma_p,
 * class_weights), consuming r. Returns MOT_OK or MOT_ENOMEM. */
int mot_data_generate(mot_data *D, const double *c, const double *v,
                      const mot_config *cfg, gsl_rng *r);

/* Checks that a data set read from files is usable: labels are +-1, classes
 * in 0..N-1, tokens finite. MOT_OK or MOT_EINVAL naming `what` and the index. */
int mot_data_validate(const mot_data *D, const char *what);

#endif
