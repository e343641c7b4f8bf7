/* cmd_bench.c: `mot bench CONFIG [--threads N] [--out FILE]`: the time per
 * training epoch of each stage of CONFIG for each model kind (mot, single,
 * moe_noattn, moe_ffn on the same data), median of several repetitions
 * after a warm-up, with the machine, the build flags, the BLAS and the
 * thread count; the floating-point work of an epoch (as the trainer counts
 * it from the sizes, batch.c) and the rate achieved, beside the rate of one
 * large cblas_dgemm measured in the same run; and the peak resident memory.
 * With --out, the table is also written as tab-separated values (what
 * bench/run.sh reads to compare with PyTorch). Nothing else is written. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>

#include <gsl/gsl_cblas.h>

#include "cli.h"
#include "mot_autoconf.h"
#include "rng.h"
#include "run.h"
#include "status.h"
#include "store.h"
#include "trainer.h"

#ifdef HAVE_OPENBLAS
void openblas_set_num_threads(int n);
char *openblas_get_corename(void);
#endif

static const char usage[] =
    "usage: mot bench CONFIG [--threads N] [--out FILE] [--set key=value ...]\n\n"
    "Times training epochs of CONFIG in each stage for each model kind (mot, single,\n"
    "moe_noattn, moe_ffn, whatever CONFIG's model is) on one data set: the median\n"
    "over 5 repetitions after a warm-up epoch, each\n"
    "repetition as many epochs as make about 0.2 s. Prints the machine, the\n"
    "compiler flags, the BLAS and the thread count; for each model and stage the\n"
    "wall time and the CPU time per epoch (all threads), the floating-point work\n"
    "per epoch and its rate, and that rate as a share of one 2000 x 2000\n"
    "cblas_dgemm measured in the same run with the same threads; the schedule's\n"
    "average; and the peak resident memory of the process.\n\n"
    "  --threads N  train with N OpenMP threads (default 1)\n"
    "  --out FILE   also write the table as tab-separated values\n";

static double now(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
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

/* GFLOP/s of C = A B for n x n matrices with `threads` BLAS threads: the
 * best of 3 (the machine's limit, not a typical value). 0 on ENOMEM. */
static double dgemm_rate(int n, int threads)
{
    size_t nn = (size_t)n * (size_t)n;
    double *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
    double best = 0;
    if (a && b && c) {
        for (size_t i = 0; i < nn; i++)
            a[i] = (double)(i % 7) - 3.0, b[i] = 0.5 * (double)(i % 5), c[i] = 0;
#ifdef HAVE_OPENBLAS
        openblas_set_num_threads(threads);
#endif
        for (int r = 0; r < 3; r++) {
            double t0 = now(CLOCK_MONOTONIC);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n,
                        0.0, c, n);
            double rate = 2.0 * (double)nn * n / (now(CLOCK_MONOTONIC) - t0) / 1e9;
            best = rate > best ? rate : best;
        }
#ifdef HAVE_OPENBLAS
        openblas_set_num_threads(1);
#endif
    }
    free(a), free(b), free(c);
    return best;
}

typedef struct {
    double wall, cpu, flops; /* per epoch: median wall and CPU seconds, operations */
} timing;

/* Times epochs of the stage that starts at t (all with epoch index t, so
 * that the groups are that stage's): a warm-up epoch, then 5 repetitions
 * of `len` epochs, len chosen from the warm-up to last about 0.2 s. */
static int time_stage(mot_trainer *tr, int t, timing *out)
{
    enum { REPS = 5 };
    double wall[REPS], cpu[REPS];
    double t0 = now(CLOCK_MONOTONIC);
    if (mot_trainer_epoch(tr, t))
        return MOT_EDIVERGED;
    double warm = now(CLOCK_MONOTONIC) - t0;
    int len = warm > 0 ? (int)(0.2 / warm) : 20;
    len = len < 1 ? 1 : len > 50 ? 50 : len;
    tr->b->flops = 0;
    for (int r = 0; r < REPS; r++) {
        double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        for (int i = 0; i < len; i++)
            if (mot_trainer_epoch(tr, t))
                return MOT_EDIVERGED;
        wall[r] = (now(CLOCK_MONOTONIC) - w0) / len;
        cpu[r] = (now(CLOCK_PROCESS_CPUTIME_ID) - c0) / len;
    }
    out->flops = tr->b->flops / (REPS * len);
    qsort(wall, REPS, sizeof *wall, cmp_double);
    qsort(cpu, REPS, sizeof *cpu, cmp_double);
    out->wall = wall[REPS / 2], out->cpu = cpu[REPS / 2];
    return MOT_OK;
}

static const mot_model_kind kinds[4] = {MOT_MODEL_MOT, MOT_MODEL_SINGLE, MOT_MODEL_MOE_NOATTN,
                                        MOT_MODEL_MOE_FFN};

/* Times every stage of model `kind` on ds; rows go to stdout and tsv. */
static int bench_kind(const mot_config *base, mot_model_kind kind, const mot_dataset *ds,
                      int threads, double peak, FILE *tsv)
{
    mot_config cfg = *base;
    cfg.model = kind;
    mot_model *m = mot_model_alloc(&cfg);
    mot_trainer *tr = m ? mot_trainer_alloc(&cfg, m, ds->train) : NULL;
    gsl_rng *r = mot_rng_alloc(cfg.seed, "init");
    int status = tr && r && mot_trainer_set_threads(tr, threads) == MOT_OK
                     ? MOT_OK : MOT_ERROR(MOT_ENOMEM, "cannot allocate the benchmark");
    const char *name = mot_config_enum_name("model", kind);
    int starts[3] = {0, cfg.T1, cfg.T2}, lens[3] = {cfg.T1, cfg.T2 - cfg.T1, cfg.T - cfg.T2};
    double total = 0;
    if (status == MOT_OK)
        mot_model_init(m, cfg.sigma0, r);
    for (int s = 0; s < 3 && status == MOT_OK; s++) {
        if (lens[s] <= 0)
            continue;
        timing tm;
        if ((status = time_stage(tr, starts[s], &tm)))
            break;
        double rate = tm.flops / tm.wall / 1e9;
        printf("%-10s  %-5s  %9.3f  %9.3f  %10.2f  %8.2f  %5.1f%%\n", name, s == 0 ? "I" : s == 1 ? "II" : "III",
               1e3 * tm.wall, 1e3 * tm.cpu, tm.flops / 1e6, rate, peak > 0 ? 100 * rate / peak : 0.0);
        if (tsv)
            fprintf(tsv, "%s\t%d\t%.6f\t%.6f\t%.0f\t%.4f\t%d\n", name, s + 1, 1e3 * tm.wall,
                    1e3 * tm.cpu, tm.flops, rate, lens[s]);
        total += tm.wall * lens[s];
    }
    if (status == MOT_OK)
        printf("%-10s  all    %9.3f  (the schedule's %d epochs: %.2f s)\n", name, 1e3 * total / cfg.T,
               cfg.T, total);
    mot_trainer_free(tr);
    mot_model_free(m);
    gsl_rng_free(r);
    return status;
}

int cmd_bench(int argc, char **argv)
{
    cli_options opt;
    mot_config cfg;
    int code = cli_parse(argc, argv, usage, "--threads", &opt, &cfg);
    if (code)
        return code < 0 ? EXIT_OK : code;
    FILE *tsv = NULL;
    if (opt.out_dir && !(tsv = fopen(opt.out_dir, "w"))) {
        cli_error("cannot write %s", opt.out_dir);
        return EXIT_FAIL;
    }
    char cpu[256], core[64] = "";
    struct utsname un;
    cpu_name(cpu, sizeof cpu);
    uname(&un);
#ifdef HAVE_OPENBLAS
    snprintf(core, sizeof core, " (kernels for %s)", openblas_get_corename());
#endif
    /* first, before the data set exists, so that its buffers do not add to
     * the peak memory */
    double peak = dgemm_rate(2000, opt.threads);
    printf("machine: %s, %s %s\n", cpu, un.sysname, un.machine);
    printf("build: CFLAGS=\"%s\", OpenMP: %s, BLAS=%s%s\n", mot_build_cflags(),
           *MOT_OPENMP_CFLAGS ? MOT_OPENMP_CFLAGS : "no (serial epochs)", mot_build_blas(), core);
    printf("threads: %d (the epoch's; BLAS calls single-threaded inside it)\n", opt.threads);
    printf("config: %s (N=%d, M=%d, heads=%d, d=%d, L=%d, n_train=%d, batch=%d)\n",
           opt.config_path, cfg.N, cfg.M, cfg.heads, cfg.d, cfg.L, cfg.n_train, cfg.batch);
    printf("cblas_dgemm 2000 x 2000, %d thread(s): %.2f GFLOP/s (best of 3)\n\n", opt.threads, peak);
    printf("%-10s  %-5s  %9s  %9s  %10s  %8s  %6s\n", "model", "stage", "ms/epoch", "cpu ms",
           "MFLOP", "GFLOP/s", "%dgemm");
    if (tsv)
        fprintf(tsv, "# dgemm_gflops\t%.4f\tthreads\t%d\n", peak, opt.threads);
    mot_dataset *ds = mot_dataset_make(&cfg);
    int status = ds ? MOT_OK : MOT_EINVAL;
    for (int i = 0; i < 4 && status == MOT_OK; i++)
        status = bench_kind(&cfg, kinds[i], ds, opt.threads, peak, tsv);
    mot_dataset_free(ds);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (status == MOT_OK) {
        printf("\nwall: median per epoch; cpu: CPU time of all threads per epoch; MFLOP: additions\n"
               "and multiplications of one epoch, counted from the sizes (exp not counted);\n"
               "the machine is shared, so timings are noisy: compare medians of several runs.\n");
        printf("peak resident memory: %.1f MiB\n", (double)ru.ru_maxrss / 1024.0);
        if (tsv)
            fprintf(tsv, "# peak_rss_kib\t%ld\n", ru.ru_maxrss);
    }
    if (tsv && fclose(tsv) && status == MOT_OK)
        status = MOT_ERROR(MOT_EIO, "cannot write %s", opt.out_dir);
    return status ? cli_fail(status) : EXIT_OK;
}
