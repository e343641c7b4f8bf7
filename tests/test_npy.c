/* test_npy.c: the .npy writer and reader (round trips, the exact header
 * numpy expects, every rejection of the reader) and the atomic files of io.c
 * they are written through. When /usr/bin/python3 has numpy, numpy.load reads
 * what we wrote. Each suite works in its own temporary directory. */
#define _XOPEN_SOURCE 700

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "assert_close.h"
#include "io.h"
#include "npy.h"
#include "status.h"

static const char *dir; /* this suite's temporary directory */

static int suite_init(void)
{
    return (dir = test_tmpdir_make("test_npy")) ? 0 : -1;
}

static int suite_clean(void)
{
    return test_tmpdir_remove();
}

/* "<dir>/<name>" in a static buffer (one at a time is enough here). */
static const char *at(const char *name)
{
    static char buf[2][512];
    static int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Number of entries of a directory other than "." and "..". */
static int count_entries(const char *path)
{
    int n = 0;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", path);
    FILE *p = popen(cmd, "r");
    if (!p || fscanf(p, "%d", &n) != 1)
        n = -1;
    if (p)
        pclose(p);
    return n;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Reads a whole small file into buf (NUL-terminated); returns its length. */
static size_t slurp(const char *path, char *buf, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    size_t n = fp ? fread(buf, 1, cap - 1, fp) : 0;
    if (fp)
        fclose(fp);
    buf[n] = '\0';
    return n;
}

/* Writes a .npy file by hand: version major.0, header dict padded like numpy's,
 * then nbytes of data. */
static void write_raw(const char *path, int major, const char *dict, const void *data,
                      size_t nbytes)
{
    size_t pre = major == 1 ? 10 : 12;
    size_t len = strlen(dict);
    size_t hlen = (pre + len + 1 + 63) / 64 * 64 - pre;
    unsigned char head[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0,
                              (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8), 0, 0};
    FILE *fp = fopen(path, "wb");
    CU_ASSERT_FATAL(fp != NULL);
    fwrite(head, 1, pre, fp);
    fputs(dict, fp);
    for (size_t i = len; i + 1 < hlen; i++)
        fputc(' ', fp);
    fputc('\n', fp);
    if (nbytes > 0)
        fwrite(data, 1, nbytes, fp);
    CU_ASSERT_FATAL(fclose(fp) == 0);
}

/* Reads `path` as f64 expecting failure `code`; checks nothing was returned
 * and the message names the file. */
static void expect_reject(const char *path, mot_npy_type type, size_t max_bytes, int code)
{
    int ndim = -1;
    size_t shape[MOT_NPY_MAX_DIM];
    void *data = (void *)&ndim;
    int status = mot_npy_read(path, type, &ndim, shape, &data, max_bytes);
    CU_ASSERT_EQUAL(status, code);
    CU_ASSERT_PTR_NULL(data);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), path));
    if (status != code)
        fprintf(stderr, "%s: got %d (%s), expected %d\n", path, status, mot_status_message(), code);
    free(data == (void *)&ndim ? NULL : data);
}

/* A header dict for f64 with the given shape text. */
static const char *f64_dict(const char *shape)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "{'descr': '<f8', 'fortran_order': False, 'shape': %s, }", shape);
    return buf;
}

/* ---- round trips -------------------------------------------------------- */

static void fill_f64(double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (double)i * 0.25 - 1.0;
}

static void test_roundtrip_f64_3d(void)
{
    size_t shape[3] = {2, 3, 4}, got[MOT_NPY_MAX_DIM];
    double x[24];
    fill_f64(x, 24);
    x[1] = 1.0 / 3.0;   /* not exact in decimal */
    x[2] = -0.0;
    x[3] = 4.9406564584124654e-324;   /* smallest subnormal */
    x[4] = INFINITY;
    x[5] = NAN;
    x[6] = 1.7976931348623157e308;
    CU_ASSERT_EQUAL_FATAL(mot_npy_write(at("a.npy"), MOT_NPY_F64, 3, shape, x), MOT_OK);
    int ndim = 0;
    void *data = NULL;
    CU_ASSERT_EQUAL_FATAL(mot_npy_read(at("a.npy"), MOT_NPY_F64, &ndim, got, &data, 1 << 20), MOT_OK);
    CU_ASSERT_EQUAL(ndim, 3);
    CU_ASSERT(got[0] == 2 && got[1] == 3 && got[2] == 4);
    CU_ASSERT(memcmp(data, x, sizeof x) == 0);
    free(data);
    /* A bound of exactly the array's size is enough. */
    CU_ASSERT_EQUAL(mot_npy_read(at("a.npy"), MOT_NPY_F64, &ndim, got, &data, sizeof x), MOT_OK);
    free(data);
}

static void test_roundtrip_i32_1d(void)
{
    size_t shape[1] = {5}, got[MOT_NPY_MAX_DIM];
    int32_t x[5] = {0, -1, INT32_MIN, INT32_MAX, 7};
    CU_ASSERT_EQUAL_FATAL(mot_npy_write(at("i.npy"), MOT_NPY_I32, 1, shape, x), MOT_OK);
    int ndim = 0;
    void *data = NULL;
    CU_ASSERT_EQUAL_FATAL(mot_npy_read(at("i.npy"), MOT_NPY_I32, &ndim, got, &data, 100), MOT_OK);
    CU_ASSERT_EQUAL(ndim, 1);
    CU_ASSERT_EQUAL(got[0], 5);
    CU_ASSERT(memcmp(data, x, sizeof x) == 0);
    free(data);
}

static void test_roundtrip_empty_and_v2(void)
{
    /* A zero dimension: no data bytes. */
    size_t shape[2] = {0, 3}, got[MOT_NPY_MAX_DIM];
    int ndim = 0;
    void *data = NULL;
    CU_ASSERT_EQUAL_FATAL(mot_npy_write(at("e.npy"), MOT_NPY_F64, 2, shape, NULL), MOT_OK);
    CU_ASSERT_EQUAL(mot_npy_read(at("e.npy"), MOT_NPY_F64, &ndim, got, &data, 0), MOT_OK);
    CU_ASSERT(ndim == 2 && got[0] == 0 && got[1] == 3);
    free(data);
    /* Version 2.0 (4-byte header length), double quotes, keys reordered. */
    double x[2] = {1.5, -2.5};
    write_raw(at("v2.npy"), 2, "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<f8\"}",
              x, sizeof x);
    CU_ASSERT_EQUAL_FATAL(mot_npy_read(at("v2.npy"), MOT_NPY_F64, &ndim, got, &data, 16), MOT_OK);
    CU_ASSERT(ndim == 1 && got[0] == 2);
    CU_ASSERT(memcmp(data, x, sizeof x) == 0);
    free(data);
}

static void test_header_layout(void)
{
    char buf[512];
    size_t s3[3] = {2, 3, 4}, s1[1] = {5};
    double x[24] = {0};
    CU_ASSERT_EQUAL_FATAL(mot_npy_write(at("h3.npy"), MOT_NPY_F64, 3, s3, x), MOT_OK);
    CU_ASSERT_EQUAL_FATAL(mot_npy_write(at("h1.npy"), MOT_NPY_I32, 1, s1, x), MOT_OK);
    const char *names[2] = {"h3.npy", "h1.npy"};
    const char *dicts[2] = {
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 4), }",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }"};
    long data_bytes[2] = {24 * 8, 5 * 4};
    for (int k = 0; k < 2; k++) {
        slurp(at(names[k]), buf, sizeof buf);
        size_t hlen = (unsigned char)buf[8] | (size_t)(unsigned char)buf[9] << 8;
        CU_ASSERT(memcmp(buf, "\x93NUMPY\x01\x00", 8) == 0);
        CU_ASSERT_EQUAL((10 + hlen) % 64, 0);
        CU_ASSERT_EQUAL(file_size(at(names[k])), (long)(10 + hlen) + data_bytes[k]);
        CU_ASSERT(strncmp(buf + 10, dicts[k], strlen(dicts[k])) == 0);
        CU_ASSERT_EQUAL(buf[10 + hlen - 1], '\n');
        for (size_t i = 10 + strlen(dicts[k]); i < 10 + hlen - 1; i++)
            CU_ASSERT_EQUAL(buf[i], ' ');
    }
}

/* ---- reader rejections -------------------------------------------------- */

static void test_reject_magic_version(void)
{
    write_raw(at("m.npy"), 1, f64_dict("(1,)"), "\0\0\0\0\0\0\0\0", 8);
    char buf[512];
    size_t n = slurp(at("m.npy"), buf, sizeof buf);
    FILE *fp = fopen(at("m.npy"), "r+b");
    CU_ASSERT_FATAL(fp != NULL);
    fputc('X', fp);   /* "\x93NUMPY" -> "XNUMPY" */
    fclose(fp);
    expect_reject(at("m.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);

    fp = fopen(at("short.npy"), "wb");
    fputs("\x93NUM", fp);
    fclose(fp);
    expect_reject(at("short.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);

    /* Version 3.0 and 1.1 are refused; a header cut inside its length too. */
    buf[6] = 3;
    fp = fopen(at("v3.npy"), "wb");
    fwrite(buf, 1, n, fp);
    fclose(fp);
    expect_reject(at("v3.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "version 3.0"));
    buf[6] = 1;
    buf[7] = 1;
    fp = fopen(at("v11.npy"), "wb");
    fwrite(buf, 1, n, fp);
    fclose(fp);
    expect_reject(at("v11.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
    buf[7] = 0;
    fp = fopen(at("cut.npy"), "wb");
    fwrite(buf, 1, 9, fp);
    fclose(fp);
    expect_reject(at("cut.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
}

static void test_reject_dtype(void)
{
    size_t shape[1] = {2};
    int32_t x[2] = {1, 2};
    CU_ASSERT_EQUAL_FATAL(mot_npy_write(at("d.npy"), MOT_NPY_I32, 1, shape, x), MOT_OK);
    expect_reject(at("d.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "'<i4'"));
    double y[2] = {1, 2};
    const char *dicts[] = {
        "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }",   /* big-endian */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
        "{'descr': '<f8 ', 'fortran_order': False, 'shape': (2,), }",
        "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }",
    };
    for (size_t k = 0; k < sizeof dicts / sizeof *dicts; k++) {
        write_raw(at("d2.npy"), 1, dicts[k], y, sizeof y);
        expect_reject(at("d2.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
    }
}

static void test_reject_fortran_order(void)
{
    double y[6] = {0};
    write_raw(at("f.npy"), 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
              y, sizeof y);
    expect_reject(at("f.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "Fortran"));
    write_raw(at("f.npy"), 1, "{'descr': '<f8', 'fortran_order': 0, 'shape': (2, 3), }",
              y, sizeof y);
    expect_reject(at("f.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
}

static void test_reject_truncated_extra(void)
{
    double y[7] = {0};
    write_raw(at("t.npy"), 1, f64_dict("(2, 3)"), y, 5 * sizeof(double));
    expect_reject(at("t.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "truncated"));
    write_raw(at("t.npy"), 1, f64_dict("(2, 3)"), y, 6 * sizeof(double) - 1);
    expect_reject(at("t.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
    write_raw(at("x.npy"), 1, f64_dict("(2, 3)"), y, 7 * sizeof(double));
    expect_reject(at("x.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "extra"));
    write_raw(at("x.npy"), 1, f64_dict("(2, 3)"), y, 6 * sizeof(double) + 1);
    expect_reject(at("x.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
    /* The header itself cut short. */
    char buf[512];
    slurp(at("x.npy"), buf, sizeof buf);
    FILE *fp = fopen(at("th.npy"), "wb");
    fwrite(buf, 1, 40, fp);
    fclose(fp);
    expect_reject(at("th.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
}

/* Streams `nbytes` of `bytes` into a FIFO from a child process while the
 * parent reads it: the reader's checks for files whose size fstat cannot
 * tell. Returns the read status. */
static int read_through_fifo(const char *bytes, size_t nbytes, size_t max_bytes)
{
    const char *fifo = at("fifo");
    unlink(fifo);
    CU_ASSERT_FATAL(mkfifo(fifo, 0600) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        FILE *fp = fopen(fifo, "wb");
        if (fp) {
            fwrite(bytes, 1, nbytes, fp);
            fclose(fp);
        }
        _exit(0);
    }
    int ndim;
    size_t shape[MOT_NPY_MAX_DIM];
    void *data = NULL;
    int status = mot_npy_read(fifo, MOT_NPY_F64, &ndim, shape, &data, max_bytes);
    free(data);
    waitpid(pid, NULL, 0);
    unlink(fifo);
    return status;
}

static void test_reject_through_fifo(void)
{
    double y[7] = {0};
    char buf[512];
    write_raw(at("p.npy"), 1, f64_dict("(2, 3)"), y, 7 * sizeof(double));
    size_t n = slurp(at("p.npy"), buf, sizeof buf);
    CU_ASSERT_EQUAL(read_through_fifo(buf, n - 8, 1 << 20), MOT_OK);
    CU_ASSERT_EQUAL(read_through_fifo(buf, n - 9, 1 << 20), MOT_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "truncated"));
    CU_ASSERT_EQUAL(read_through_fifo(buf, n, 1 << 20), MOT_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "extra"));
}

/* Regression (found by fuzz/fuzz_npy.c's reasoning, not by a crash): a pipe's
 * size is unknown, and the reader used to allocate all the header claimed,
 * up to the bound, before reading: a terabyte claim was ENOMEM (or an ASan
 * abort). It must be refused as truncated, with memory for what arrived; an
 * array of several allocation chunks still reads back exactly. */
static void test_fifo_lying_header(void)
{
    char head[128];
    write_raw(at("tb.npy"), 1, f64_dict("(125000000000,)"), "0123456789abcdef", 16);
    size_t n = slurp(at("tb.npy"), head, sizeof head);
    CU_ASSERT_EQUAL(read_through_fifo(head, n, SIZE_MAX), MOT_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "truncated"));

    size_t count = 3 * ((size_t)1 << 17) + 5;   /* 3 MiB + 40 bytes */
    double *x = malloc(count * sizeof *x);
    CU_ASSERT_FATAL(x != NULL);
    fill_f64(x, count);
    size_t shape[1] = {count};
    CU_ASSERT_FATAL(mot_npy_write(at("big.npy"), MOT_NPY_F64, 1, shape, x) == MOT_OK);
    size_t cap = count * sizeof *x + 256;
    char *file = malloc(cap);
    CU_ASSERT_FATAL(file != NULL);
    n = slurp(at("big.npy"), file, cap);
    CU_ASSERT_EQUAL(read_through_fifo(file, n, SIZE_MAX), MOT_OK);
    CU_ASSERT_EQUAL(read_through_fifo(file, n - 1, SIZE_MAX), MOT_EINVAL);
    free(file);
    free(x);
}

static void test_reject_over_bound(void)
{
    /* 10^12 elements: refused by the bound, before any allocation (under
     * ASan an 8 TB malloc would abort the test). */
    write_raw(at("big.npy"), 1, f64_dict("(1000000, 1000000)"), NULL, 0);
    expect_reject(at("big.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "exceeds the bound"));
    /* With no bound, the file size still refuses it before allocating. */
    expect_reject(at("big.npy"), MOT_NPY_F64, SIZE_MAX, MOT_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "truncated"));
    /* One byte under the size is refused too. */
    double y[6] = {0};
    write_raw(at("b6.npy"), 1, f64_dict("(2, 3)"), y, sizeof y);
    expect_reject(at("b6.npy"), MOT_NPY_F64, sizeof y - 1, MOT_EINVAL);
}

static void test_reject_shape(void)
{
    double y[6] = {0};
    const char *malformed[] = {"(3)", "(2, 3", "(2,, 3)", "(, )", "(a,)", "[2, 3]", "(2 3)",
                               "(2.0, 3)", "(+2, 3)", "(0x2,)", "6", "(2, 3)x"};
    for (size_t k = 0; k < sizeof malformed / sizeof *malformed; k++) {
        write_raw(at("s.npy"), 1, f64_dict(malformed[k]), y, sizeof y);
        expect_reject(at("s.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "malformed"));
    }
    write_raw(at("s.npy"), 1, f64_dict("(-2, -3)"), y, sizeof y);
    expect_reject(at("s.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "negative"));
    write_raw(at("s.npy"), 1, f64_dict("(2, -3)"), y, sizeof y);
    expect_reject(at("s.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
    write_raw(at("s.npy"), 1, f64_dict("(1, 1, 1, 1, 1, 1, 1, 1, 1)"), y, 8);
    expect_reject(at("s.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "dimensions"));
    /* Eight dimensions, trailing comma and extra spaces are fine. */
    write_raw(at("s.npy"), 1, f64_dict("( 1,1, 1, 1, 1, 1, 1, 6 , )"), y, sizeof y);
    int ndim;
    size_t shape[MOT_NPY_MAX_DIM];
    void *data = NULL;
    CU_ASSERT_EQUAL(mot_npy_read(at("s.npy"), MOT_NPY_F64, &ndim, shape, &data, 1 << 20), MOT_OK);
    CU_ASSERT(ndim == 8 && shape[7] == 6);
    free(data);
}

static void test_reject_overflow(void)
{
    const char *shapes[] = {
        "(4294967296, 4294967296)",      /* elements overflow size_t */
        "(2305843009213693952,)",        /* 2^61 elements fit, 2^64 bytes do not */
        "(18446744073709551616,)",       /* one dimension overflows */
        "(99999999999999999999999999,)",
    };
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        write_raw(at("o.npy"), 1, f64_dict(shapes[k]), NULL, 0);
        expect_reject(at("o.npy"), MOT_NPY_F64, SIZE_MAX, MOT_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "overflows"));
    }
}

static void test_reject_dict(void)
{
    double y[2] = {0};
    const char *dicts[] = {
        "{'descr': '<f8', 'shape': (2,), }",                                       /* missing */
        "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}", /* twice */
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}",        /* unknown */
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), } junk",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2,) 'x'}",
        "{'descr': '<f8' 'fortran_order': False, 'shape': (2,), }",
        "{descr: '<f8', 'fortran_order': False, 'shape': (2,), }",
        "{'descr' '<f8', 'fortran_order': False, 'shape': (2,), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), ",
        "{'des\\cr': '<f8', 'fortran_order': False, 'shape': (2,), }",
        "('descr', '<f8')",
        "",
        /* regression (fuzz/fuzz_npy.c): a control character in a key or
         * dtype, which the message would echo, is malformed */
        "{'descr': '<f8', 'fortra\nn_order': False, 'shape': (2,), }",
        "{'descr': '<f\r8', 'fortran_order': False, 'shape': (2,), }",
    };
    for (size_t k = 0; k < sizeof dicts / sizeof *dicts; k++) {
        write_raw(at("k.npy"), 1, dicts[k], y, sizeof y);
        expect_reject(at("k.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
        CU_ASSERT_PTR_NULL(strpbrk(mot_status_message(), "\n\r"));
    }
    /* A header longer than numpy accepts. */
    char big[12000];
    snprintf(big, sizeof big, "%s", f64_dict("(2,)"));
    memset(big + strlen(big), ' ', sizeof big - 1 - strlen(big));
    big[sizeof big - 1] = '\0';
    write_raw(at("k.npy"), 2, big, y, sizeof y);
    expect_reject(at("k.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
    /* A NUL byte inside the header. */
    char nul[256];
    snprintf(nul, sizeof nul, "%s", f64_dict("(2,)"));
    write_raw(at("k.npy"), 1, nul, y, sizeof y);
    FILE *fp = fopen(at("k.npy"), "r+b");
    CU_ASSERT_FATAL(fp != NULL);
    fseek(fp, 10 + (long)strlen(nul) + 2, SEEK_SET);
    fputc('\0', fp);
    fclose(fp);
    expect_reject(at("k.npy"), MOT_NPY_F64, 1 << 20, MOT_EINVAL);
}

static void test_missing_file(void)
{
    expect_reject(at("no-such.npy"), MOT_NPY_F64, 1 << 20, MOT_EIO);
    expect_reject(dir, MOT_NPY_F64, 1 << 20, MOT_EIO);   /* a directory */
}

static void test_write_errors(void)
{
    size_t shape[1] = {2}, huge[2] = {SIZE_MAX / 2, 3};
    double x[2] = {1, 2};
    CU_ASSERT_EQUAL(mot_npy_write(at("nodir/a.npy"), MOT_NPY_F64, 1, shape, x), MOT_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "nodir/a.npy"));
    CU_ASSERT_EQUAL(mot_npy_write(at("w.npy"), MOT_NPY_F64, MOT_NPY_MAX_DIM + 1, shape, x),
                    MOT_EINVAL);
    CU_ASSERT_EQUAL(mot_npy_write(at("w.npy"), MOT_NPY_F64, -1, shape, x), MOT_EINVAL);
    CU_ASSERT_EQUAL(mot_npy_write(at("w.npy"), MOT_NPY_F64, 2, huge, x), MOT_EINVAL);
    CU_ASSERT_FALSE(exists(at("w.npy")));
}

/* ---- numpy reads what we write ----------------------------------------- */

static const char *python3(void)
{
    const char *p = getenv("PYTHON3");
    return p && *p && strcmp(p, "no") != 0 ? p : "/usr/bin/python3";
}

static int have_numpy(void)
{
    char cmd[600];
    if (access(python3(), X_OK) != 0)
        return 0;
    snprintf(cmd, sizeof cmd, "'%s' -c 'import numpy' >/dev/null 2>&1", python3());
    return system(cmd) == 0;
}

static void test_numpy_load(void)
{
    size_t s3[3] = {2, 3, 4}, s1[1] = {5};
    double x[24];
    int32_t k[5] = {0, -1, INT32_MIN, INT32_MAX, 7};
    fill_f64(x, 24);
    CU_ASSERT_EQUAL_FATAL(mot_npy_write(at("np3.npy"), MOT_NPY_F64, 3, s3, x), MOT_OK);
    CU_ASSERT_EQUAL_FATAL(mot_npy_write(at("np1.npy"), MOT_NPY_I32, 1, s1, k), MOT_OK);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "'%s' -c \"import sys, numpy\n"
             "a = numpy.load(sys.argv[1])\n"
             "b = numpy.load(sys.argv[2])\n"
             "assert a.dtype == numpy.float64 and a.shape == (2, 3, 4), a\n"
             "assert a.flags.c_contiguous and a.ravel().tolist() == [i * 0.25 - 1 for i in range(24)]\n"
             "assert b.dtype == numpy.int32 and b.shape == (5,), b\n"
             "assert b.tolist() == [0, -1, -2**31, 2**31 - 1, 7], b\n\" '%s' '%s'",
             python3(), at("np3.npy"), at("np1.npy"));
    int status = system(cmd);
    CU_ASSERT(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- io.c --------------------------------------------------------------- */

static void test_io_abort(void)
{
    CU_ASSERT_EQUAL_FATAL(mot_io_mkdir_p(at("ab")), MOT_OK);
    mot_io_file f;
    CU_ASSERT_EQUAL_FATAL(mot_io_open(&f, at("ab/out.json")), MOT_OK);
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", f.tmp);
    char expect[512];
    snprintf(expect, sizeof expect, "%s/ab/.out.json.tmp.%ld", dir, (long)getpid());
    CU_ASSERT_STRING_EQUAL(tmp, expect);
    fputs("partial", f.fp);
    CU_ASSERT_TRUE(exists(tmp));
    CU_ASSERT_FALSE(exists(at("ab/out.json")));
    mot_io_abort(&f);
    CU_ASSERT_FALSE(exists(tmp));
    CU_ASSERT_FALSE(exists(at("ab/out.json")));
    CU_ASSERT_EQUAL(count_entries(at("ab")), 0);
    CU_ASSERT_PTR_NULL(f.fp);
    mot_io_abort(&f);   /* twice is harmless */
    /* A file opened in the current directory (no '/' in the name). */
    char cwd[512];
    CU_ASSERT_FATAL(getcwd(cwd, sizeof cwd) != NULL);
    CU_ASSERT_FATAL(chdir(at("ab")) == 0);
    CU_ASSERT_EQUAL(mot_io_open(&f, "plain"), MOT_OK);
    CU_ASSERT_EQUAL(strncmp(f.tmp, ".plain.tmp.", 11), 0);
    mot_io_abort(&f);
    CU_ASSERT_FATAL(chdir(cwd) == 0);
    CU_ASSERT_EQUAL(count_entries(at("ab")), 0);
}

static void test_io_commit_replaces(void)
{
    char buf[64];
    FILE *fp = fopen(at("r.txt"), "w");
    CU_ASSERT_FATAL(fp != NULL);
    fputs("old contents, longer than the new", fp);
    fclose(fp);
    mot_io_file f;
    CU_ASSERT_EQUAL_FATAL(mot_io_open(&f, at("r.txt")), MOT_OK);
    fputs("new", f.fp);
    slurp(at("r.txt"), buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "old contents, longer than the new");   /* not yet */
    CU_ASSERT_EQUAL(mot_io_commit(&f), MOT_OK);
    CU_ASSERT_PTR_NULL(f.fp);
    CU_ASSERT_PTR_NULL(f.tmp);
    slurp(at("r.txt"), buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "new");
}

static void test_io_failures(void)
{
    mot_io_file f;
    /* Open in a missing directory: MOT_EIO, nothing to free. */
    CU_ASSERT_EQUAL(mot_io_open(&f, at("missing/x")), MOT_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "missing/x"));
    CU_ASSERT(f.fp == NULL && f.path == NULL && f.tmp == NULL);
    mot_io_abort(&f);
    CU_ASSERT_EQUAL(mot_io_open(&f, at("dirname/")), MOT_EIO);
    /* Commit onto a directory fails in rename: the temporary is removed. */
    CU_ASSERT_EQUAL_FATAL(mot_io_mkdir_p(at("cf/target/sub")), MOT_OK);
    CU_ASSERT_EQUAL_FATAL(mot_io_open(&f, at("cf/target")), MOT_OK);
    fputs("x", f.fp);
    CU_ASSERT_EQUAL(mot_io_commit(&f), MOT_EIO);
    CU_ASSERT_PTR_NULL(f.tmp);
    CU_ASSERT_EQUAL(count_entries(at("cf")), 1);
    /* A stream already in error is not committed. */
    CU_ASSERT_EQUAL_FATAL(mot_io_open(&f, at("cf/err")), MOT_OK);
    fgetc(f.fp);   /* reading a write-only stream sets its error flag */
    CU_ASSERT_EQUAL(mot_io_commit(&f), MOT_EIO);
    CU_ASSERT_EQUAL(count_entries(at("cf")), 1);
    /* Commit of a file that is not open. */
    f.fp = NULL;
    f.path = NULL;
    f.tmp = NULL;
    CU_ASSERT_EQUAL(mot_io_commit(&f), MOT_EIO);
}

static void test_io_mkdir_p(void)
{
    struct stat st;
    CU_ASSERT_EQUAL(mot_io_mkdir_p(at("m/a/b/c")), MOT_OK);
    CU_ASSERT(stat(at("m/a/b/c"), &st) == 0 && S_ISDIR(st.st_mode));
    CU_ASSERT_EQUAL(mot_io_mkdir_p(at("m/a/b/c")), MOT_OK);   /* exists */
    CU_ASSERT_EQUAL(mot_io_mkdir_p(at("m//a/d/")), MOT_OK);
    CU_ASSERT(stat(at("m/a/d"), &st) == 0 && S_ISDIR(st.st_mode));
    CU_ASSERT_EQUAL(mot_io_mkdir_p("/"), MOT_OK);
    FILE *fp = fopen(at("m/file"), "w");
    CU_ASSERT_FATAL(fp != NULL);
    fclose(fp);
    CU_ASSERT_EQUAL(mot_io_mkdir_p(at("m/file")), MOT_EIO);
    CU_ASSERT_EQUAL(mot_io_mkdir_p(at("m/file/x")), MOT_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "m/file/x"));
    CU_ASSERT_EQUAL(mot_io_mkdir_p(""), MOT_EIO);
}

static void test_io_json(void)
{
    char buf[256];
    json_t *obj = json_object();
    json_object_set_new(obj, "zeta", json_integer(1));
    json_object_set_new(obj, "alpha", json_real(0.1));
    json_object_set_new(obj, "list", json_pack("[s, b]", "x", 1));
    CU_ASSERT_EQUAL(mot_io_write_json(at("j.json"), obj), MOT_OK);
    slurp(at("j.json"), buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "{\n  \"zeta\": 1,\n  \"alpha\": 0.10000000000000001,\n"
                                "  \"list\": [\n    \"x\",\n    true\n  ]\n}\n");
    json_t *back = json_load_file(at("j.json"), 0, NULL);
    CU_ASSERT(back && json_real_value(json_object_get(back, "alpha")) == 0.1);
    json_decref(back);
    CU_ASSERT_EQUAL(mot_io_write_json(at("nodir/j.json"), obj), MOT_EIO);
    /* jansson refuses to dump a cycle, part way through: the temporary goes. */
    CU_ASSERT_EQUAL_FATAL(mot_io_mkdir_p(at("jn")), MOT_OK);
    json_t *arr = json_array();
    json_t *cyc = json_object();
    json_object_set(cyc, "a", arr);
    json_array_append(arr, cyc);
    CU_ASSERT_EQUAL(mot_io_write_json(at("jn/cyc.json"), cyc), MOT_EIO);
    CU_ASSERT_EQUAL(count_entries(at("jn")), 0);
    json_array_clear(arr);   /* break the cycle so both are freed */
    json_decref(arr);
    json_decref(cyc);
    json_decref(obj);
}

static void test_io_join(void)
{
    const char *cases[][3] = {{"a", "b", "a/b"}, {"a/", "b", "a/b"}, {"/", "b", "/b"},
                              {"", "b", "b"}, {"x/y", "z.npy", "x/y/z.npy"}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char *s = mot_io_join(cases[k][0], cases[k][1]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_STRING_EQUAL(s, cases[k][2]);
        free(s);
    }
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite npy = CU_add_suite("npy", suite_init, suite_clean);
    CU_pSuite io = CU_add_suite("io", suite_init, suite_clean);
    if (!npy || !io
        || !CU_add_test(npy, "round trip f64 3-D", test_roundtrip_f64_3d)
        || !CU_add_test(npy, "round trip i32 1-D", test_roundtrip_i32_1d)
        || !CU_add_test(npy, "empty array, version 2.0", test_roundtrip_empty_and_v2)
        || !CU_add_test(npy, "header layout", test_header_layout)
        || !CU_add_test(npy, "rejects bad magic, version", test_reject_magic_version)
        || !CU_add_test(npy, "rejects wrong dtype", test_reject_dtype)
        || !CU_add_test(npy, "rejects Fortran order", test_reject_fortran_order)
        || !CU_add_test(npy, "rejects truncated, extra data", test_reject_truncated_extra)
        || !CU_add_test(npy, "checks data read from a FIFO", test_reject_through_fifo)
        || !CU_add_test(npy, "refuses arrays over the bound", test_reject_over_bound)
        || !CU_add_test(npy, "a pipe's lying header allocates nothing", test_fifo_lying_header)
        || !CU_add_test(npy, "rejects bad shapes", test_reject_shape)
        || !CU_add_test(npy, "rejects overflowing shapes", test_reject_overflow)
        || !CU_add_test(npy, "rejects bad header dicts", test_reject_dict)
        || !CU_add_test(npy, "missing file is MOT_EIO", test_missing_file)
        || !CU_add_test(npy, "write errors", test_write_errors)
        || !CU_add_test(io, "abort leaves no file", test_io_abort)
        || !CU_add_test(io, "commit replaces", test_io_commit_replaces)
        || !CU_add_test(io, "open and commit failures", test_io_failures)
        || !CU_add_test(io, "mkdir -p", test_io_mkdir_p)
        || !CU_add_test(io, "JSON files", test_io_json)
        || !CU_add_test(io, "join", test_io_join)) {
        CU_cleanup_registry();
        return 1;
    }
    CU_pTest np = CU_add_test(npy, "numpy.load reads our files", test_numpy_load);
    if (!np) {
        CU_cleanup_registry();
        return 1;
    }
    if (!have_numpy()) {
        /* Skipped, not failed: reported as "inactive" in CUnit's summary. */
        printf("numpy not found with %s: skipping the numpy.load test\n", python3());
        CU_set_test_active(np, CU_FALSE);
        CU_set_fail_on_inactive(CU_FALSE);
    }
    return run_cunit_suites();
}
