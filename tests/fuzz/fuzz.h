/* The libFuzzer entry point our targets define; replay.c calls it without
 * libFuzzer. */
#ifndef SHMGUARD_FUZZ_H
#define SHMGUARD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
