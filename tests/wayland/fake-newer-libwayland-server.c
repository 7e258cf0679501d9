/*
 * Stand-ins for newer libwayland-servers (their file names say
 * libwayland-server.so), which test-preload-refusal dlopen()s. Each
 * exports the wl_shm API of libwayland 1.26, all fifteen functions of
 * which libshmguard-preload provides; built with FAKE_UNKNOWN_SHM_FUNCTION
 * it is a "1.27" that also exports one the preload does not know.
 */
#include <stddef.h>
#include <stdint.h>

struct wl_client;
struct wl_display;
struct wl_resource;
struct wl_shm_buffer;
struct wl_shm_pool;

#define FAKE_EXPORT __attribute__((visibility("default")))

/* Never called: only the dynamic symbol table matters. */
FAKE_EXPORT int
wl_display_init_shm(struct wl_display *display);
FAKE_EXPORT uint32_t *
wl_display_add_shm_format(struct wl_display *display, uint32_t format);
FAKE_EXPORT struct wl_shm_buffer *
wl_shm_buffer_get(struct wl_resource *resource);
FAKE_EXPORT struct wl_shm_buffer *
wl_shm_buffer_create(struct wl_client *client, uint32_t id, int32_t width, int32_t height,
	int32_t stride, uint32_t format);
FAKE_EXPORT void *
wl_shm_buffer_get_data(struct wl_shm_buffer *buffer);
FAKE_EXPORT int32_t
wl_shm_buffer_get_stride(struct wl_shm_buffer *buffer);
FAKE_EXPORT uint32_t
wl_shm_buffer_get_format(struct wl_shm_buffer *buffer);
FAKE_EXPORT int32_t
wl_shm_buffer_get_width(struct wl_shm_buffer *buffer);
FAKE_EXPORT int32_t
wl_shm_buffer_get_height(struct wl_shm_buffer *buffer);
FAKE_EXPORT void
wl_shm_buffer_begin_access(struct wl_shm_buffer *buffer);
FAKE_EXPORT void
wl_shm_buffer_end_access(struct wl_shm_buffer *buffer);
FAKE_EXPORT struct wl_shm_pool *
wl_shm_buffer_ref_pool(struct wl_shm_buffer *buffer);
FAKE_EXPORT void
wl_shm_pool_unref(struct wl_shm_pool *pool);
FAKE_EXPORT struct wl_shm_buffer *
wl_shm_buffer_ref(struct wl_shm_buffer *buffer);
FAKE_EXPORT void
wl_shm_buffer_unref(struct wl_shm_buffer *buffer);

int
wl_display_init_shm(struct wl_display *display)
{
	return -1;
}

uint32_t *
wl_display_add_shm_format(struct wl_display *display, uint32_t format)
{
	return NULL;
}

struct wl_shm_buffer *
wl_shm_buffer_get(struct wl_resource *resource)
{
	return NULL;
}

struct wl_shm_buffer *
wl_shm_buffer_create(struct wl_client *client, uint32_t id, int32_t width, int32_t height,
	int32_t stride, uint32_t format)
{
	return NULL;
}

void *
wl_shm_buffer_get_data(struct wl_shm_buffer *buffer)
{
	return NULL;
}

int32_t
wl_shm_buffer_get_stride(struct wl_shm_buffer *buffer)
{
	return 0;
}

uint32_t
wl_shm_buffer_get_format(struct wl_shm_buffer *buffer)
{
	return 0;
}

int32_t
wl_shm_buffer_get_width(struct wl_shm_buffer *buffer)
{
	return 0;
}

int32_t
wl_shm_buffer_get_height(struct wl_shm_buffer *buffer)
{
	return 0;
}

void
wl_shm_buffer_begin_access(struct wl_shm_buffer *buffer)
{
}

void
wl_shm_buffer_end_access(struct wl_shm_buffer *buffer)
{
}

struct wl_shm_pool *
wl_shm_buffer_ref_pool(struct wl_shm_buffer *buffer)
{
	return NULL;
}

void
wl_shm_pool_unref(struct wl_shm_pool *pool)
{
}

struct wl_shm_buffer *
wl_shm_buffer_ref(struct wl_shm_buffer *buffer)
{
	return buffer;
}

void
wl_shm_buffer_unref(struct wl_shm_buffer *buffer)
{
}

#ifdef FAKE_UNKNOWN_SHM_FUNCTION
/* A wl_shm function no libwayland has (yet): the preload must refuse. */
FAKE_EXPORT int64_t
wl_shm_buffer_get_pool_size(struct wl_shm_buffer *buffer);

int64_t
wl_shm_buffer_get_pool_size(struct wl_shm_buffer *buffer)
{
	return 0;
}
#endif
