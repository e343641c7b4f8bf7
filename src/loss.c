/* loss.c: see loss.h. */
#include "loss.h"

#include <math.h>

double mot_loss_value(mot_loss_kind kind, double y, double F)
{
    if (kind == MOT_LOSS_SQUARED)
        return 0.5 * (y - F) * (y - F);
    double m = y * F; /* log(1 + e^-m), never exponentiating a large positive number */
    return m > 0 ? log1p(exp(-m)) : -m + log1p(exp(m));
}

double mot_loss_grad(mot_loss_kind kind, double y, double F)
{
    if (kind == MOT_LOSS_SQUARED)
        return F - y;
    double m = y * F;
    if (m > 0) {
        double e = exp(-m);
        return -y * e / (1.0 + e);
    }
    return -y / (1.0 + exp(m));
}
