/* What the preloads read of a loaded object's dynamic section: its
 * exported symbols and the functions it calls through its PLT. Works on
 * the dynamic linker's view (dl_iterate_phdr()), never on files. */
#ifndef SHMGUARD_PRELOAD_ELF_DYNAMIC_H
#define SHMGUARD_PRELOAD_ELF_DYNAMIC_H

#include <link.h>
#include <stdbool.h>
#include <stddef.h>

struct elf_dynamic {
	const ElfW(Sym) * symbols;
	const char *strings;
	size_t symbol_count;
	const ElfW(Rela) * plt_relocations; /* DT_JMPREL; NULL without */
	size_t plt_relocation_count;
	const ElfW(Rela) * relocations; /* DT_RELA; NULL without */
	size_t relocation_count;
	const char *soname; /* DT_SONAME; NULL without */
};

/* Read @p info's dynamic section. Returns false if it has none, or no
 * symbol or string table. */
bool
elf_dynamic_read(const struct dl_phdr_info *info, struct elf_dynamic *dynamic);

/* The name of symbol @p index. */
const char *
elf_dynamic_symbol_name(const struct elf_dynamic *dynamic, size_t index);

/* Whether the object defines function @p name and exports it. */
bool
elf_dynamic_defines_function(const struct elf_dynamic *dynamic, const char *name);

/* Whether the object reaches function @p name through a slot the dynamic
 * linker fills by looking the name up (a PLT slot, or a GOT slot under
 * -fno-plt): the slot a preloaded definition takes over. False for calls
 * bound inside the object at link time (-Bsymbolic, -Bsymbolic-functions,
 * a hidden or protected symbol), which no preload can reach. */
bool
elf_dynamic_binds_by_name(const struct elf_dynamic *dynamic, const char *name);

/* Whether calls by @p name reach the object loaded at @p base: the symbol
 * the dynamic linker finds is that object's, or a PLT entry that an
 * executable built without PIE made canonical for the function's address
 * (it jumps to whatever the name resolves to). */
bool
elf_name_resolves_to(const char *name, const void *base);

/* The object's file name without its directory ("" for the executable). */
const char *
elf_object_basename(const struct dl_phdr_info *info);

#endif
