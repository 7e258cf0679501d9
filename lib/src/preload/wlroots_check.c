/*
 * The start-up check of libshmguard-preload-wlroots (see wlroots_check.h).
 * Everything is read from the dynamic linker's view of the loaded
 * objects: nothing is opened, nothing of wlroots is called.
 */
#include "config.h"

#include <dlfcn.h>
#include <link.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <wlr/version.h>

#include "elf_dynamic.h"
#include "preload_name.h"
#include "refusal.h"
#include "wlroots_check.h"

#define STRINGIFY(x) #x
#define EXPAND_STRINGIFY(x) STRINGIFY(x)
#define WLROOTS_MINOR EXPAND_STRINGIFY(WLR_VERSION_MINOR)

/* With the wlroots minor it was built for. */
const char preload_name[] = "libshmguard-preload-wlroots-0." WLROOTS_MINOR;

/* The soname of the wlroots built against: one per minor release since
 * 0.16 (libwlroots-0.MINOR.so). */
static const char built_soname[] = "libwlroots-0." WLROOTS_MINOR ".so";

/* The functions the preload defines in wlroots' place. */
static const char *const replaced[] = {
	"wlr_shm_create",
	"wlr_shm_create_with_renderer",
};

#define die(...) preload_refuse(preload_name, __VA_ARGS__)

/* wlroots by its soname, or by its file name if it has none. */
static bool
is_wlroots(const struct elf_dynamic *dynamic, const char *file_name)
{
	const char *name = dynamic->soname != NULL ? dynamic->soname : file_name;
	return strncmp(name, "libwlroots", strlen("libwlroots")) == 0;
}

static void
check_wlroots(const struct dl_phdr_info *info, const struct elf_dynamic *dynamic)
{
	if (dynamic->soname == NULL || strcmp(dynamic->soname, built_soname) != 0) {
		die("this process runs %s (soname %s), and this preload was built for wlroots "
		    "0.%s (%s): preload the libshmguard-preload-wlroots built against the "
		    "process's wlroots",
			info->dlpi_name, dynamic->soname != NULL ? dynamic->soname : "none",
			WLROOTS_MINOR, built_soname);
	}
	for (size_t i = 0; i < sizeof(replaced) / sizeof(replaced[0]); i++) {
		if (!elf_dynamic_defines_function(dynamic, replaced[i])) {
			die("%s does not define %s: not the wlroots this preload was built for",
				info->dlpi_name, replaced[i]);
		}
	}
	if (!elf_dynamic_binds_by_name(dynamic, "wlr_shm_create_with_renderer")) {
		die("%s calls wlr_shm_create_with_renderer without looking the name up "
		    "(it was linked with -Bsymbolic or -Bsymbolic-functions): "
		    "wlr_renderer_init_wl_shm() would make wlroots' own wl_shm",
			info->dlpi_name);
	}
}

static int
visit_object(struct dl_phdr_info *info, size_t size, void *data)
{
	bool *found = data;
	struct elf_dynamic dynamic;
	if (elf_dynamic_read(info, &dynamic) && is_wlroots(&dynamic, elf_object_basename(info))) {
		check_wlroots(info, &dynamic);
		*found = true;
	}
	return 0;
}

void
wlroots_check_or_die(void)
{
	bool found = false;
	dl_iterate_phdr(visit_object, &found);
	if (!found) {
		return;
	}
	Dl_info self;
	/* Any address inside the preload names its object. */
	if (dladdr(replaced, &self) == 0) {
		die("%s: cannot find the preload's own object", "dladdr");
	}
	for (size_t i = 0; i < sizeof(replaced) / sizeof(replaced[0]); i++) {
		if (!elf_name_resolves_to(replaced[i], self.dli_fbase)) {
			die("the process's calls to %s do not reach this preload "
			    "(it is not loaded first, or the compositor defines the function)",
				replaced[i]);
		}
	}
}
