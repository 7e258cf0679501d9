/* Choosing how each direction of a mapping generation is made safe. */
#ifndef SHMGUARD_STRATEGY_H
#define SHMGUARD_STRATEGY_H

#include "shmguard/shmguard.h"

#include "file_facts.h"

/* Strategy for reading @p size bytes of a file with @p facts; @p why gets
 * a static sentence. */
enum shmguard_strategy
strategy_for_read(const struct file_facts *facts, uint64_t size, const char **why);

/* Strategy for writing (never nosigbus: the kernel offers it for private
 * mappings only). The caller has checked file_facts_write_refusal(). */
enum shmguard_strategy
strategy_for_write(const struct file_facts *facts, uint64_t size, const char **why);

#endif
