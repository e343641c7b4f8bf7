/* npy.h: NumPy .npy files (format version 1.0, little-endian, C order) for
 * float64 ("<f8") and int32 ("<i4") arrays: what numpy.load reads unchanged.
 * Reading validates the header completely and refuses arrays larger than a
 * caller-given bound before allocating anything. */
#ifndef MOT_NPY_H
#define MOT_NPY_H

#include <stddef.h>

#define MOT_NPY_MAX_DIM 8

typedef enum { MOT_NPY_F64, MOT_NPY_I32 } mot_npy_type;

/* Writes an array of `ndim` dimensions `shape` (C order) atomically
 * (mot_io_open/commit). Returns MOT_OK or MOT_EIO. */
int mot_npy_write(const char *path, mot_npy_type type, int ndim,
                  const size_t *shape, const void *data);

/* Reads `path`, which must hold an array of `type`, C order, little-endian.
 * On success *data is a malloc'd buffer the caller frees, *ndim and shape[]
 * (capacity MOT_NPY_MAX_DIM) describe it. Arrays of more than `max_bytes`
 * bytes are refused before allocation. Errors: MOT_EIO (cannot read),
 * MOT_EINVAL (bad magic, version, header, dtype, fortran order, shape,
 * truncated data, size over the bound), each with a message naming the file. */
int mot_npy_read(const char *path, mot_npy_type type, int *ndim, size_t *shape,
                 void **data, size_t max_bytes);

#endif
