/* sweep_exec.c: see sweep_exec.h. Everything here reads and writes the
 * sweep directory only, so that a point's outcome and its row of sweep.csv
 * are the same whichever process ran it, and whether the sweep ran in one
 * go or was killed and resumed. Scheduling itself is elsewhere. */
#define _XOPEN_SOURCE 700
#include "sweep_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "io.h"
#include "run.h"
#include "scaling.h"
#include "status.h"

#define PATH_SIZE 4096

void sweep_point_dir(const sweep_ctx *c, size_t point, char *buf, size_t size)
{
    char name[MOT_SWEEP_MAX_NAME + 1];
    mot_sweep_point_name(c->sweep, point, name, sizeof name);
    snprintf(buf, size, "%s/runs/%s", c->out, name);
}

static int exists_in(const char *dir, const char *file)
{
    char path[PATH_SIZE + 64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return access(path, F_OK) == 0;
}

static json_t *load_in(const char *dir, const char *file)
{
    char path[PATH_SIZE + 64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return json_load_file(path, 0, NULL);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path) != 0 && errno != ENOENT;
}

/* rm -rf dir (a run directory: files, no links to follow). */
static int remove_tree(const char *dir)
{
    if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        return MOT_ERROR(MOT_EIO, "cannot remove the unfinished run %s: %s", dir, strerror(errno));
    return MOT_OK;
}

/* Removes dir/.<name>.tmp.<pid> files (left by a sweep killed while writing
 * a file): all of them with any_writer, else those whose writer is gone. */
static void remove_stale_temporaries(const char *dir, int any_writer)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *tmp = strstr(e->d_name, ".tmp.");
        char *end;
        if (e->d_name[0] != '.' || !tmp)
            continue;
        long pid = strtol(tmp + 5, &end, 10);
        if (*end == '\0' && pid > 0 && (any_writer || (kill((pid_t)pid, 0) != 0 && errno == ESRCH))) {
            char path[PATH_SIZE];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    if (d)
        closedir(d);
}

/* Whether the run in dir was run with cfg; else why not, naming a key. */
static int same_config(const char *dir, const mot_config *cfg, char *why, size_t size)
{
    json_t *want = mot_config_to_json(cfg), *have = load_in(dir, "config.json");
    int same = want && have;
    if (!same)
        snprintf(why, size, "its config.json cannot be read");
    const char *sec, *key;
    json_t *sv, *v;
    json_object_foreach(same ? want : NULL, sec, sv) {
        json_object_foreach(sv, key, v) {
            json_t *h = json_object_get(json_object_get(have, sec), key);
            if (!h || !json_equal(h, v)) {
                char *a = h ? json_dumps(h, JSON_ENCODE_ANY) : NULL, *b = json_dumps(v, JSON_ENCODE_ANY);
                snprintf(why, size, "%s = %s there, %s in this sweep", key, a ? a : "(none)", b ? b : "?");
                free(a), free(b);
                same = 0;
                break;
            }
        }
        if (!same)
            break;
    }
    json_decref(want), json_decref(have);
    return same;
}

int sweep_prepare(const sweep_ctx *c, size_t **pending, size_t *n_pending, size_t *skipped)
{
    char runs[PATH_SIZE], dir[PATH_SIZE], why[512];
    snprintf(runs, sizeof runs, "%s/runs", c->out);
    *n_pending = *skipped = 0;
    *pending = NULL;
    if (mot_io_mkdir_p(runs))
        return cli_fail(MOT_EIO);
    remove_stale_temporaries(c->out, 0);
    *pending = malloc((c->sweep->n_points / (size_t)c->shard_k + 1) * sizeof **pending);
    if (!*pending)
        return cli_fail(MOT_ERROR(MOT_ENOMEM, "out of memory"));
    for (size_t p = (size_t)c->shard_i; p < c->sweep->n_points; p += (size_t)c->shard_k) {
        sweep_point_dir(c, p, dir, sizeof dir);
        if (!exists_in(dir, "summary.json")) {
            (*pending)[(*n_pending)++] = p;
            continue;
        }
        /* A finished run's only late file is sweep_point.json, a cache that
         * is rewritten when missing: a temporary is garbage even if its
         * writer (a killed worker, maybe still a zombie) seems alive. */
        remove_stale_temporaries(dir, 1);
        mot_config cfg;
        mot_sweep_point_config(c->sweep, &c->base, p, &cfg);   /* validated by the caller */
        if (!same_config(dir, &cfg, why, sizeof why)) {
            cli_error("%s holds a finished run of another config (%s): use another --out, or remove it", dir,
                      why);
            free(*pending);
            *pending = NULL;
            return EXIT_USAGE;
        }
        (*skipped)++;
    }
    return EXIT_OK;
}

/* ---- one point ---------------------------------------------------------- */

static int write_record(const char *dir, json_t *rec)
{
    char path[PATH_SIZE + 64];
    snprintf(path, sizeof path, "%s/sweep_point.json", dir);
    int status = rec ? mot_io_write_json(path, rec) : MOT_ERROR(MOT_ENOMEM, "out of memory");
    json_decref(rec);
    return status;
}

static json_t *measure_record(const mot_sweep_measure *m)
{
    return json_pack("{s:o, s:o, s:o}",
                     "T_spec", m->T_spec >= -1 ? json_integer(m->T_spec) : json_null(),
                     "coverage_T1", m->coverage_T1 >= 0 ? json_boolean(m->coverage_T1) : json_null(),
                     "prop1", m->prop1 >= 0 ? json_string(mot_verdict_name((mot_verdict_kind)m->prop1))
                                            : json_null());
}

/* Measures the finished run in dir and records it; the record is a cache
 * of what the directory says, so a failure to write it only costs time. */
static json_t *measure(const char *dir)
{
    mot_sweep_measure m;
    if (mot_sweep_measure_run(dir, &m) != MOT_OK)
        m.T_spec = -2, m.coverage_T1 = -1, m.prop1 = -1;
    json_t *rec = measure_record(&m);
    write_record(dir, json_incref(rec));
    return rec;
}

static void record_failure(const char *dir, const char *why)
{
    if (mot_io_mkdir_p(dir) == MOT_OK)
        write_record(dir, json_pack("{s:s, s:s}", "status", "failed", "error", why));
}

/* Locks DIR/runs/.<name>.lock for writing, waiting while another process
 * holds it: the worker of an earlier execution that was killed may still be
 * dying (SIGKILL is not instantaneous for a whole process group) and must
 * not write into the directory this worker clears and fills. The lock goes
 * when its process does, however it ends. Returns the descriptor to close
 * when done, or -1 when the lock cannot be had (then the point runs
 * without it). */
static int lock_point(const sweep_ctx *c, size_t point)
{
    char name[MOT_SWEEP_MAX_NAME + 1], path[PATH_SIZE + MOT_SWEEP_MAX_NAME + 16];
    mot_sweep_point_name(c->sweep, point, name, sizeof name);
    snprintf(path, sizeof path, "%s/runs/.%s.lock", c->out, name);
    int fd = open(path, O_RDWR | O_CREAT, 0666);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    while (fd >= 0 && fcntl(fd, F_SETLKW, &fl) != 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

int sweep_run_point(const sweep_ctx *c, size_t point)
{
    char dir[PATH_SIZE];
    sweep_point_dir(c, point, dir, sizeof dir);
    int lock = lock_point(c, point);
    if (exists_in(dir, "summary.json")) {   /* finished by the time the lock came */
        if (lock >= 0)
            close(lock);
        return sweep_point_outcome(c, point);
    }
    mot_config cfg;
    mot_run_result res;
    int status = mot_sweep_point_config(c->sweep, &c->base, point, &cfg);
    if (status == MOT_OK && access(dir, F_OK) == 0)
        status = remove_tree(dir);
    if (status == MOT_OK) {
        mot_run_options ro = {.out_dir = dir};
        status = mot_run(&cfg, &ro, &res);
    }
    int outcome = status == MOT_OK ? POINT_DONE : status == MOT_EDIVERGED ? POINT_DIVERGED : POINT_FAILED;
    if (outcome != POINT_FAILED)
        json_decref(measure(dir));
    else
        record_failure(dir, mot_status_message()[0] ? mot_status_message() : "unknown failure");
    if (lock >= 0)
        close(lock);
    return outcome;
}

int sweep_point_outcome(const sweep_ctx *c, size_t point)
{
    char dir[PATH_SIZE];
    sweep_point_dir(c, point, dir, sizeof dir);
    json_t *summary = load_in(dir, "summary.json");
    const char *st = json_string_value(json_object_get(summary, "status"));
    int outcome = !st ? POINT_FAILED : !strcmp(st, "diverged") ? POINT_DIVERGED : POINT_DONE;
    json_decref(summary);
    return outcome;
}

void sweep_record_failure(const sweep_ctx *c, size_t point, const char *why)
{
    char dir[PATH_SIZE];
    sweep_point_dir(c, point, dir, sizeof dir);
    if (!exists_in(dir, "summary.json") && !exists_in(dir, "sweep_point.json"))
        record_failure(dir, why);
}

void sweep_failure_reason(const sweep_ctx *c, size_t point, char *buf, size_t size)
{
    char dir[PATH_SIZE];
    sweep_point_dir(c, point, dir, sizeof dir);
    json_t *rec = load_in(dir, "sweep_point.json");
    const char *e = json_string_value(json_object_get(rec, "error"));
    snprintf(buf, size, "%s", e ? e : "");
    json_decref(rec);
}

/* ---- sweep.csv ---------------------------------------------------------- */

/* The shortest of %.15g and %.17g that reads back as x. */
static void real_text(double x, char *buf, size_t size)
{
    snprintf(buf, size, "%.15g", x);
    if (strtod(buf, NULL) != x)
        snprintf(buf, size, "%.17g", x);
}

static void json_real_text(const json_t *v, char *buf, size_t size)
{
    if (json_is_number(v))
        snprintf(buf, size, "%.17g", json_number_value(v));
    else
        snprintf(buf, size, "nan");
}

/* The fixed columns, shown unless swept (then they are among the keys). */
static const char *const fixed[] = {"N", "M", "lr_scale", "sigma0", "eta"};
#define NFIXED (sizeof fixed / sizeof fixed[0])

static int is_swept(const mot_sweep *s, const char *key)
{
    for (size_t a = 0; a < s->n_axes; a++)
        if (!strcmp(s->axes[a].key, key))
            return 1;
    return 0;
}

static void fixed_text(const mot_config *cfg, size_t i, char *buf, size_t size)
{
    switch (i) {
    case 0: snprintf(buf, size, "%d", cfg->N); break;
    case 1: snprintf(buf, size, "%d", cfg->M); break;
    case 2: real_text(cfg->lr_scale, buf, size); break;
    case 3: real_text(cfg->sigma0, buf, size); break;
    default: real_text(cfg->eta, buf, size); break;
    }
}

/* One row for point p, or nothing when its directory holds neither a
 * finished run nor a failure record. */
static int write_row(const sweep_ctx *c, FILE *fp, size_t p)
{
    const mot_sweep *s = c->sweep;
    char dir[PATH_SIZE], text[64];
    sweep_point_dir(c, p, dir, sizeof dir);
    json_t *summary = load_in(dir, "summary.json"), *rec = load_in(dir, "sweep_point.json");
    if (!summary) {
        const char *st = json_string_value(json_object_get(rec, "status"));
        if (!st || strcmp(st, "failed") != 0) {
            json_decref(rec);
            return 0;
        }
    } else if (!json_object_get(rec, "T_spec")) {
        json_decref(rec);
        rec = measure(dir);
    }
    mot_config cfg;
    mot_sweep_point_config(s, &c->base, p, &cfg);
    fprintf(fp, "%zu", p);
    for (size_t a = 0; a < s->n_axes; a++)
        fprintf(fp, ",%s", s->axes[a].values[mot_sweep_coord(s, p, a)]);
    fprintf(fp, ",%lu", cfg.seed);
    for (size_t i = 0; i < NFIXED; i++)
        if (!is_swept(s, fixed[i])) {
            fixed_text(&cfg, i, text, sizeof text);
            fprintf(fp, ",%s", text);
        }
    const char *status = "failed";
    if (summary) {
        const char *st = json_string_value(json_object_get(summary, "status"));
        status = st && !strcmp(st, "completed") ? "done" : st && !strcmp(st, "diverged") ? "diverged" : "failed";
    }
    json_t *ts = json_object_get(rec, "T_spec"), *cov = json_object_get(rec, "coverage_T1");
    const char *prop1 = json_string_value(json_object_get(rec, "prop1"));
    if (summary && json_is_integer(ts))
        fprintf(fp, ",%" JSON_INTEGER_FORMAT, json_integer_value(ts));
    else
        fputc(',', fp);
    fprintf(fp, ",%s,%s", summary && json_is_boolean(cov) ? (json_is_true(cov) ? "1" : "0") : "",
            summary && prop1 ? prop1 : "");
    json_t *final = json_object_get(summary, "final");
    char loss[40], err[40];
    json_real_text(json_object_get(final, "test_loss"), loss, sizeof loss);
    json_real_text(json_object_get(final, "test_error"), err, sizeof err);
    if (!summary)
        loss[0] = err[0] = '\0';
    json_t *sec = json_object_get(summary, "seconds");
    if (json_is_number(sec))
        snprintf(text, sizeof text, "%.3f", json_number_value(sec));
    else
        text[0] = '\0';
    fprintf(fp, ",%s,%s,%s,%s\n", loss, err, status, text);
    json_decref(summary), json_decref(rec);
    return 1;
}

int sweep_write_csv(const sweep_ctx *c, size_t *rows)
{
    const mot_sweep *s = c->sweep;
    char path[PATH_SIZE];
    snprintf(path, sizeof path, "%s/sweep.csv", c->out);
    mot_io_file f;
    int status = mot_io_open(&f, path);
    if (status)
        return status;
    fputs("point", f.fp);
    for (size_t a = 0; a < s->n_axes; a++)
        fprintf(f.fp, ",%s", s->axes[a].key);
    fputs(",seed", f.fp);
    for (size_t i = 0; i < NFIXED; i++)
        if (!is_swept(s, fixed[i]))
            fprintf(f.fp, ",%s", fixed[i]);
    fputs(",T_spec,coverage_T1,prop1,final_test_loss,final_test_error,status,seconds\n", f.fp);
    *rows = 0;
    for (size_t p = 0; p < s->n_points; p++)
        *rows += (size_t)write_row(c, f.fp, p);
    return mot_io_commit(&f);
}

/* ---- progress ----------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void duration(double s, char *buf, size_t size)
{
    long t = lround(s);
    if (t >= 3600)
        snprintf(buf, size, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, size, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, size, "%lds", t);
}

static void draw(sweep_progress *p, int final)
{
    size_t finished = p->done + p->diverged + p->failed;
    size_t remaining = p->total - p->skipped - finished;
    double elapsed = now() - p->start;
    char left[32] = "?", took[32];
    if (remaining == 0)
        snprintf(left, sizeof left, "0s");
    else if (finished > 0)
        duration(elapsed / (double)finished * (double)remaining, left, sizeof left);
    duration(elapsed, took, sizeof took);
    if (p->tty) {
        enum { WIDTH = 30 };
        char bar[WIDTH + 1];
        size_t full = p->total ? (p->skipped + finished) * WIDTH / p->total : WIDTH;
        for (size_t i = 0; i < WIDTH; i++)
            bar[i] = i < full ? '#' : '.';
        bar[WIDTH] = '\0';
        fprintf(stderr, "\rmot sweep: [%s] %zu/%zu  done %zu  failed %zu  remaining %zu  ~%s left  ", bar,
                p->skipped + finished, p->total, p->skipped + p->done + p->diverged, p->failed, remaining, left);
        if (final)
            fputc('\n', stderr);
    } else {
        fprintf(stderr, "mot sweep: %zu/%zu points finished (%zu done, %zu diverged, %zu failed; %zu done "
                "before), %zu remaining, %s elapsed, %s left\n", p->skipped + finished, p->total, p->done,
                p->diverged, p->failed, p->skipped, remaining, took, left);
    }
    fflush(stderr);
    p->last = now();
}

void sweep_progress_start(sweep_progress *p, size_t total, size_t skipped)
{
    memset(p, 0, sizeof *p);
    p->total = total, p->skipped = skipped;
    p->start = p->last = now();
    p->tty = isatty(STDERR_FILENO);
    if (p->tty)
        draw(p, 0);
}

void sweep_progress_point(sweep_progress *p, const sweep_ctx *c, size_t point, int outcome)
{
    if (outcome == POINT_DONE)
        p->done++;
    else if (outcome == POINT_DIVERGED)
        p->diverged++;
    else
        p->failed++;
    if (outcome == POINT_FAILED) {
        char why[512], name[MOT_SWEEP_MAX_NAME + 1];
        sweep_failure_reason(c, point, why, sizeof why);
        mot_sweep_point_name(c->sweep, point, name, sizeof name);
        fprintf(stderr, "%smot sweep: point %zu (%s) failed: %s\n", p->tty ? "\r\033[K" : "", point, name,
                why[0] ? why : "no reason recorded");
    }
    if (p->tty)
        draw(p, 0);
}

void sweep_progress_tick(sweep_progress *p)
{
    if (now() - p->last >= (p->tty ? 0.5 : 10.0))
        draw(p, 0);
}

void sweep_progress_end(sweep_progress *p)
{
    draw(p, 1);
}

int sweep_finish(const sweep_ctx *c, const sweep_progress *p)
{
    size_t rows = 0;
    int status = sweep_write_csv(c, &rows);
    if (status)
        return cli_fail(status);
    printf("%s/sweep.csv: %zu of %zu points; this run: %zu done, %zu diverged, %zu failed, %zu done before\n",
           c->out, rows, c->sweep->n_points, p->done, p->diverged, p->failed, p->skipped);
    return p->failed ? EXIT_FAIL : EXIT_OK;
}

int sweep_under_mpirun(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK") || getenv("PMI_SIZE");
}
