/* clones.h: MOT_CLONES, for the hot loops of the fast step and of the
 * attention block. A function marked with it is compiled for AVX-512, AVX2
 * and the baseline, and the best the CPU has is picked at load time. None
 * of those loops reassociates a sum across vector lanes and the build has
 * no FMA contraction (-std=c11), so every clone gives the same bits.
 * Private to libmot and not installed. */
#ifndef MOT_CLONES_H
#define MOT_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define MOT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef MOT_CLONES
#define MOT_CLONES
#endif

#endif
