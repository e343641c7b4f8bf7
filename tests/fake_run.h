/* fake_run.h: constructed run directories for the checker tests. A fake
 * run is a config plus per-epoch tables that the test fills directly, then
 * writes as the recorder would (same file names and columns), so a checker
 * can be fed a run that must hold and one that must fail. */
#ifndef MOT_FAKE_RUN_H
#define MOT_FAKE_RUN_H

#include "config.h"

#define FAKE_MAX_EPOCHS 64
#define FAKE_MAX_E 8
#define FAKE_MAX_N 4

typedef struct {
    mot_config cfg;                                  /* N, M, L, T1, T2, T; log_every = 1 */
    double train_loss[FAKE_MAX_EPOCHS + 1], test_loss[FAKE_MAX_EPOCHS + 1];
    /* per epoch t, class n, expert e */
    double share[FAKE_MAX_EPOCHS + 1][FAKE_MAX_N][FAKE_MAX_E];   /* D[n][e] at inference */
    double traffic[FAKE_MAX_EPOCHS + 1][FAKE_MAX_N][FAKE_MAX_E]; /* q_e(n) */
    double attn_align[FAKE_MAX_EPOCHS + 1][FAKE_MAX_N][FAKE_MAX_E];
    double load[FAKE_MAX_EPOCHS + 1][FAKE_MAX_E];
    double label_attention[FAKE_MAX_EPOCHS + 1][FAKE_MAX_E];
    double train_count[FAKE_MAX_EPOCHS][FAKE_MAX_N][FAKE_MAX_E]; /* per training epoch */
} fake_run;

/* A consistent start: N classes, M experts, expert e serving class e % N
 * with equal split, label attention 1/L rising linearly to 0.45 over stage
 * II, W aligned 0.95, losses falling. */
void fake_run_init(fake_run *f, int N, int M, int L, int T1, int T2, int T);

/* Fills q_e(n) and the load from the shares (uniform class frequencies). */
void fake_run_derive(fake_run *f);

/* Writes config.json, summary.json and the CSV files into dir (created). */
void fake_run_write(const fake_run *f, const char *dir);

#endif
