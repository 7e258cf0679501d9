/* The preload's name, which starts every line it writes to stderr
 * ("libshmguard-preload", "libshmguard-preload-wlroots-0.18"): defined
 * once in each preload object. */
#ifndef SHMGUARD_PRELOAD_NAME_H
#define SHMGUARD_PRELOAD_NAME_H

extern const char preload_name[];

#endif
