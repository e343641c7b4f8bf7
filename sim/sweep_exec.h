/* sweep_exec.h: what the schedulers of `mot sweep` share, whatever runs the
 * points (the local pool of forked workers in cmd_sweep.c, or the MPI ranks
 * of sweep_mpi.c): preparing the sweep directory, running one point in the
 * calling process, the per-point record, sweep.csv, and the progress
 * display. The sweep directory is the only state: a point is done when
 * DIR/runs/<name>/summary.json exists, so any scheduler can resume any
 * other's work. */
#ifndef MOT_SWEEP_EXEC_H
#define MOT_SWEEP_EXEC_H

#include <stddef.h>

#include "config.h"
#include "mot_autoconf.h"
#include "sweep.h"

typedef struct {
    const char *out;          /* the sweep directory DIR */
    const char *config_path;
    mot_config base;          /* the config file with --set applied */
    mot_sweep *sweep;
    int shard_i, shard_k;     /* run the points with index % shard_k == shard_i */
    int jobs;                 /* local workers */
} sweep_ctx;

/* How a point ended. */
enum { POINT_DONE = 0, POINT_DIVERGED = 1, POINT_FAILED = 2 };

/* Creates DIR/runs, checks that every finished run of this shard was run
 * with its point's config (else EXIT_USAGE, with the key that differs),
 * and lists in *pending (malloc'd) the points of this shard still to run,
 * in grid order; *skipped counts those already done. Returns an exit code
 * (EXIT_OK, EXIT_USAGE, EXIT_FAIL), having printed any error. */
int sweep_prepare(const sweep_ctx *c, size_t **pending, size_t *n_pending, size_t *skipped);

/* Runs point `point` in this process: takes the point's lock
 * (DIR/runs/.<name>.lock, waiting for a worker of a killed execution to be
 * gone), removes an unfinished run directory (nothing to do if the run
 * finished meanwhile), runs it with mot_run (no progress), then measures the
 * finished directory
 * (T_spec, coverage at T1, Prop 1) into DIR/runs/<name>/sweep_point.json;
 * a run that failed gets a sweep_point.json with status "failed" and the
 * reason. Returns POINT_DONE, POINT_DIVERGED or POINT_FAILED. */
int sweep_run_point(const sweep_ctx *c, size_t point);

/* How point `point` ended, as its directory says: POINT_DONE or
 * POINT_DIVERGED when summary.json is there (by its status), else
 * POINT_FAILED. */
int sweep_point_outcome(const sweep_ctx *c, size_t point);

/* Records a failure that the point's own process could not record (a
 * worker killed by a signal): writes its sweep_point.json unless there is
 * one or the run finished. */
void sweep_record_failure(const sweep_ctx *c, size_t point, const char *why);

/* The reason recorded for a failed point into buf ("" if none). */
void sweep_failure_reason(const sweep_ctx *c, size_t point, char *buf, size_t size);

/* Writes DIR/sweep.csv (atomically) from every point of the grid whose run
 * directory holds a finished run or a failure record, in grid order.
 * *rows receives the number of rows. MOT_OK or an error with a message. */
int sweep_write_csv(const sweep_ctx *c, size_t *rows);

/* The path DIR/runs/<name of point> into buf. */
void sweep_point_dir(const sweep_ctx *c, size_t point, char *buf, size_t size);

/* ---- progress ----------------------------------------------------------- */

typedef struct {
    size_t total;             /* points of this execution (this shard) */
    size_t skipped;           /* already done before it started */
    size_t done, diverged, failed;
    size_t running;
    double start, last;       /* monotonic seconds */
    int tty;
} sweep_progress;

/* On stderr: a bar rewritten in place when it is a terminal, else a line
 * every 10 s or so and one at the end. */
void sweep_progress_start(sweep_progress *p, size_t total, size_t skipped);
/* A point ended; a failed one also prints its reason on its own line. */
void sweep_progress_point(sweep_progress *p, const sweep_ctx *c, size_t point, int outcome);
/* Called now and then while points run: redraws when due. */
void sweep_progress_tick(sweep_progress *p);
void sweep_progress_end(sweep_progress *p);

/* Writes sweep.csv and prints the summary line of the execution on stdout;
 * returns the exit code (EXIT_FAIL when a point failed or sweep.csv could
 * not be written). */
int sweep_finish(const sweep_ctx *c, const sweep_progress *p);

#ifdef HAVE_MPI
/* The MPI scheduler (sweep_mpi.c): rank 0 prepares, hands out the pending
 * points one at a time to the ranks that ask, and writes sweep.csv; the
 * other ranks run what they are given. With one rank, rank 0 runs them. */
int sweep_mpi_main(sweep_ctx *c);
#endif

/* Whether this process was started by mpirun (Open MPI, PMIx or PMI
 * environment variables). */
int sweep_under_mpirun(void);

#endif
