/* Branch hints for the fast paths, for every layer of the library. */
#ifndef SHMGUARD_LIKELY_H
#define SHMGUARD_LIKELY_H

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif
