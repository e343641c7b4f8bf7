/* fuzz_npy.c: libFuzzer harness of the .npy reader (mot_npy_read). The input
 * is the file. It is read as float64 and as int32, once under a small bound
 * (1 MiB) and once with no bound at all (SIZE_MAX): a header that claims
 * more data than the file holds must be refused before anything is
 * allocated, which libFuzzer's -malloc_limit_mb (the -rss_limit_mb of
 * `make fuzz`, 2048) turns into a crash if it is not. An accepted array has
 * the size its shape says; a refusal is MOT_EINVAL with a one-line message.
 * Not a test of numpy compatibility: tests/test_npy.c does that. */
#include "fuzz.h"

#include "npy.h"

static void read_as(const char *path, mot_npy_type type, size_t bound, size_t size)
{
    int ndim = -1;
    size_t shape[MOT_NPY_MAX_DIM];
    void *data = NULL;
    mot_status_clear();
    int status = mot_npy_read(path, type, &ndim, shape, &data, bound);
    if (status != MOT_OK) {
        fuzz_check_rejection(status, FUZZ_BIT(MOT_EINVAL), "mot_npy_read");
        if (data) {
            fprintf(stderr, "mot_npy_read failed but returned data\n");
            abort();
        }
        return;
    }
    size_t n = type == MOT_NPY_F64 ? 8 : 4;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    if (ndim < 0 || ndim > MOT_NPY_MAX_DIM || n > bound || n > size || !data) {
        fprintf(stderr, "accepted an array of %zu bytes from a file of %zu\n", n, size);
        abort();
    }
    /* Every byte of the array is readable (ASan checks the buffer's size). */
    volatile unsigned char sum = 0;
    for (size_t i = 0; i < n; i++)
        sum ^= ((const unsigned char *)data)[i];
    free(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_path("fuzz.npy");
    fuzz_write(path, data, size);
    read_as(path, MOT_NPY_F64, (size_t)1 << 20, size);
    read_as(path, MOT_NPY_I32, (size_t)1 << 20, size);
    read_as(path, MOT_NPY_F64, SIZE_MAX, size);
    read_as(path, MOT_NPY_I32, SIZE_MAX, size);
    return 0;
}
