/* block.c: see block.h. Small per-sample kernels: vectors of length d and L
 * through CBLAS level 1/2. */
#include "block.h"

#include <math.h>

#include <gsl/gsl_cblas.h>

#include "clones.h"

void mot_block_softmax(double *s, const double *u, size_t n)
{
    double max = u[0];
    for (size_t i = 1; i < n; i++)
        if (u[i] > max)
            max = u[i];
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        s[i] = exp(u[i] - max);
        sum += s[i];
    }
    for (size_t i = 0; i < n; i++)
        s[i] /= sum;
}

MOT_CLONES void mot_block_attend(double *restrict z, double *restrict s, const double *restrict X,
                      const double *restrict q, size_t L, size_t d)
{
    if (q) {
        /* u = X q (four running sums a token: a call would cost more than
         * the work here), then softmax in place */
        for (size_t l = 0; l < L; l++) {
            const double *x = X + l * d;
            double a[4] = {0, 0, 0, 0};
            size_t j = 0;
            for (; j + 4 <= d; j += 4)
                for (size_t r = 0; r < 4; r++)
                    a[r] += x[j + r] * q[j + r];
            for (; j < d; j++)
                a[0] += x[j] * q[j];
            s[l] = (a[0] + a[1]) + (a[2] + a[3]);
        }
        mot_block_softmax(s, s, L);
    } else {
        for (size_t l = 0; l < L; l++)
            s[l] = 1.0 / (double)L;
    }
    /* z = X^T s, as a loop the compiler vectorizes (cheaper than a call here) */
    for (size_t j = 0; j < d; j++)
        z[j] = 0;
    for (size_t l = 0; l < L; l++)
#pragma omp simd
        for (size_t j = 0; j < d; j++)
            z[j] += s[l] * X[l * d + j];
}

double mot_block_forward(double *z, double *s, double *q, const double *X,
                         const double *W, const double *theta, size_t L, size_t d)
{
    if (W) /* q = W^T x_1 */
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)d, (int)d, 1.0, W, (int)d, X, 1, 0.0, q, 1);
    mot_block_attend(z, s, X, W ? q : NULL, L, d);
    return cblas_ddot((int)d, theta, 1, z, 1);
}

void mot_block_backward(double *dW, double *dtheta, double *r, double coef,
                        const double *s, const double *z, const double *X,
                        const double *theta, size_t L, size_t d)
{
    if (dtheta)
        cblas_daxpy((int)d, coef, z, 1, dtheta, 1);
    if (!dW)
        return;
    double f = cblas_ddot((int)d, theta, 1, z, 1);
    for (size_t j = 0; j < d; j++)
        r[j] = 0;
    for (size_t l = 0; l < L; l++) {
        const double *x = X + l * d;
        double w = s[l] * (cblas_ddot((int)d, theta, 1, x, 1) - f);
        cblas_daxpy((int)d, w, x, 1, r, 1);
    }
    cblas_dger(CblasRowMajor, (int)d, (int)d, coef, X, 1, r, 1, dW, (int)d);
}
