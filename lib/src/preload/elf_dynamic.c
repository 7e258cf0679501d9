/* Reading a loaded object's dynamic section (see elf_dynamic.h). */
#include "config.h"

#include <dlfcn.h>
#include <elf.h>
#include <string.h>

#include "elf_dynamic.h"

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

static const ElfW(Dyn) * object_dynamic(const struct dl_phdr_info *info)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) {
			return (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
		}
	}
	return NULL;
}

bool
elf_dynamic_read(const struct dl_phdr_info *info, struct elf_dynamic *dynamic)
{
	*dynamic = (struct elf_dynamic){0};
	const ElfW(Dyn) *section = object_dynamic(info);
	if (section == NULL) {
		return false;
	}
	ElfW(Addr) soname_offset = 0;
	bool has_soname = false;
	size_t plt_bytes = 0;
	size_t rela_bytes = 0;
	bool plt_is_rela = true;
	for (const ElfW(Dyn) *d = section; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB:
			dynamic->symbols = dyn_address(info, d->d_un.d_ptr);
			break;
		case DT_STRTAB:
			dynamic->strings = dyn_address(info, d->d_un.d_ptr);
			break;
		case DT_HASH:
			dynamic->symbol_count =
				((const uint32_t *)dyn_address(info, d->d_un.d_ptr))[1];
			break;
		case DT_GNU_HASH:
			dynamic->symbol_count =
				gnu_hash_symbol_count(dyn_address(info, d->d_un.d_ptr));
			break;
		case DT_JMPREL:
			dynamic->plt_relocations = dyn_address(info, d->d_un.d_ptr);
			break;
		case DT_PLTRELSZ:
			plt_bytes = d->d_un.d_val;
			break;
		case DT_RELA:
			dynamic->relocations = dyn_address(info, d->d_un.d_ptr);
			break;
		case DT_RELASZ:
			rela_bytes = d->d_un.d_val;
			break;
		case DT_SONAME:
			soname_offset = d->d_un.d_val;
			has_soname = true;
			break;
		case DT_PLTREL:
			plt_is_rela = d->d_un.d_val == DT_RELA;
			break;
		default:
			break;
		}
	}
	if (!plt_is_rela) {
		/* Not on x86-64 or AArch64; read as "no PLT slots". */
		dynamic->plt_relocations = NULL;
	}
	dynamic->plt_relocation_count =
		dynamic->plt_relocations != NULL ? plt_bytes / sizeof(ElfW(Rela)) : 0;
	dynamic->relocation_count =
		dynamic->relocations != NULL ? rela_bytes / sizeof(ElfW(Rela)) : 0;
	if (has_soname && dynamic->strings != NULL) {
		dynamic->soname = dynamic->strings + soname_offset;
	}
	return dynamic->symbols != NULL && dynamic->strings != NULL;
}

const char *
elf_dynamic_symbol_name(const struct elf_dynamic *dynamic, size_t index)
{
	return dynamic->strings + dynamic->symbols[index].st_name;
}

bool
elf_dynamic_defines_function(const struct elf_dynamic *dynamic, const char *name)
{
	for (size_t i = 0; i < dynamic->symbol_count; i++) {
		const ElfW(Sym) *symbol = &dynamic->symbols[i];
		if (symbol->st_shndx != SHN_UNDEF && ELF64_ST_TYPE(symbol->st_info) == STT_FUNC &&
			strcmp(elf_dynamic_symbol_name(dynamic, i), name) == 0) {
			return true;
		}
	}
	return false;
}

static bool
names_symbol(const struct elf_dynamic *dynamic, const ElfW(Rela) * relocations, size_t count,
	const char *name)
{
	for (size_t i = 0; i < count; i++) {
		size_t index = ELF64_R_SYM(relocations[i].r_info);
		if (index != 0 && strcmp(elf_dynamic_symbol_name(dynamic, index), name) == 0) {
			return true;
		}
	}
	return false;
}

bool
elf_dynamic_binds_by_name(const struct elf_dynamic *dynamic, const char *name)
{
	return names_symbol(
		       dynamic, dynamic->plt_relocations, dynamic->plt_relocation_count, name) ||
		names_symbol(dynamic, dynamic->relocations, dynamic->relocation_count, name);
}

const char *
elf_object_basename(const struct dl_phdr_info *info)
{
	if (info->dlpi_name == NULL) {
		return "";
	}
	const char *slash = strrchr(info->dlpi_name, '/');
	return slash != NULL ? slash + 1 : info->dlpi_name;
}

bool
elf_name_resolves_to(const char *name, const void *base)
{
	void *resolved = dlsym(RTLD_DEFAULT, name);
	Dl_info where;
	const ElfW(Sym) *symbol = NULL;
	if (resolved == NULL || dladdr1(resolved, &where, (void **)&symbol, RTLD_DL_SYMENT) == 0) {
		return false;
	}
	return where.dli_fbase == base || (symbol != NULL && symbol->st_shndx == SHN_UNDEF);
}
