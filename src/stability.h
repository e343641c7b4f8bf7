/* stability.h: the largest learning rate of the experts' theta that gradient
 * descent tolerates on a data set at initialization. There W = 0, so every
 * expert attends uniformly (z = the mean of a sample's tokens), and w = 0, so
 * the gate sends every sample to every expert with equal probability: an
 * expert's subtask on class n has the Hessian l''(0) E_n[z z^T] (the mean
 * over the samples of class n, gate factor a = 1), and plain gradient
 * descent on it is stable only for eta < 2 / lambda_max. This module computes
 * that bound; it does not decide what to do about it (`mot run` warns). */
#ifndef MOT_STABILITY_H
#define MOT_STABILITY_H

#include "config.h"
#include "data.h"

/* The bound 2 / lambda_max over the classes n of D of the largest eigenvalue
 * of l''(0) H_n, H_n = mean over the samples of class n of z z^T, z the
 * uniformly attended token (1/L) sum_l x_l; l''(0) is 1 for the squared loss
 * (1/2)(y - F)^2 and 1/4 for the logistic loss. A class without samples
 * adds nothing; *bound is INFINITY when every H_n is zero. Costs about
 * d / L training epochs (one d x d matrix per class, then its eigenvalues).
 * Returns MOT_OK, MOT_ENOMEM or MOT_ENUMERIC (GSL's eigensolver failed),
 * with a message. */
int mot_stability_bound(const mot_data *D, mot_loss_kind loss, double *bound);

#endif
