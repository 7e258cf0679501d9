/*
 * What a block device is, from sysfs alone: a disk on a bus, memory
 * (zram, brd), or something whose reads can wait on a file or a process
 * (loop, nbd, ublk, a SCSI target, another virtual device), following
 * device-mapper and md stacks down through slaves/ and partitions up to
 * their disk. sysfs attributes of block devices are kernel memory: reading
 * them never waits on the device.
 */
#ifndef SHMGUARD_BLOCK_DEVICE_H
#define SHMGUARD_BLOCK_DEVICE_H

#include <stdbool.h>
#include <stddef.h>

/* Kernel names of block devices are short ("nvme0n1p2", "dm-0"). */
#define BLOCK_DEVICE_NAME_SIZE 32

enum block_device_kind {
	/* A disk on a bus (PCI, USB, virtio, ...), or a stack of them. */
	BLOCK_DEVICE_DISK = 0,
	/* zram or a brd ram disk: the kernel's own memory. */
	BLOCK_DEVICE_MEMORY,
	/* Reads are reads of a file, which may be on FUSE. */
	BLOCK_DEVICE_LOOP,
	/* Reads are answered by a server process (nbd-client's peer). */
	BLOCK_DEVICE_NBD,
	/* Reads are answered by a user-space server (unprivileged since 6.5). */
	BLOCK_DEVICE_UBLK,
	/* A SCSI disk served by the kernel's target core (tcm_loop) or over
	 * iSCSI: its backing store can be a file or a user-space process. */
	BLOCK_DEVICE_SCSI_TARGET,
	/* Another virtual device with nothing stacked under it (vduse,
	 * NVMe over fabrics, null_blk, ...). */
	BLOCK_DEVICE_VIRTUAL,
	/* Not found in sysfs (no /sys, no such device, stack too deep). */
	BLOCK_DEVICE_UNKNOWN,
};

/* Name of a kind ("loop device", ...). */
const char *
block_device_kind_to_str(enum block_device_kind kind);

/* Whether page reads through a device of @p kind only wait on hardware or
 * the kernel: DISK and MEMORY. */
bool
block_device_kind_is_local(enum block_device_kind kind);

/* Classify device @p major:@p minor by the sysfs tree at @p sysfs ("/sys"):
 * every device under a stack must be local for the stack to be. Stores in
 * @p name the kernel name of the device that decided (the first one that
 * is not local, else the top one), "" if none was found. */
enum block_device_kind
block_device_classify(const char *sysfs, unsigned major, unsigned minor, char *name, size_t size);

/* Classify the devices of the btrfs file system mounted from @p source
 * (mountinfo's source: btrfs shows one member device's path there, and
 * its st_dev is an anonymous number that sysfs does not know). The
 * source must be /dev/NAME or /dev/mapper/NAME; every member listed in
 * /sys/fs/btrfs/UUID/devices/ is walked. */
enum block_device_kind
block_device_classify_btrfs(const char *sysfs, const char *source, char *name, size_t size);

#endif
