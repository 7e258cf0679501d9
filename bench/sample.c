/* Timing samples and their order statistics, and the pixels benchmarks read. */
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "sample.h"

uint64_t
sample_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The @p fraction quantile of sorted @p values, interpolated linearly. */
static double
quantile(const double *values, size_t count, double fraction)
{
	double position = fraction * (double)(count - 1);
	size_t below = (size_t)position;
	if (below + 1 >= count) {
		return values[count - 1];
	}
	double weight = position - (double)below;
	return values[below] * (1.0 - weight) + values[below + 1] * weight;
}

struct sample_stats
sample_stats_of(double *values, size_t count)
{
	qsort(values, count, sizeof(values[0]), compare_doubles);
	struct sample_stats stats = {
		.median = quantile(values, count, 0.5),
		.q1 = quantile(values, count, 0.25),
		.q3 = quantile(values, count, 0.75),
	};
	return stats;
}

int
sample_pattern_memfd(const char *name, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0) {
		return -1;
	}
	uint32_t *pixels = ftruncate(fd, (off_t)size) == 0
		? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
		: MAP_FAILED;
	if (pixels == MAP_FAILED) {
		close(fd);
		return -1;
	}
	for (size_t i = 0; i < size / 4; i++) {
		pixels[i] = 0x80000000u | (uint32_t)(i * 2654435761u >> 8);
	}
	munmap(pixels, size);
	return fd;
}
