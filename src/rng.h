/* rng.h: named, seeded GSL random streams. Each source of randomness (the
 * signals, the training set, the test set, the initialization, the routing
 * noise of each task of a step, the mini-batch order) has its own stream derived from the run's seed
 * and the stream's name, so changing one knob (say n_test) does not reshuffle
 * unrelated draws (the training set, the initial theta). */
#ifndef MOT_RNG_H
#define MOT_RNG_H

#include <gsl/gsl_rng.h>

/* A Mersenne Twister (gsl_rng_mt19937) seeded from (seed, name) through a
 * SplitMix64 mix of the seed and a hash of the name. NULL on ENOMEM. Free
 * with gsl_rng_free. */
gsl_rng *mot_rng_alloc(unsigned long seed, const char *name);

/* The same, with a generator of type T: the routing noise uses
 * gsl_rng_taus2, whose draws are the hot loop of a training step (about
 * 2.5 times faster than mt19937's here) and whose 24-byte state makes one
 * stream per task cheap. */
gsl_rng *mot_rng_alloc_type(const gsl_rng_type *T, unsigned long seed, const char *name);

#endif
