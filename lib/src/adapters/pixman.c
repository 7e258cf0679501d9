/* The pixman adapter: an image over a buffer's access window. */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include <pixman.h>

#include "shmguard/pixman.h"
#include "shmguard/wayland.h"

SHMGUARD_EXPORT pixman_image_t *
shmguard_pixman_image_begin(struct shmguard_buffer *buffer, enum shmguard_access_mode mode)
{
	const struct shmguard_format_info *info =
		shmguard_format_get_info(shmguard_buffer_get_format(buffer));
	if (info == NULL || info->pixman_format == 0) {
		errno = ENOTSUP;
		return NULL;
	}
	int32_t stride = shmguard_buffer_get_stride(buffer);
	if (stride % 4 != 0 || shmguard_buffer_get_offset(buffer) % 4 != 0) {
		errno = EINVAL;
		return NULL;
	}
	void *data;
	int ret = shmguard_buffer_begin_access(buffer, mode, &data);
	if (ret != 0) {
		errno = -ret;
		return NULL;
	}
	pixman_image_t *image = pixman_image_create_bits_no_clear(
		(pixman_format_code_t)info->pixman_format, shmguard_buffer_get_width(buffer),
		shmguard_buffer_get_height(buffer), data, stride);
	if (image == NULL) {
		shmguard_buffer_end_access(buffer, NULL);
		errno = ENOMEM;
		return NULL;
	}
	return image;
}

SHMGUARD_EXPORT bool
shmguard_pixman_image_end(
	struct shmguard_buffer *buffer, pixman_image_t *image, struct shmguard_fault_report *report)
{
	/* Unreferencing an image over foreign bits does not touch them. */
	pixman_image_unref(image);
	return shmguard_buffer_end_access(buffer, report);
}
