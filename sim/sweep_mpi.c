/* sweep_mpi.c: the MPI scheduler of `mot sweep` (built with --with-mpi):
 * `mpirun -np K mot sweep CONFIG --out DIR`. Rank 0 prepares the sweep
 * directory, then hands out the pending points one at a time to whichever
 * rank asks (dynamic scheduling: a rank asks again when its point is done),
 * shows the progress and writes sweep.csv at the end; ranks 1..K-1 run the
 * points they are given in their own process. With one rank, rank 0 runs
 * every point itself. The results are the run directories, the same as the
 * local pool's (sweep_exec.c runs a point either way). Waiting is done by
 * polling with short sleeps, since Open MPI's blocking calls spin a core
 * that the workers need. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <time.h>

#include <mpi.h>

#include "cli.h"
#include "sweep_exec.h"

enum { TAG_ASK = 1, TAG_GIVE = 2 };

static void nap(void)
{
    struct timespec t = {0, 20000000};
    nanosleep(&t, NULL);
}

/* MPI_Wait without spinning; ticks the progress display when given one. */
static void wait_for(MPI_Request *req, MPI_Status *st, sweep_progress *pr)
{
    int flag = 0;
    for (;;) {
        MPI_Test(req, &flag, st);
        if (flag)
            return;
        nap();
        if (pr)
            sweep_progress_tick(pr);
    }
}

/* Rank 0. Every other rank is sent -1 (stop) once, whatever happens here,
 * so that none waits forever. */
static int serve(sweep_ctx *c, int size)
{
    size_t *pending = NULL, n = 0, skipped = 0, next = 0;
    sweep_progress pr;
    int code = sweep_prepare(c, &pending, &n, &skipped);
    if (code != EXIT_OK)
        n = 0;
    sweep_progress_start(&pr, n + skipped, skipped);
    if (size == 1) {
        for (; next < n; next++) {
            pr.running = 1;
            sweep_run_point(c, pending[next]);
            pr.running = 0;
            sweep_progress_point(&pr, c, pending[next], sweep_point_outcome(c, pending[next]));
        }
    }
    for (int active = size - 1; active > 0;) {
        long msg[2];   /* the asking rank's last point (-1: none yet) and its outcome */
        MPI_Request req;
        MPI_Status st;
        MPI_Irecv(msg, 2, MPI_LONG, MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &req);
        wait_for(&req, &st, code == EXIT_OK ? &pr : NULL);
        if (msg[0] >= 0) {
            pr.running--;
            sweep_progress_point(&pr, c, (size_t)msg[0], sweep_point_outcome(c, (size_t)msg[0]));
        }
        long give = next < n ? (long)pending[next++] : -1;
        if (give >= 0)
            pr.running++;
        else
            active--;
        MPI_Send(&give, 1, MPI_LONG, st.MPI_SOURCE, TAG_GIVE, MPI_COMM_WORLD);
    }
    if (code == EXIT_OK) {
        sweep_progress_end(&pr);
        code = sweep_finish(c, &pr);
    }
    free(pending);
    return code;
}

/* Ranks 1..K-1: ask, run, report, until told to stop. */
static void work(const sweep_ctx *c)
{
    long msg[2] = {-1, 0}, give;
    for (;;) {
        MPI_Request req;
        MPI_Send(msg, 2, MPI_LONG, 0, TAG_ASK, MPI_COMM_WORLD);
        MPI_Irecv(&give, 1, MPI_LONG, 0, TAG_GIVE, MPI_COMM_WORLD, &req);
        wait_for(&req, MPI_STATUS_IGNORE, NULL);
        if (give < 0)
            return;
        msg[0] = give;
        msg[1] = sweep_run_point(c, (size_t)give);
    }
}

int sweep_mpi_main(sweep_ctx *c)
{
    int rank, size, code = EXIT_OK;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        cli_error("MPI_Init failed");
        return EXIT_FAIL;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank == 0)
        code = serve(c, size);
    else
        work(c);
    /* Ranks done early sleep here rather than spin inside MPI_Finalize. */
    MPI_Request bar;
    MPI_Ibarrier(MPI_COMM_WORLD, &bar);
    wait_for(&bar, MPI_STATUS_IGNORE, NULL);
    MPI_Finalize();
    return code;
}
