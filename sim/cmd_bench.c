/* cmd_bench.c: `mot bench CONFIG`: the time per training epoch of each
 * stage of CONFIG, median of several repetitions after a warm-up, with the
 * machine, the build flags and the BLAS in use. Nothing is written. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "cli.h"
#include "rng.h"
#include "run.h"
#include "status.h"
#include "trainer.h"

static const char usage[] =
    "usage: mot bench CONFIG [--set key=value ...]\n\n"
    "Times training epochs of CONFIG in each stage (median of 7 runs of 20 epochs\n"
    "after a warm-up) and the whole schedule's estimated time, and prints the\n"
    "machine, the compiler flags and the BLAS.\n";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void cpu_name(char *buf, size_t len)
{
    snprintf(buf, len, "unknown CPU");
    FILE *fp = fopen("/proc/cpuinfo", "r");
    if (!fp)
        return;
    char line[512];
    while (fgets(line, sizeof line, fp))
        if (!strncmp(line, "model name", 10)) {
            char *p = strchr(line, ':');
            if (p) {
                p += 2;
                p[strcspn(p, "\n")] = '\0';
                snprintf(buf, len, "%s", p);
            }
            break;
        }
    fclose(fp);
}

/* Median seconds per epoch of `reps` timings of `len` epochs starting at t. */
static int time_epochs(mot_trainer *tr, int t, int len, int reps, double *median)
{
    double times[16];
    if (mot_trainer_epoch(tr, t)) /* warm-up */
        return MOT_EDIVERGED;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int i = 0; i < len; i++)
            if (mot_trainer_epoch(tr, t + i))
                return MOT_EDIVERGED;
        times[r] = (now() - t0) / len;
    }
    qsort(times, (size_t)reps, sizeof *times, cmp_double);
    *median = times[reps / 2];
    return MOT_OK;
}

int cmd_bench(int argc, char **argv)
{
    cli_options opt;
    mot_config cfg;
    int code = cli_parse(argc, argv, usage, "", &opt, &cfg);
    if (code)
        return code < 0 ? EXIT_OK : code;
    mot_dataset *ds = mot_dataset_make(&cfg);
    mot_model *m = ds ? mot_model_alloc(&cfg) : NULL;
    gsl_rng *r = mot_rng_alloc(cfg.seed, "init");
    mot_trainer *tr = m ? mot_trainer_alloc(&cfg, m, ds->train) : NULL;
    int status = tr && r ? MOT_OK : MOT_ERROR(MOT_ENOMEM, "cannot allocate the benchmark");
    char cpu[256];
    struct utsname un;
    cpu_name(cpu, sizeof cpu);
    uname(&un);
    printf("machine: %s, %s %s\nbuild: CFLAGS=\"%s\", BLAS=%s, 1 thread\n", cpu, un.sysname,
           un.machine, mot_build_cflags(), mot_build_blas());
    printf("config: %s (model %s, N=%d, M=%d, d=%d, L=%d, n_train=%d)\n", opt.config_path,
           mot_config_enum_name("model", cfg.model), cfg.N, cfg.M, cfg.d, cfg.L, cfg.n_train);
    double per_stage[3] = {0, 0, 0};
    int starts[3] = {0, cfg.T1, cfg.T2}, lens[3] = {cfg.T1, cfg.T2 - cfg.T1, cfg.T - cfg.T2};
    if (status == MOT_OK)
        mot_model_init(m, cfg.sigma0, r);
    for (int s = 0; s < 3 && status == MOT_OK; s++) {
        if (lens[s] <= 0)
            continue;
        int len = lens[s] < 21 ? lens[s] - 1 : 20; /* stay inside the stage */
        status = time_epochs(tr, starts[s], len > 0 ? len : 1, 7, &per_stage[s]);
        printf("stage %d: %8.3f ms/epoch\n", s + 1, 1e3 * per_stage[s]);
    }
    if (status == MOT_OK) {
        double total = 0;
        for (int s = 0; s < 3; s++)
            total += per_stage[s] * (lens[s] > 0 ? lens[s] : 0);
        printf("schedule: %d epochs, %.3f ms/epoch on average, %.2f s estimated training time\n",
               cfg.T, 1e3 * total / cfg.T, total);
    }
    mot_trainer_free(tr);
    mot_model_free(m);
    mot_dataset_free(ds);
    gsl_rng_free(r);
    return status ? cli_fail(status) : EXIT_OK;
}
