/* rng.h: named, seeded GSL random streams. Each source of randomness (the
 * signals, the training set, the test set, the initialization, the routing
 * noise, the mini-batch order) has its own stream derived from the run's seed
 * and the stream's name, so changing one knob (say n_test) does not reshuffle
 * unrelated draws (the training set, the initial theta). */
#ifndef MOT_RNG_H
#define MOT_RNG_H

#include <gsl/gsl_rng.h>

/* A Mersenne Twister (gsl_rng_mt19937) seeded from (seed, name) through a
 * SplitMix64 mix of the seed and a hash of the name. NULL on ENOMEM. Free
 * with gsl_rng_free. */
gsl_rng *mot_rng_alloc(unsigned long seed, const char *name);

#endif
