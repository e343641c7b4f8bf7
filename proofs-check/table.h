/* table.h: a CSV file of a run read back as a table of doubles with named
 * columns, for the checkers. Reads only what the recorder writes: a header
 * line of column names, then rows of numbers (empty, "nan" and "inf" fields
 * read as NaN/inf). Not a general CSV parser: no quoting. */
#ifndef MOT_TABLE_H
#define MOT_TABLE_H

#include <stddef.h>

typedef struct {
    size_t rows, cols;
    char **names;   /* (cols) column names */
    double *v;      /* (rows, cols) values, row-major */
} mot_table;

/* Reads path. NULL with a message (MOT_EIO, or MOT_EINVAL naming the line of
 * a malformed row) on failure. */
mot_table *mot_table_read(const char *path);
void mot_table_free(mot_table *t);

/* Index of column `name`, or -1. */
int mot_table_col(const mot_table *t, const char *name);

/* Value at (row, col). */
static inline double mot_table_at(const mot_table *t, size_t row, int col)
{
    return t->v[row * t->cols + (size_t)col];
}

#endif
