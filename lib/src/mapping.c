/* Mapping generations: creation, lazy write mappings, retirement. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shmguard/shmguard.h"

#include "budget.h"
#include "log.h"
#include "mapping.h"
#include "strategy.h"

/* Whether mappings with @p page_size (file_facts) are of huge pages. */
static bool
huge_pages(uint64_t page_size)
{
	return page_size > (uint64_t)sysconf(_SC_PAGESIZE);
}

/*
 * The length a mapping of @p size bytes really takes, for munmap() and the
 * budget: a hugetlbfs mapping is rounded up to whole huge pages by the
 * kernel, and munmap() of a shorter length would have to split a huge page
 * (EINVAL: nothing is unmapped). Base-page mappings count their size, as
 * they always have (munmap() rounds those itself).
 */
static uint64_t
mapped_length(uint64_t size, uint64_t page_size)
{
	if (!huge_pages(page_size)) {
		return size;
	}
	return (size + page_size - 1) & ~(page_size - 1);
}

static uint64_t
generation_mapped_length(const struct generation *generation)
{
	return mapped_length(generation->size, generation->region.page_size);
}

static pthread_mutex_t retired_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t write_map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct generation *retired_list;
static unsigned retired_count;

static void *
map_read(int fd, uint64_t size, enum shmguard_strategy strategy)
{
	if (strategy == SHMGUARD_STRATEGY_NOSIGBUS) {
		return mmap(NULL, size, PROT_READ, MAP_PRIVATE | SHMGUARD_MAP_NOSIGBUS, fd, 0);
	}
	return mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
}

/* A writable view: shared where the client's fd allows writes (never
 * nosigbus then: the kernel offers it for private mappings only), else a
 * private copy-on-write mapping. */
static void *
map_view(int fd, uint64_t size, bool shared, enum shmguard_strategy strategy)
{
	int flags = shared ? MAP_SHARED : MAP_PRIVATE;
	if (strategy == SHMGUARD_STRATEGY_NOSIGBUS) {
		flags |= SHMGUARD_MAP_NOSIGBUS;
	}
	return mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);
}

static enum shmguard_strategy
view_strategy(const struct file_facts *facts, uint64_t size, bool shared)
{
	enum shmguard_strategy strategy = strategy_for_read(facts, size, NULL);
	if (shared && strategy == SHMGUARD_STRATEGY_NOSIGBUS) {
		strategy = SHMGUARD_STRATEGY_GUARD;
	}
	return strategy;
}

static void *
map_generation(int fd, uint64_t size, const struct generation *generation, bool shared)
{
	if (generation->writable_view) {
		return map_view(fd, size, shared, generation->read_strategy);
	}
	return map_read(fd, size, generation->read_strategy);
}

struct generation *
generation_create(int fd, uint64_t size, const struct file_facts *facts,
	struct shmguard_budget *budget, bool writable_view, enum shmguard_pool_error *error)
{
	if (size == 0 || size > (uint64_t)PTRDIFF_MAX) {
		*error = SHMGUARD_POOL_ERROR_BAD_SIZE;
		return NULL;
	}
	if (facts->size < size) {
		*error = SHMGUARD_POOL_ERROR_FILE_TOO_SHORT;
		return NULL;
	}
	if (guard_init() != 0) {
		*error = SHMGUARD_POOL_ERROR_NO_MEMORY;
		return NULL;
	}
	struct generation *generation = calloc(1, sizeof(*generation));
	if (generation == NULL) {
		*error = SHMGUARD_POOL_ERROR_NO_MEMORY;
		return NULL;
	}
	uint64_t charged = mapped_length(size, facts->page_size);
	*error = budget_charge_mapping(budget, charged);
	if (*error != SHMGUARD_POOL_OK) {
		goto err_free;
	}

	bool shared = file_facts_write_refusal(facts) == SHMGUARD_POOL_OK;
	generation->writable_view = writable_view;
	generation->read_strategy = writable_view ? view_strategy(facts, size, shared)
						  : strategy_for_read(facts, size, NULL);
	void *base = map_generation(fd, size, generation, shared);
	if (base == MAP_FAILED && generation->read_strategy == SHMGUARD_STRATEGY_NOSIGBUS) {
		/* The probe said yes but this file says no: guard it. */
		generation->read_strategy = SHMGUARD_STRATEGY_GUARD;
		base = map_generation(fd, size, generation, shared);
	}
	if (base == MAP_FAILED) {
		log_client_message(SHMGUARD_LOG_DEBUG, "mmap of %llu bytes failed: %s",
			(unsigned long long)size, strerror(errno));
		*error = errno == ENOMEM ? SHMGUARD_POOL_ERROR_NO_MEMORY
					 : SHMGUARD_POOL_ERROR_UNMAPPABLE;
		goto err_release;
	}

	generation->region.read_start = (uintptr_t)base;
	generation->region.length = size;
	generation->region.page_size = facts->page_size;
	generation->region.read_prot = writable_view ? PROT_READ | PROT_WRITE : PROT_READ;
	generation->region.fd = fd;
	atomic_init(&generation->region.notify_fd, -1);
	generation->size = size;
	generation->budget = budget;
	generation->write_refusal = file_facts_write_refusal(facts);
	generation->write_strategy = strategy_for_write(facts, size, NULL);
	return generation;

err_release:
	budget_release_mapping(budget, charged);
err_free:
	free(generation);
	return NULL;
}

int
generation_map_write(struct generation *generation, uint8_t **base)
{
	uintptr_t start =
		atomic_load_explicit(&generation->region.write_start, memory_order_acquire);
	if (start != 0) {
		*base = (uint8_t *)start;
		return 0;
	}
	if (generation->write_refusal == SHMGUARD_POOL_ERROR_READ_ONLY_FD) {
		return -EACCES;
	}
	if (generation->write_refusal != SHMGUARD_POOL_OK) {
		return -EPERM;
	}

	int ret = 0;
	pthread_mutex_lock(&write_map_lock);
	start = atomic_load_explicit(&generation->region.write_start, memory_order_relaxed);
	if (start != 0) {
		goto out;
	}
	uint64_t charged = generation_mapped_length(generation);
	if (budget_charge_mapping(generation->budget, charged) != SHMGUARD_POOL_OK) {
		ret = -ENOSPC;
		goto out;
	}
	void *mapped = mmap(NULL, generation->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		generation->region.fd, 0);
	if (mapped == MAP_FAILED) {
		ret = errno == EPERM || errno == EACCES ? -EPERM : -ENOMEM;
		budget_release_mapping(generation->budget, charged);
		goto out;
	}
	start = (uintptr_t)mapped;
	atomic_store_explicit(&generation->region.write_start, start, memory_order_release);
out:
	pthread_mutex_unlock(&write_map_lock);
	*base = (uint8_t *)start;
	return ret;
}

bool
generation_grow(struct generation *generation, uint64_t size, const struct file_facts *facts)
{
	/* A nosigbus mapping may hold stale zero pages, a faulted one zero
	 * pages of our own, a write mapping would need moving too, and a
	 * pinned one or a writable view has its address handed out, and the
	 * kernel refuses to grow a hugetlbfs mapping (mremap: EINVAL): all of
	 * those get a fresh generation. */
	if (generation->read_strategy == SHMGUARD_STRATEGY_NOSIGBUS ||
		huge_pages(generation->region.page_size) || huge_pages(facts->page_size) ||
		strategy_for_read(facts, size, NULL) == SHMGUARD_STRATEGY_NOSIGBUS ||
		atomic_load(&generation->region.first_fault) != 0 ||
		atomic_load(&generation->region.remaps) != 0 ||
		atomic_load(&generation->region.write_start) != 0 ||
		atomic_load(&generation->pins) != 0 || generation->writable_view ||
		size > (uint64_t)PTRDIFF_MAX || facts->size < size) {
		return false;
	}
	uint64_t extra = size - generation->size;
	if (budget_charge_bytes(generation->budget, extra) != SHMGUARD_POOL_OK) {
		return false;
	}
	bool grown = false;
	if (guard_scan_begin_alone() && !guard_region_referenced(&generation->region)) {
		/* No window anywhere can be on this mapping, and none can open
		 * while we hold the registry: moving it is invisible. mremap
		 * keeps the pages already faulted in, where a fresh mapping
		 * plus munmap would tear them down (milliseconds at 64 MiB). */
		void *moved = mremap((void *)generation->region.read_start, generation->size, size,
			MREMAP_MAYMOVE);
		if (moved != MAP_FAILED) {
			generation->region.read_start = (uintptr_t)moved;
			generation->region.length = size;
			generation->size = size;
			generation->read_strategy = strategy_for_read(facts, size, NULL);
			generation->write_strategy = strategy_for_write(facts, size, NULL);
			generation->write_refusal = file_facts_write_refusal(facts);
			grown = true;
		}
	}
	guard_scan_end();
	if (!grown) {
		budget_release_bytes(generation->budget, extra);
	}
	return grown;
}

static void
generation_unmap(struct generation *generation)
{
	uint64_t length = generation_mapped_length(generation);
	munmap((void *)generation->region.read_start, length);
	budget_release_mapping(generation->budget, length);
	uintptr_t write_start = atomic_load(&generation->region.write_start);
	if (write_start != 0) {
		munmap((void *)write_start, length);
		budget_release_mapping(generation->budget, length);
	}
	if (generation->on_unmapped != NULL) {
		generation->on_unmapped(generation->owner);
	}
	free(generation);
}

void
generation_retire(struct generation *generation)
{
	atomic_store(&generation->retired, true);
	pthread_mutex_lock(&retired_lock);
	generation->next_retired = retired_list;
	retired_list = generation;
	retired_count++;
	pthread_mutex_unlock(&retired_lock);
	/* Windows that close after this see a new epoch and reclaim. */
	atomic_fetch_add(&guard_retire_epoch, 1);
	generation_reclaim();
}

void
generation_reclaim(void)
{
	struct generation *unmap = NULL;

	pthread_mutex_lock(&retired_lock);
	if (retired_list != NULL) {
		guard_scan_begin();
		struct generation **link = &retired_list;
		while (*link != NULL) {
			struct generation *generation = *link;
			if (atomic_load(&generation->pins) != 0 ||
				guard_region_referenced(&generation->region)) {
				link = &generation->next_retired;
				continue;
			}
			*link = generation->next_retired;
			retired_count--;
			generation->next_retired = unmap;
			unmap = generation;
		}
		guard_scan_end();
	}
	pthread_mutex_unlock(&retired_lock);

	while (unmap != NULL) {
		struct generation *next = unmap->next_retired;
		generation_unmap(unmap);
		unmap = next;
	}
}

void
generation_pin(struct generation *generation)
{
	atomic_fetch_add(&generation->pins, 1);
}

void
generation_unpin(struct generation *generation)
{
	if (atomic_fetch_sub(&generation->pins, 1) == 1 && atomic_load(&generation->retired)) {
		/* Retired and maybe waiting only for this. A window open on it
		 * now (on any thread, opened after the retirement) keeps it
		 * from this reclaim; a new epoch makes that window reclaim when
		 * it closes, as after a retirement. Bumped before the scan, so
		 * either the scan sees the window closed or the close sees the
		 * new epoch (see guard_scan_begin()). */
		atomic_fetch_add(&guard_retire_epoch, 1);
		generation_reclaim();
	}
}

unsigned
generation_retired_count(void)
{
	pthread_mutex_lock(&retired_lock);
	unsigned count = retired_count;
	pthread_mutex_unlock(&retired_lock);
	return count;
}
