/* gate.c: see gate.h. */
#include "gate.h"

#include <math.h>

#include <gsl/gsl_cblas.h>

#include "block.h"

void mot_gate_logits(double *H, const double *R, size_t ldr, const double *w,
                     size_t B, size_t E, size_t d)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)E, (int)d, 1.0,
                R, (int)ldr, w, (int)d, 0.0, H, (int)E);
}

void mot_gate_probs(double *P, const double *H, size_t B, size_t E)
{
    for (size_t k = 0; k < B; k++)
        mot_block_softmax(P + k * E, H + k * E, E);
}

size_t mot_gate_choose(const double *h, const double *noise, size_t E)
{
    size_t best = 0;
    double top = h[0] + (noise ? noise[0] : 0.0);
    for (size_t e = 1; e < E; e++) {
        double v = h[e] + (noise ? noise[e] : 0.0);
        if (v > top) {
            top = v;
            best = e;
        }
    }
    return best;
}

double mot_gate_entropy(const double *p, size_t E)
{
    double H = 0;
    for (size_t e = 0; e < E; e++)
        if (p[e] > 0)
            H -= p[e] * log(p[e]);
    return H;
}

void mot_gate_coef_compete(double *c, const double *p, const double *l, size_t E)
{
    double mean = 0;
    for (size_t e = 0; e < E; e++)
        mean += p[e] * l[e];
    for (size_t j = 0; j < E; j++)
        c[j] = p[j] * (l[j] - mean);
}

void mot_gate_coef_switch(double *c, const double *p, size_t m, double g, double f_m, size_t E)
{
    double base = g * f_m * p[m];
    for (size_t j = 0; j < E; j++)
        c[j] = base * ((j == m ? 1.0 : 0.0) - p[j]);
}

void mot_gate_backward(double *dw, const double *C, const double *R, size_t ldr,
                       double scale, size_t B, size_t E, size_t d)
{
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)E, (int)d, (int)B, scale,
                C, (int)E, R, (int)ldr, 1.0, dw, (int)d);
}
