/* rng.c: see rng.h. The mix is only a seed derivation; the random numbers
 * themselves come from GSL's generator. */
#include "rng.h"

#include <stdint.h>

#include "status.h"

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* FNV-1a: a fixed, portable hash of the stream name. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

gsl_rng *mot_rng_alloc(unsigned long seed, const char *name)
{
    return mot_rng_alloc_type(gsl_rng_mt19937, seed, name);
}

gsl_rng *mot_rng_alloc_type(const gsl_rng_type *T, unsigned long seed, const char *name)
{
    gsl_rng *r = gsl_rng_alloc(T);
    if (!r) {
        MOT_ERROR(MOT_ENOMEM, "cannot allocate random stream %s", name);
        return NULL;
    }
    uint64_t s = splitmix64(splitmix64((uint64_t)seed) ^ name_hash(name));
    /* mt19937 and taus2 take 32 bits of seed; fold the 64-bit mix into them. */
    gsl_rng_set(r, (unsigned long)((s ^ (s >> 32)) & 0xffffffffUL));
    return r;
}
