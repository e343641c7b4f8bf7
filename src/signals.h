/* signals.h: the class signals c_1..c_N and classification signals
 * v_1..v_N of Definition 1, in the three geometries (orthogonal, conflict,
 * correlated), optionally rotated by one Haar-random orthogonal matrix. */
#ifndef MOT_SIGNALS_H
#define MOT_SIGNALS_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "config.h"

/* Fills c (N, d) and v (N, d), one unit vector per row, as cfg->geometry
 * and cfg->rho say; with cfg->rotate, multiplies every signal by one Haar
 * orthogonal matrix drawn from r. Returns MOT_OK, MOT_EINVAL when d is too
 * small for the geometry, MOT_ENOMEM or MOT_ENUMERIC (QR failed). */
int mot_signals_make(double *c, double *v, const mot_config *cfg, gsl_rng *r);

/* Draws a Haar-distributed orthogonal d x d matrix into Q (d, d), row-major:
 * QR of a standard Gaussian matrix with the signs of R's diagonal moved into
 * Q (Mezzadri's construction). */
int mot_signals_haar(double *Q, size_t d, gsl_rng *r);

#endif
