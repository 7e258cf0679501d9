/*
 * Linux constants newer than some C libraries' headers: their kernel
 * values, for the probe to try (an older kernel refuses them, which is
 * what the probe finds out), and the flag of the never-merged
 * MAP_NOSIGBUS patch. One place, for the library and its tests.
 */
#ifndef SHMGUARD_LINUX_ABI_H
#define SHMGUARD_LINUX_ABI_H

#include <fcntl.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

/* Value of the never-merged MAP_NOSIGBUS flag in its last posted patch. */
#define SHMGUARD_MAP_NOSIGBUS 0x200000

#endif
