/*
 * Timing samples and their order statistics, for the benchmarks. The
 * machine is shared and noisy: every figure the benchmarks print is a
 * median, with the quartiles kept to say how much noise there was.
 */
#ifndef BENCH_SAMPLE_H
#define BENCH_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

/** Median and quartiles of a set of samples. */
struct sample_stats {
	double median;
	double q1;
	double q3;
};

/** Monotonic time in nanoseconds (clock_gettime through the vDSO: no system call). */
uint64_t
sample_now_ns(void);

/** Order statistics of @p count > 0 @p values, which are sorted in place. */
struct sample_stats
sample_stats_of(double *values, size_t count);

/* A memfd named @p name of @p size bytes of half-transparent, varied
 * 32-bit pixels (OVER has real work to do on them); -1 on failure. */
int
sample_pattern_memfd(const char *name, size_t size);

#endif
