/* npy.c: NumPy .npy files for float64 and int32 arrays (see npy.h). Writes
 * format 1.0 with the header padded so the data starts at a multiple of 64
 * bytes, as numpy does; reads 1.0 and 2.0. The reader parses the header dict
 * itself, a Python literal, accepting only what numpy writes for a plain
 * little-endian C-order array of the requested type. Not a general .npy
 * library: no other dtypes, no Fortran order, no pickles. */
#define _POSIX_C_SOURCE 200809L

#include "npy.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io.h"
#include "status.h"

/* Data are written and read as the host's bytes. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian host"
#endif

/* numpy itself refuses longer headers by default (max_header_size). */
#define NPY_MAX_HEADER 10000

/* The first allocation for the data of a pipe (then doubled as it fills). */
#define NPY_PIPE_CHUNK ((size_t)1 << 20)

static const char *npy_descr(mot_npy_type type) { return type == MOT_NPY_F64 ? "<f8" : "<i4"; }

static size_t npy_itemsize(mot_npy_type type) { return type == MOT_NPY_F64 ? 8 : 4; }

/* Sets *bytes to the array's size; -1 if that overflows size_t. */
static int npy_nbytes(int ndim, const size_t *shape, size_t itemsize, size_t *bytes)
{
    size_t n = itemsize;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] != 0 && n > SIZE_MAX / shape[i])
            return -1;
        n *= shape[i];
    }
    *bytes = n;
    return 0;
}

int mot_npy_write(const char *path, mot_npy_type type, int ndim,
                  const size_t *shape, const void *data)
{
    size_t bytes;
    if (ndim < 0 || ndim > MOT_NPY_MAX_DIM)
        return MOT_ERROR(MOT_EINVAL, "cannot write %s: %d dimensions", path, ndim);
    if (npy_nbytes(ndim, shape, npy_itemsize(type), &bytes) != 0)
        return MOT_ERROR(MOT_EINVAL, "cannot write %s: shape overflows size_t", path);

    /* At most 10 + 52 + 8 * 22 + 5 bytes before padding. */
    char h[320];
    size_t n = 10;
    n += (size_t)sprintf(h + n, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                         npy_descr(type));
    for (int i = 0; i < ndim; i++)
        n += (size_t)sprintf(h + n, "%s%zu", i ? ", " : "", shape[i]);
    n += (size_t)sprintf(h + n, "%s), }", ndim == 1 ? "," : "");
    size_t total = (n + 1 + 63) / 64 * 64;   /* + 1 for the final '\n' */
    memset(h + n, ' ', total - 1 - n);
    h[total - 1] = '\n';
    memcpy(h, "\x93NUMPY\x01\x00", 8);
    h[8] = (char)((total - 10) & 0xff);
    h[9] = (char)((total - 10) >> 8);

    mot_io_file f;
    int status = mot_io_open(&f, path);
    if (status != MOT_OK)
        return status;
    if (fwrite(h, 1, total, f.fp) != total
        || (bytes > 0 && fwrite(data, 1, bytes, f.fp) != bytes)) {
        int code = MOT_ERROR(MOT_EIO, "cannot write %s: %s", path, strerror(errno));
        mot_io_abort(&f);
        return code;
    }
    return mot_io_commit(&f);
}

static const char *npy_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Copies a quoted string without escapes or control characters into
 * out[cap]; returns the position after it, or NULL if p holds no such
 * string. (Keys and dtypes are echoed in one-line error messages.) */
static const char *npy_string(const char *p, char *out, size_t cap)
{
    if (*p != '\'' && *p != '"')
        return NULL;
    const char *end = strchr(p + 1, *p);
    size_t len = end ? (size_t)(end - p - 1) : 0;
    if (!end || len >= cap || memchr(p + 1, '\\', len))
        return NULL;
    for (size_t i = 1; i <= len; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return NULL;
    memcpy(out, p + 1, len);
    out[len] = '\0';
    return end + 1;
}

/* Parses a tuple of non-negative integers, "()", "(n,)", "(n, m)", "(n, m,)". */
static int npy_shape(const char *path, const char **pp, int *ndim, size_t *shape)
{
    const char *p = *pp;
    int n = 0;
    if (*p != '(')
        return MOT_ERROR(MOT_EINVAL, "%s: malformed shape: not a tuple", path);
    for (p = npy_ws(p + 1); *p != ')';) {
        if (*p == '-')
            return MOT_ERROR(MOT_EINVAL, "%s: negative dimension in shape", path);
        if (*p < '0' || *p > '9')
            return MOT_ERROR(MOT_EINVAL, "%s: malformed shape", path);
        if (n == MOT_NPY_MAX_DIM)
            return MOT_ERROR(MOT_EINVAL, "%s: more than %d dimensions", path, MOT_NPY_MAX_DIM);
        size_t v = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            size_t digit = (size_t)(*p - '0');
            if (v > (SIZE_MAX - digit) / 10)
                return MOT_ERROR(MOT_EINVAL, "%s: dimension overflows size_t", path);
            v = 10 * v + digit;
        }
        shape[n++] = v;
        p = npy_ws(p);
        if (*p == ',')
            p = npy_ws(p + 1);
        else if (*p != ')' || n == 1)   /* "(3)" is an integer, not a tuple */
            return MOT_ERROR(MOT_EINVAL, "%s: malformed shape", path);
    }
    *ndim = n;
    *pp = p + 1;
    return MOT_OK;
}

/* Parses the header dict h (ending at end) and checks it describes a C-order
 * array of `type`; fills *ndim and shape. */
static int npy_header(const char *path, const char *h, const char *end,
                      mot_npy_type type, int *ndim, size_t *shape)
{
    int have_descr = 0, have_order = 0, have_shape = 0;
    const char *p = npy_ws(h);
    if (*p != '{')
        return MOT_ERROR(MOT_EINVAL, "%s: malformed header: no dict", path);
    for (p = npy_ws(p + 1); *p != '}';) {
        char key[16], descr[16];
        p = npy_string(p, key, sizeof key);
        if (!p || *(p = npy_ws(p)) != ':')
            return MOT_ERROR(MOT_EINVAL, "%s: malformed header dict", path);
        p = npy_ws(p + 1);
        if (strcmp(key, "descr") == 0 && !have_descr) {
            have_descr = 1;
            p = npy_string(p, descr, sizeof descr);
            if (!p || strcmp(descr, npy_descr(type)) != 0)
                return MOT_ERROR(MOT_EINVAL, "%s: dtype is '%s', expected '%s'", path,
                                 p ? descr : "?", npy_descr(type));
        } else if (strcmp(key, "fortran_order") == 0 && !have_order) {
            have_order = 1;
            if (strncmp(p, "True", 4) == 0)
                return MOT_ERROR(MOT_EINVAL, "%s: Fortran order is not supported", path);
            if (strncmp(p, "False", 5) != 0)
                return MOT_ERROR(MOT_EINVAL, "%s: malformed fortran_order", path);
            p += 5;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            have_shape = 1;
            int status = npy_shape(path, &p, ndim, shape);
            if (status != MOT_OK)
                return status;
        } else {
            return MOT_ERROR(MOT_EINVAL, "%s: unexpected or repeated key '%s' in header",
                             path, key);
        }
        p = npy_ws(p);
        if (*p == ',')
            p = npy_ws(p + 1);
        else if (*p != '}')
            return MOT_ERROR(MOT_EINVAL, "%s: malformed header dict", path);
    }
    if (npy_ws(p + 1) != end)
        return MOT_ERROR(MOT_EINVAL, "%s: junk after the header dict", path);
    if (!have_descr || !have_order || !have_shape)
        return MOT_ERROR(MOT_EINVAL, "%s: header lacks descr, fortran_order or shape", path);
    return MOT_OK;
}

static int npy_read_stream(FILE *fp, const char *path, mot_npy_type type, int *ndim,
                           size_t *shape, void **data, size_t max_bytes)
{
    unsigned char pre[12];
    char h[NPY_MAX_HEADER + 1];
    size_t hlen;
    size_t got = fread(pre, 1, 8, fp);
    if (got != 8 && ferror(fp))   /* e.g. a directory */
        return MOT_ERROR(MOT_EIO, "cannot read %s: %s", path, strerror(errno));
    if (got != 8 || memcmp(pre, "\x93NUMPY", 6) != 0)
        return MOT_ERROR(MOT_EINVAL, "%s: not a .npy file (bad magic)", path);
    if (pre[6] == 1 && pre[7] == 0 && fread(pre + 8, 1, 2, fp) == 2)
        hlen = pre[8] | (size_t)pre[9] << 8;
    else if (pre[6] == 2 && pre[7] == 0 && fread(pre + 8, 1, 4, fp) == 4)
        hlen = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    else if ((pre[6] == 1 || pre[6] == 2) && pre[7] == 0)
        return MOT_ERROR(MOT_EINVAL, "%s: truncated header", path);
    else
        return MOT_ERROR(MOT_EINVAL, "%s: unsupported .npy version %d.%d", path, pre[6], pre[7]);
    if (hlen > NPY_MAX_HEADER)
        return MOT_ERROR(MOT_EINVAL, "%s: header of %zu bytes (at most %d)", path, hlen,
                         NPY_MAX_HEADER);
    if (fread(h, 1, hlen, fp) != hlen)
        return MOT_ERROR(MOT_EINVAL, "%s: truncated header", path);
    h[hlen] = '\0';   /* a NUL inside the header then shows as junk */
    int status = npy_header(path, h, h + hlen, type, ndim, shape);
    if (status != MOT_OK)
        return status;

    size_t bytes;
    if (npy_nbytes(*ndim, shape, npy_itemsize(type), &bytes) != 0)
        return MOT_ERROR(MOT_EINVAL, "%s: shape overflows size_t", path);
    if (bytes > max_bytes)
        return MOT_ERROR(MOT_EINVAL, "%s: array of %zu bytes exceeds the bound of %zu bytes",
                         path, bytes, max_bytes);
    /* A regular file's size is checked before allocating, so a header that
     * lies cannot make us allocate up to max_bytes for nothing. */
    struct stat st;
    long pos = ftell(fp);
    int regular = fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && pos >= 0;
    if (regular && (uintmax_t)(st.st_size - pos) != bytes)
        return MOT_ERROR(MOT_EINVAL, "%s: %s data: header says %zu bytes, file holds %jd",
                         path, (uintmax_t)(st.st_size - pos) < bytes ? "truncated" : "extra",
                         bytes, (intmax_t)(st.st_size - pos));
    /* The size of a pipe is not known in advance: its buffer grows with the
     * data that actually arrives, so a lying header costs no more memory. */
    size_t cap = regular || bytes < NPY_PIPE_CHUNK ? bytes : NPY_PIPE_CHUNK, have = 0;
    char *buf = malloc(cap > 0 ? cap : 1);
    if (!buf)
        return MOT_ERROR(MOT_ENOMEM, "%s: cannot allocate %zu bytes", path, cap);
    while ((have += fread(buf + have, 1, cap - have, fp)) == cap && cap < bytes) {
        cap = cap > bytes / 2 ? bytes : 2 * cap;
        char *more = realloc(buf, cap);
        if (!more) {
            free(buf);
            return MOT_ERROR(MOT_ENOMEM, "%s: cannot allocate %zu bytes", path, cap);
        }
        buf = more;
    }
    if (have != bytes || fgetc(fp) != EOF || ferror(fp)) {
        status = ferror(fp) ? MOT_ERROR(MOT_EIO, "cannot read %s: %s", path, strerror(errno))
               : feof(fp)   ? MOT_ERROR(MOT_EINVAL, "%s: truncated data", path)
                            : MOT_ERROR(MOT_EINVAL, "%s: extra data after the array", path);
        free(buf);
        return status;
    }
    *data = buf;
    return MOT_OK;
}

int mot_npy_read(const char *path, mot_npy_type type, int *ndim, size_t *shape,
                 void **data, size_t max_bytes)
{
    *data = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return MOT_ERROR(MOT_EIO, "cannot read %s: %s", path, strerror(errno));
    int status = npy_read_stream(fp, path, type, ndim, shape, data, max_bytes);
    fclose(fp);
    return status;
}
