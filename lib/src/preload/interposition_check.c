/*
 * The interposition check: every wl_shm function the compositor can call
 * must be ours. Runs when the compositor calls wl_display_init_shm(), and
 * only then: every process that loads libwayland-server inherits
 * LD_PRELOAD from the compositor that started it (Xwayland and browsers
 * through libgbm, which needs it), and none of them may be refused or
 * slowed down for what it links.
 */
#include "config.h"

#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interposition_check.h"

/* libwayland-server's wl_shm API, 1.21 to 1.26 (wl_shm_buffer_ref and
 * _unref since 1.24), every function of which the preload defines. */
static const char *const provided[] = {
	"wl_display_init_shm",
	"wl_display_add_shm_format",
	"wl_shm_buffer_get",
	"wl_shm_buffer_create",
	"wl_shm_buffer_get_data",
	"wl_shm_buffer_get_stride",
	"wl_shm_buffer_get_format",
	"wl_shm_buffer_get_width",
	"wl_shm_buffer_get_height",
	"wl_shm_buffer_begin_access",
	"wl_shm_buffer_end_access",
	"wl_shm_buffer_ref_pool",
	"wl_shm_pool_unref",
	"wl_shm_buffer_ref",
	"wl_shm_buffer_unref",
};

#define N_PROVIDED (sizeof(provided) / sizeof(provided[0]))

static _Noreturn __attribute__((format(printf, 1, 2))) void
die(const char *format, ...)
{
	va_list args;
	va_start(args, format);
	fprintf(stderr, "libshmguard-preload: refusing to run: ");
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
	va_end(args);
	fflush(stderr);
	_exit(EXIT_FAILURE);
}

static bool
is_provided(const char *name)
{
	for (size_t i = 0; i < N_PROVIDED; i++) {
		if (strcmp(name, provided[i]) == 0) {
			return true;
		}
	}
	return false;
}

/* A function of libwayland's wl_shm API, by name. */
static bool
is_shm_api(const char *name)
{
	return strncmp(name, "wl_shm_", 7) == 0 ||
		(strncmp(name, "wl_display_", 11) == 0 && strstr(name, "_shm") != NULL);
}

/* A dynamic-section address: glibc relocates most of them in place. */
static const void *
dyn_address(const struct dl_phdr_info *info, ElfW(Addr) value)
{
	return (const void *)(value < info->dlpi_addr ? value + info->dlpi_addr : value);
}

/* Number of symbols in a DT_GNU_HASH table: past the last chain's end. */
static size_t
gnu_hash_symbol_count(const uint32_t *table)
{
	uint32_t nbuckets = table[0];
	uint32_t symoffset = table[1];
	uint32_t bloom_size = table[2];
	const uint32_t *buckets = (const uint32_t *)((const ElfW(Addr) *)(table + 4) + bloom_size);
	const uint32_t *chains = buckets + nbuckets;
	uint32_t last = 0;
	for (uint32_t i = 0; i < nbuckets; i++) {
		if (buckets[i] > last) {
			last = buckets[i];
		}
	}
	if (last < symoffset) {
		return symoffset;
	}
	while ((chains[last - symoffset] & 1u) == 0) {
		last++;
	}
	return last + 1;
}

/* The object's dynamic section, or NULL. */
static const ElfW(Dyn) * object_dynamic(const struct dl_phdr_info *info)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) {
			return (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
		}
	}
	return NULL;
}

/* Die if the object exports a wl_shm function that is not provided. */
static void
check_exports(const struct dl_phdr_info *info)
{
	const ElfW(Dyn) *dynamic = object_dynamic(info);
	if (dynamic == NULL) {
		return;
	}
	const ElfW(Sym) *symbols = NULL;
	const char *strings = NULL;
	size_t count = 0;
	for (const ElfW(Dyn) *d = dynamic; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB:
			symbols = dyn_address(info, d->d_un.d_ptr);
			break;
		case DT_STRTAB:
			strings = dyn_address(info, d->d_un.d_ptr);
			break;
		case DT_HASH:
			count = ((const uint32_t *)dyn_address(info, d->d_un.d_ptr))[1];
			break;
		case DT_GNU_HASH:
			count = gnu_hash_symbol_count(dyn_address(info, d->d_un.d_ptr));
			break;
		default:
			break;
		}
	}
	if (symbols == NULL || strings == NULL) {
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const ElfW(Sym) *symbol = &symbols[i];
		const char *name = strings + symbol->st_name;
		if (symbol->st_shndx != SHN_UNDEF && ELF64_ST_TYPE(symbol->st_info) == STT_FUNC &&
			is_shm_api(name) && !is_provided(name)) {
			fprintf(stderr, "libshmguard-preload: %s exports it\n", info->dlpi_name);
			die("libwayland-server has %s, which libshmguard-preload does not "
			    "provide: a compositor calling it would hand libwayland a buffer "
			    "that is libshmguard's",
				name);
		}
	}
}

static bool
is_libwayland_server(const struct dl_phdr_info *info)
{
	return info->dlpi_name != NULL && strstr(info->dlpi_name, "libwayland-server.so") != NULL;
}

static int
check_libwayland_server(struct dl_phdr_info *info, size_t size, void *data)
{
	if (is_libwayland_server(info)) {
		check_exports(info);
	}
	return 0;
}

/* Whether the compositor's calls to @p name reach the preload: the symbol
 * the dynamic linker finds is ours, or a PLT entry that an executable
 * built without PIE made canonical for the function's address (it jumps
 * to whatever the name resolves to: ours). */
static bool
reaches_preload(const char *name, const Dl_info *self)
{
	void *resolved = dlsym(RTLD_DEFAULT, name);
	Dl_info where;
	const ElfW(Sym) *symbol = NULL;
	if (resolved == NULL || dladdr1(resolved, &where, (void **)&symbol, RTLD_DL_SYMENT) == 0) {
		return false;
	}
	return where.dli_fbase == self->dli_fbase ||
		(symbol != NULL && symbol->st_shndx == SHN_UNDEF);
}

void
interposition_check_or_die(void)
{
	Dl_info self;
	/* Any address inside the preload names its object. */
	if (dladdr(provided, &self) == 0) {
		die("%s: cannot find the preload's own object", "dladdr");
	}
	dl_iterate_phdr(check_libwayland_server, NULL);
	for (size_t i = 0; i < N_PROVIDED; i++) {
		if (!reaches_preload(provided[i], &self)) {
			die("the compositor's calls to %s do not reach libshmguard-preload "
			    "(it defines the function itself, e.g. a statically linked "
			    "libwayland-server, or the preload is not loaded first)",
				provided[i]);
		}
	}
}
