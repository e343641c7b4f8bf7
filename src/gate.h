/* gate.h: the router of section 3: logits h_e = w_e^T r(X), probabilities
 * pi = softmax(h), top-1 choice with exploration noise, and the gradient of
 * the gate's training signal for `gate = compete` and `gate = switch`. */
#ifndef MOT_GATE_H
#define MOT_GATE_H

#include <stddef.h>

/* H (B, E) = R w^T for B router inputs R (rows of stride ldr) and router
 * weights w (E, d). */
void mot_gate_logits(double *H, const double *R, size_t ldr, const double *w,
                     size_t B, size_t E, size_t d);

/* P (B, E) = row-wise softmax of H (B, E); P may alias H. */
void mot_gate_probs(double *P, const double *H, size_t B, size_t E);

/* argmax_e (h_e + noise_e) over E experts, ties to the lowest index; noise
 * may be NULL (inference). */
size_t mot_gate_choose(const double *h, const double *noise, size_t E);

/* Entropy -sum pi log pi of one probability row (E). */
double mot_gate_entropy(const double *p, size_t E);

/* The coefficients c (E) with dsignal/dw_j = c_j r(X) for one sample.
 * compete: c_j = pi_j (l_j - sum_e pi_e l_e), l (E) every expert's loss;
 * switch:  c_j = g f_m pi_m ([j = m] - pi_j), g = l'(F), f_m the chosen
 * expert's output. */
void mot_gate_coef_compete(double *c, const double *p, const double *l, size_t E);
void mot_gate_coef_switch(double *c, const double *p, size_t m, double g, double f_m, size_t E);

/* dw (E, d) += scale C^T R for coefficient rows C (B, E) and router inputs
 * R (B, d, stride ldr). */
void mot_gate_backward(double *dw, const double *C, const double *R, size_t ldr,
                       double scale, size_t B, size_t E, size_t d);

#endif
