/* replay.h: the high-precision replay of stage III (CHECKS.md, Theorem 1
 * section). Stage III freezes W; with the gate frozen at its state at T2,
 * each expert's stage III is gradient descent on a least squares problem
 * with fixed attended tokens. The replay recomputes those tokens in MPFR,
 * runs the descent at BITS bits from the sufficient statistics (never per
 * sample per epoch) and in double, and compares the measured contraction
 * with the one strong convexity predicts. It replays the idealized descent,
 * not the recorded run (whose routing keeps its exploration noise). One
 * expert's descent and its record (mot_replay_expert) are in descent.h,
 * included here. */
#ifndef MOT_REPLAY_H
#define MOT_REPLAY_H

#include <stddef.h>

#include <mpfr.h>

#include "check.h"
#include "descent.h"
#include "ratefit.h"

/* The largest relative difference allowed between the double and the MPFR
 * gap (compared above MOT_REPLAY_DOUBLE_FLOOR of its start, descent.h). */
#define MOT_REPLAY_DOUBLE_TOL 1e-9
/* The largest difference allowed between the MPFR and the library's double
 * attended tokens, relative to the largest token entry. */
#define MOT_REPLAY_Z_TOL 1e-12

/* The verdict from the experts' replays (nx of them; experts with a zero
 * starting gap are listed but not judged): fails when some
 * expert's tokens disagree with the library's, its contraction misses the
 * prediction by more than cfg->rho_tol, its double gap misses the MPFR gap
 * by more than 1e-9, or its T(eps) is not logarithmic; inconclusive when no
 * expert fails but some did not reach hp_eps within max_epochs (the reason
 * names mu_e and the epochs it would need); holds otherwise. Adds every
 * number to v (already initialized). */
void mot_hp_replay_verdict(const mot_replay_expert *x, size_t nx, const mot_config *cfg,
                           long max_epochs, mot_verdict *v);

/* The replay of a finished MoT run (or any gated run with loss = squared)
 * at `bits` bits with a cap of max_epochs (200000 is the CLI's) epochs per
 * expert. Reads the run's data set and W, theta, router at T2
 * (W_stage2.npy, theta_stage2.npy, router_stage2.npy). Logistic loss or an
 * ungated model give an inconclusive verdict saying why. Returns MOT_OK
 * with v filled, or an error (v freed) when the arrays cannot be read. */
int mot_check_hp_replay(const mot_runrec *r, unsigned bits, long max_epochs, mot_verdict *v);

#endif
