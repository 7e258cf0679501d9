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
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf_dynamic.h"
#include "interposition_check.h"
#include "preload_name.h"
#include "refusal.h"

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

#define die(...) preload_refuse(preload_name, __VA_ARGS__)

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

/* Die if the object exports a wl_shm function that is not provided. */
static void
check_exports(const struct dl_phdr_info *info)
{
	struct elf_dynamic dynamic;
	if (!elf_dynamic_read(info, &dynamic)) {
		return;
	}
	for (size_t i = 0; i < dynamic.symbol_count; i++) {
		const ElfW(Sym) *symbol = &dynamic.symbols[i];
		const char *name = elf_dynamic_symbol_name(&dynamic, i);
		if (symbol->st_shndx != SHN_UNDEF && ELF64_ST_TYPE(symbol->st_info) == STT_FUNC &&
			is_shm_api(name) && !is_provided(name)) {
			fprintf(stderr, "%s: %s exports it\n", preload_name, info->dlpi_name);
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
		if (!elf_name_resolves_to(provided[i], self.dli_fbase)) {
			die("the compositor's calls to %s do not reach libshmguard-preload "
			    "(it defines the function itself, e.g. a statically linked "
			    "libwayland-server, or the preload is not loaded first)",
				provided[i]);
		}
	}
}
