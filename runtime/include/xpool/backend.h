/*
 * xpool backend plugin ABI.
 *
 * A backend is a shared library named libxpool_backend_<name>.so that
 * exports one C function, XPB_ENTRY_POINT, which fills an xpbBackend table.
 * The runtime owns the pool-wide view (device ordinals, the pointer table,
 * cross-device staging, cross-backend event waits); a backend only has to
 * drive its own devices. docs/backend-abi.md explains every entry.
 *
 * Versioning: the table starts with its size. It only grows; new entries go
 * at the end and are optional, so a plugin built against an older header
 * keeps loading (the runtime sees the missing entries as NULL). A change that
 * breaks old plugins bumps XPB_ABI_MAJOR and the runtime refuses plugins of
 * another major version, naming both versions.
 *
 * A backend must not link its vendor library: it opens it with dlopen at
 * init and reports XP_ERROR_NO_DEVICE with the library name when it cannot.
 */
#ifndef XPOOL_BACKEND_H
#define XPOOL_BACKEND_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "xpool/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XPB_ABI_MAJOR 1u
#define XPB_ABI_MINOR 2u
#define XPB_ENTRY_POINT "xpoolBackendGetTable"

/* Returned by optional operations to ask the runtime for its generic path
 * (host staging, host-side waits) instead of a native one. */
#define XPB_FALLBACK ((xpStatus)1000)

/* Opaque objects; each backend defines them. */
typedef struct xpbContext xpbContext; /* one per loaded backend */
typedef struct xpbStream xpbStream;
typedef struct xpbEvent xpbEvent;
typedef struct xpbModule xpbModule;
typedef struct xpbKernel xpbKernel;

typedef enum xpbLogLevel {
  XPB_LOG_TRACE = 0,
  XPB_LOG_DEBUG = 1,
  XPB_LOG_INFO = 2,
  XPB_LOG_WARN = 3,
  XPB_LOG_ERROR = 4
} xpbLogLevel;

/* Services the runtime offers every backend. Valid from init to shutdown. */
typedef struct xpbHostApi {
  size_t struct_size;
  /* Sets the calling thread's last-error message; returns `status`. */
  xpStatus (*set_error)(xpStatus status, const char *message);
  /* Logs through the runtime's logger for `component` (e.g. "opencl"). */
  void (*log)(xpbLogLevel level, const char *component, const char *message);
  /* Maps a pool pointer to the backend buffer handle holding it. Returns 0
   * and fills the outputs when `ptr` lies inside an xpool allocation. */
  int (*resolve)(const void *ptr, void **buffer, size_t *offset, size_t *allocation_bytes);
} xpbHostApi;

/* What mem_alloc returns. */
typedef struct xpbAllocation {
  void *buffer;  /* the backend's own handle (cl_mem, CUdeviceptr, a pointer) */
  void *address; /* the allocation's address when the device has a pointer
                    space the host shares (CPU, CUDA UVA); NULL asks the
                    runtime to reserve a unique address range for it */
} xpbAllocation;

/* One side of a copy. Exactly one of these holds:
 *  - buffer != NULL: memory of the stream's device, `offset` bytes into the
 *    allocation `buffer`; `host` is its host address when the device is
 *    host-addressable, else NULL;
 *  - buffer == NULL: host memory at `host` (pinned or pageable). */
typedef struct xpbMemRef {
  void *buffer;
  size_t offset;
  void *host;
} xpbMemRef;

typedef struct xpbBackend {
  size_t struct_size;
  uint32_t abi_major, abi_minor;
  const char *name; /* "cpu", "opencl", ...: must match the file name */

  /* ---- lifecycle (required) ---- */
  /* Opens the vendor library and enumerates devices. When the backend cannot
   * serve, returns XP_ERROR_NO_DEVICE (or another code) after set_error with
   * a reason a person can act on ("libOpenCL.so.1 not found"). */
  xpStatus (*init)(const xpbHostApi *host, xpbContext **ctx);
  void (*shutdown)(xpbContext *ctx);
  /* Vendor stack version for display, e.g. "OpenCL 3.0 PoCL 3.1"; may be "". */
  const char *(*vendor_version)(xpbContext *ctx);

  /* ---- devices (required) ---- */
  int (*device_count)(xpbContext *ctx);
  /* Fills everything but the pool fields (device, backend_index,
   * memory_allocated), which the runtime sets. */
  xpStatus (*device_props)(xpbContext *ctx, int device, xpDeviceProps *props);
  xpStatus (*mem_info)(xpbContext *ctx, int device, uint64_t *free_bytes, uint64_t *total_bytes);

  /* ---- memory (required) ---- */
  xpStatus (*mem_alloc)(xpbContext *ctx, int device, size_t bytes, xpbAllocation *out);
  xpStatus (*mem_free)(xpbContext *ctx, int device, void *buffer);

  /* ---- streams (required) ---- */
  xpStatus (*stream_create)(xpbContext *ctx, int device, xpbStream **stream);
  /* Called after the runtime has synchronised the stream. */
  xpStatus (*stream_destroy)(xpbStream *stream);
  /* Waits for all enqueued work; returns XP_ERROR_TIMEOUT after timeout_ns.
   * Returns (and clears) the first error of asynchronous work. */
  xpStatus (*stream_synchronize)(xpbStream *stream, uint64_t timeout_ns);
  /* XP_SUCCESS when idle, XP_ERROR_NOT_READY when not. */
  xpStatus (*stream_query)(xpbStream *stream);
  /* Stream-ordered copy; see xpbMemRef for what each side may be. bytes > 0. */
  xpStatus (*memcpy_async)(xpbStream *stream, xpbMemRef dst, xpbMemRef src, size_t bytes);
  /* Stream-ordered fill of `bytes` bytes with (unsigned char)value. */
  xpStatus (*memset_async)(xpbStream *stream, xpbMemRef dst, int value, size_t bytes);
  /* Runs fn(user_data) on a thread of the backend's (never a vendor callback
   * thread that other work depends on) after earlier work; later work waits
   * for its return. fn may block: the runtime uses it for cross-backend
   * waits and staged copies. */
  xpStatus (*launch_host_func)(xpbStream *stream, xpHostFn fn, void *user_data);

  /* ---- events (required) ---- */
  xpStatus (*event_create)(xpbContext *ctx, int device, unsigned flags, xpbEvent **event);
  xpStatus (*event_destroy)(xpbEvent *event);
  /* The stream is on the event's device. */
  xpStatus (*event_record)(xpbEvent *event, xpbStream *stream);
  /* XP_SUCCESS when complete or never recorded, XP_ERROR_NOT_READY when not. */
  xpStatus (*event_query)(xpbEvent *event);
  xpStatus (*event_synchronize)(xpbEvent *event, uint64_t timeout_ns);
  xpStatus (*event_elapsed)(xpbEvent *start, xpbEvent *end, float *ms);
  /* Later work on `stream` waits for `event` (same backend, maybe another
   * device). May return XPB_FALLBACK: the runtime then enqueues a host
   * function that waits for the event. */
  xpStatus (*stream_wait_event)(xpbStream *stream, xpbEvent *event);

  /* ---- modules and kernels (required; may answer XP_ERROR_NOT_SUPPORTED) */
  xpStatus (*module_load)(xpbContext *ctx, int device, xpModuleFormat format, const void *data,
                          size_t bytes, const char *options, xpbModule **module);
  /* Frees the module and every kernel taken from it. */
  xpStatus (*module_unload)(xpbModule *module);
  xpStatus (*kernel_get)(xpbModule *module, const char *name, xpbKernel **kernel);
  /* Pointer arguments hold pool addresses; a backend whose buffers are not
   * addresses maps them with host->resolve. */
  xpStatus (*kernel_launch)(xpbStream *stream, xpbKernel *kernel, xpDim3 grid, xpDim3 block,
                            size_t shared_bytes, void *const *args, const size_t *arg_sizes,
                            int num_args);

  /* ---- optional (NULL when absent) ---- */
  /* Pins and registers host memory for fast transfers. */
  xpStatus (*host_register)(xpbContext *ctx, void *ptr, size_t bytes);
  xpStatus (*host_unregister)(xpbContext *ctx, void *ptr);
  /* Copy between two devices of this backend. XPB_FALLBACK: runtime stages. */
  xpStatus (*memcpy_peer_async)(xpbStream *stream, int dst_device, xpbMemRef dst, int src_device,
                                xpbMemRef src, size_t bytes);

  /* ---- optional, ABI 1.1 (NULL when absent) ---- */
  /* The stream's native handles (see xpNativeStream); NULL or XP_ERROR_NOT_SUPPORTED when it has
   * none. Work enqueued on the native stream is ordered with the stream's own work: synchronize,
   * query and event_record must cover it. */
  xpStatus (*stream_native)(xpbStream *stream, void **native_stream, void **native_context,
                            int *ordinal);
  /* Makes the device's context current on the calling thread; NULL when the backend has no such
   * notion. */
  xpStatus (*device_make_current)(xpbContext *ctx, int device);

  /* ---- optional, ABI 1.2 (NULL when absent) ---- */
  /* Copies `bytes` between two host-addressable ranges on the calling thread with the device's
   * own means (the cpu backend: its worker pool as well), returning when done. The runtime
   * calls it for a synchronous copy of more than 256 KiB when both sides are host-addressable
   * and the stream that would carry the copy is idle, to spare the hand-off to the stream's
   * thread and back; smaller ones it copies itself. The ranges may overlap. */
  xpStatus (*host_copy)(xpbContext *ctx, int device, void *dst, const void *src, size_t bytes);
} xpbBackend;

/* The entry point. The runtime zeroes `table` and sets table->struct_size to
 * the size it knows; the plugin writes at most that many bytes (see
 * xpbExportTable) and sets struct_size to what it wrote. */
typedef xpStatus (*xpbGetTableFn)(xpbBackend *table);

/* Helper for plugins: copies the plugin's table (mine->struct_size bytes)
 * into the runtime's, as far as the runtime's table reaches. */
static inline xpStatus xpbExportTable(xpbBackend *table, const xpbBackend *mine) {
  size_t room = table->struct_size;
  size_t bytes = room < mine->struct_size ? room : mine->struct_size;
  const unsigned char *from = (const unsigned char *)mine;
  unsigned char *to = (unsigned char *)table;
  for (size_t i = 0; i < bytes; ++i) to[i] = from[i];
  table->struct_size = bytes;
  return XP_SUCCESS;
}

/* Helper for plugins: formats a message and sets it as the last error. */
static inline xpStatus xpbFail(const xpbHostApi *host, xpStatus status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static inline xpStatus xpbFail(const xpbHostApi *host, xpStatus status, const char *format, ...) {
  char message[2048];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  return host->set_error(status, message);
}

/* Helper for plugins: the deadline of waits that have none of their own,
 * from XPOOL_TIMEOUT_MS (milliseconds) as the runtime reads it. */
static inline uint64_t xpbDefaultTimeoutNs(void) {
  const char *value = getenv("XPOOL_TIMEOUT_MS");
  unsigned long long ms = value != NULL ? strtoull(value, NULL, 10) : 0;
  return (ms > 0 ? ms : XP_DEFAULT_TIMEOUT_MS) * 1000000ull;
}

#if defined(__GNUC__)
#define XPB_EXPORT __attribute__((visibility("default")))
#else
#define XPB_EXPORT
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* XPOOL_BACKEND_H */
