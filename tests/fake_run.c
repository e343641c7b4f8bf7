/* fake_run.c: see fake_run.h. */
#include "fake_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "io.h"
#include "model.h"

void fake_run_init(fake_run *f, int N, int M, int L, int T1, int T2, int T)
{
    memset(f, 0, sizeof *f);
    mot_config_defaults(&f->cfg);
    f->cfg.N = N, f->cfg.M = M, f->cfg.L = L, f->cfg.T1 = T1, f->cfg.T2 = T2, f->cfg.T = T;
    f->cfg.d = 2 * N + 2, f->cfg.n_train = 1000, f->cfg.n_test = 1000;
    for (int t = 0; t <= T; t++) {
        f->train_loss[t] = f->test_loss[t] = 0.5 / (1 + t);
        for (int n = 0; n < N; n++) {
            int k = 0;
            for (int e = 0; e < M; e++)
                k += e % N == n;
            for (int e = 0; e < M; e++) {
                f->share[t][n][e] = e % N == n ? 1.0 / k : 0;
                f->attn_align[t][n][e] = e % N == n ? 0.95 : 0;
            }
        }
        for (int e = 0; e < M; e++) {
            double frac = t <= T1 ? 0 : t >= T2 ? 1 : (double)(t - T1) / (T2 - T1);
            f->label_attention[t][e] = 1.0 / L + frac * (0.45 - 1.0 / L);
        }
    }
    for (int t = 0; t < T; t++)
        for (int n = 0; n < N; n++)
            for (int e = 0; e < M; e++)
                f->train_count[t][n][e] = round(f->share[t][n][e] * 1000.0 / N);
    fake_run_derive(f);
}

void fake_run_derive(fake_run *f)
{
    int N = f->cfg.N, M = f->cfg.M;
    for (int t = 0; t <= f->cfg.T; t++)
        for (int e = 0; e < M; e++) {
            double total = 0;
            for (int n = 0; n < N; n++)
                total += f->share[t][n][e] / N;
            f->load[t][e] = total;
            for (int n = 0; n < N; n++)
                f->traffic[t][n][e] = total > 0 ? f->share[t][n][e] / N / total : NAN;
        }
}

static FILE *open_csv(const char *dir, const char *name, const char *header)
{
    char *path = mot_io_join(dir, name);
    FILE *fp = fopen(path, "w");
    free(path);
    CU_ASSERT_FATAL(fp != NULL);
    fprintf(fp, "%s\n", header);
    return fp;
}

void fake_run_write(const fake_run *f, const char *dir)
{
    CU_ASSERT_FATAL(mot_io_mkdir_p(dir) == 0);
    json_t *j = mot_config_to_json(&f->cfg);
    char *path = mot_io_join(dir, "config.json");
    CU_ASSERT_FATAL(j && mot_io_write_json(path, j) == 0);
    free(path);
    json_decref(j);
    path = mot_io_join(dir, "summary.json");
    j = json_object();
    CU_ASSERT_FATAL(mot_io_write_json(path, j) == 0);
    free(path);
    json_decref(j);
    int N = f->cfg.N, M = f->cfg.M, T = f->cfg.T;
    FILE *m = open_csv(dir, "metrics.csv", "epoch,stage,train_loss,train_error,test_loss,test_error");
    FILE *d = open_csv(dir, "dispatch.csv", "epoch,class,expert,share");
    FILE *a = open_csv(dir, "alignment.csv", "epoch,class,expert,ffn_align,traffic,attn_align");
    FILE *x = open_csv(dir, "experts.csv", "epoch,expert,load,theta_norm,W_norm,router_norm");
    FILE *at = open_csv(dir, "attention.csv", "epoch,expert,routed,class_token,label,distractor,noise");
    FILE *td = open_csv(dir, "train_dispatch.csv", "epoch,class,expert,count");
    for (int t = 0; t <= T; t++) {
        fprintf(m, "%d,%d,%.17g,0,%.17g,0\n", t, mot_stage_of(&f->cfg, t), f->train_loss[t], f->test_loss[t]);
        for (int n = 0; n < N; n++)
            for (int e = 0; e < M; e++) {
                fprintf(d, "%d,%d,%d,%.17g\n", t, n, e, f->share[t][n][e]);
                fprintf(a, "%d,%d,%d,%.17g,%.17g,%.17g\n", t, n, e, e % N == n ? 0.9 : 0.1,
                        f->traffic[t][n][e], f->attn_align[t][n][e]);
            }
        for (int e = 0; e < M; e++) {
            fprintf(x, "%d,%d,%.17g,1,1,1\n", t, e, f->load[t][e]);
            double lab = f->label_attention[t][e], rest = 1 - lab;
            fprintf(at, "%d,%d,%d,%.17g,%.17g,%.17g,%.17g\n", t, e, (int)(f->load[t][e] * 1000),
                    rest / 2, lab, rest / 4, rest / 4);
        }
        if (t < T)
            for (int n = 0; n < N; n++)
                for (int e = 0; e < M; e++)
                    fprintf(td, "%d,%d,%d,%.0f\n", t, n, e, f->train_count[t][n][e]);
    }
    fclose(m), fclose(d), fclose(a), fclose(x), fclose(at), fclose(td);
}
