/* loss.h: the per-sample losses of section 4 and their derivatives in the
 * output F, both computed without overflow for any finite F. */
#ifndef MOT_LOSS_H
#define MOT_LOSS_H

#include "config.h"

/* l(y, F): (y - F)^2 / 2, or log(1 + exp(-y F)). */
double mot_loss_value(mot_loss_kind kind, double y, double F);

/* l'(F) = dl/dF: F - y, or -y / (1 + exp(y F)). */
double mot_loss_grad(mot_loss_kind kind, double y, double F);

#endif
