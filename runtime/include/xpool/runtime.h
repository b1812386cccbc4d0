/*
 * xpool runtime: the vendor-neutral device API.
 *
 * Plain C so that any language and any framework can link it. Every call
 * returns an xpStatus; on failure, xpGetLastError() returns a thread-local
 * message naming the call and the values involved. Nothing here aborts the
 * process on bad input.
 *
 * Devices are numbered 0..count-1 across every loaded backend ("pool
 * ordinals"); xpDeviceProps.stable_id names a device the same way across
 * processes and runs. Memory belongs to exactly one device; copies name
 * their source and destination, and the runtime stages through pinned host
 * memory itself when the two sides cannot see each other.
 */
#ifndef XPOOL_RUNTIME_H
#define XPOOL_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define XP_API __attribute__((visibility("default")))
#else
#define XP_API
#endif

#define XP_VERSION_MAJOR 0
#define XP_VERSION_MINOR 1
#define XP_VERSION_PATCH 0

/* ------------------------------------------------------------------------ */
/* Status codes and errors                                                   */
/* ------------------------------------------------------------------------ */

typedef enum xpStatus {
  XP_SUCCESS = 0,
  XP_ERROR_INVALID_VALUE = 1,   /* an argument is wrong; the message says which */
  XP_ERROR_INVALID_HANDLE = 2,  /* a stream/event/module/kernel handle is not live */
  XP_ERROR_OUT_OF_MEMORY = 3,   /* the device (or host) could not satisfy an allocation */
  XP_ERROR_NOT_INITIALIZED = 4, /* xpInit was not called */
  XP_ERROR_NOT_FOUND = 5,       /* a named thing (kernel, backend, plugin) does not exist */
  XP_ERROR_NOT_SUPPORTED = 6,   /* the backend cannot do this (e.g. a module format) */
  XP_ERROR_NOT_READY = 7,       /* a query found work still pending; not a failure */
  XP_ERROR_TIMEOUT = 8,         /* a blocking wait passed its deadline */
  XP_ERROR_BACKEND = 9,         /* the vendor library failed; its own error is in the message */
  XP_ERROR_BUILD = 10,          /* a module failed to build; the build log is in the message */
  XP_ERROR_NO_DEVICE = 11,      /* no device / backend unavailable */
  XP_ERROR_ABI_MISMATCH = 12,   /* a plugin speaks a backend ABI this runtime does not */
  XP_ERROR_INTERNAL = 13,       /* a bug in xpool; please report it */
  /* Not a status: makes the enum 32 bits wide, so values reserved for the
   * backend ABI (XPB_FALLBACK) are valid xpStatus values in C++. */
  XP_STATUS_MAX_ENUM = 0x7fffffff
} xpStatus;

/* Name of a status code ("XP_ERROR_INVALID_VALUE"); never NULL. */
XP_API const char *xpStatusName(xpStatus status);

/* The message of the last failed call on this thread ("" if none). The
 * pointer stays valid until the next xpool call on this thread. */
XP_API const char *xpGetLastError(void);

/* Clears this thread's last-error message. */
XP_API void xpClearLastError(void);

/* ------------------------------------------------------------------------ */
/* Initialisation and backends                                               */
/* ------------------------------------------------------------------------ */

/* Loads the backend plugins (see docs/environment.md for XPOOL_BACKENDS and
 * XPOOL_BACKEND_PATH) and enumerates their devices. Reference counted: each
 * successful xpInit needs one xpShutdown. A backend that cannot serve does
 * not make xpInit fail; it is listed with the reason. */
XP_API xpStatus xpInit(void);

/* Releases everything the runtime holds once the last xpInit is matched.
 * Allocations, streams, events and modules still alive are freed. The call
 * that ends the runtime must not overlap other xpool calls on other threads
 * (as with cudaDeviceReset); every other call is thread-safe. */
XP_API xpStatus xpShutdown(void);

#define XP_NAME_MAX 64
#define XP_REASON_MAX 512
#define XP_PATH_MAX 1024

typedef struct xpBackendInfo {
  size_t struct_size;         /* set by the caller to sizeof(xpBackendInfo) */
  char name[XP_NAME_MAX];     /* "cpu", "opencl", "cuda", ... */
  int available;              /* 1 when the plugin loaded and its vendor stack answered */
  int device_count;           /* devices this backend contributes to the pool */
  int first_device;           /* pool ordinal of its first device (-1 if none) */
  char reason[XP_REASON_MAX]; /* why it is unavailable, or "" */
  char plugin_path[XP_PATH_MAX];
  char vendor_version[160];      /* e.g. "OpenCL 3.0 PoCL 3.1 ...", "" if unknown */
  uint32_t abi_major, abi_minor; /* backend ABI the plugin speaks */
} xpBackendInfo;

/* Number of backends the runtime knows of: every plugin found or requested,
 * available or not. */
XP_API xpStatus xpBackendCount(int *count);
XP_API xpStatus xpBackendGetInfo(int index, xpBackendInfo *info);

/* ------------------------------------------------------------------------ */
/* Devices                                                                   */
/* ------------------------------------------------------------------------ */

/* Pseudo-device for host memory in xpPointerAttributes. */
#define XP_HOST_DEVICE (-1)

typedef struct xpDeviceProps {
  size_t struct_size;        /* set by the caller to sizeof(xpDeviceProps) */
  int device;                /* pool ordinal */
  int backend_index;         /* index for xpBackendGetInfo */
  int backend_device;        /* ordinal inside its backend */
  char backend[XP_NAME_MAX]; /* "cpu", "opencl", ... */
  char vendor[XP_NAME_MAX];
  char name[256];
  uint8_t uuid[16];
  char stable_id[96];        /* "<backend>:<uuid hex>": the same on every run */
  uint64_t memory_total;     /* bytes */
  uint64_t memory_free;      /* bytes, as the backend reports it now */
  uint64_t memory_allocated; /* bytes this process holds through xpool */
  int compute_units;         /* cores, SMs, CUs or EUs */
  int max_threads_per_block;
  uint64_t shared_mem_per_block;    /* bytes of dynamic shared/local memory */
  char pci_bus_id[32];              /* "0000:41:00.0", or "" when not a PCI device */
  int numa_node;                    /* host NUMA node closest to the device, -1 unknown */
  int host_addressable;             /* 1 if the host may dereference its memory directly */
  int compute_major, compute_minor; /* vendor's architecture version, 0 when none */
  /* A pointer passed as a kernel argument must lie a multiple of this many
   * bytes into its allocation (1: any address). OpenCL 1.2 passes interior
   * pointers as sub-buffers, which need CL_DEVICE_MEM_BASE_ADDR_ALIGN. Copies
   * take any address whatever this says. */
  uint32_t kernel_pointer_alignment;
} xpDeviceProps;

XP_API xpStatus xpDeviceCount(int *count);
XP_API xpStatus xpDeviceGetProperties(int device, xpDeviceProps *props);
/* Finds the pool ordinal for a stable id (as in xpDeviceProps.stable_id). */
XP_API xpStatus xpDeviceFindByStableId(const char *stable_id, int *device);

/* How close two endpoints are, from nearest to farthest. */
typedef enum xpAffinity {
  XP_AFFINITY_SAME_DEVICE = 0,
  XP_AFFINITY_SAME_PCI_SWITCH = 1, /* share a PCI bridge below the host bridge */
  XP_AFFINITY_SAME_NUMA_NODE = 2,
  XP_AFFINITY_SAME_HOST = 3 /* only the host links them */
} xpAffinity;

XP_API const char *xpAffinityName(xpAffinity affinity);

/* Affinity between two devices. */
XP_API xpStatus xpDeviceGetAffinity(int device_a, int device_b, xpAffinity *affinity);
/* Affinity between a device and a host NUMA node. */
XP_API xpStatus xpDeviceGetHostAffinity(int device, int numa_node, xpAffinity *affinity);

typedef struct xpHostTopology {
  size_t struct_size;
  int sockets;
  int numa_nodes;
  int cores; /* physical cores */
  int pus;   /* hardware threads */
  uint64_t memory_total;
  char hostname[256];
} xpHostTopology;

XP_API xpStatus xpHostGetTopology(xpHostTopology *topology);

/* ------------------------------------------------------------------------ */
/* Memory                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct xpStream_st *xpStream;
typedef struct xpEvent_st *xpEvent;
typedef struct xpModule_st *xpModule;
typedef struct xpKernel_st *xpKernel;

/* Device memory. The returned pointer is unique in the process and supports
 * pointer arithmetic: any address inside the allocation may be passed to
 * copies and kernels. It may be dereferenced on the host only when the
 * device is host_addressable. Zero bytes is an error. */
XP_API xpStatus xpMalloc(int device, size_t bytes, void **ptr);
XP_API xpStatus xpFree(void *ptr);

/* Page-locked host memory, registered with every backend that can use it
 * for fast transfers. */
XP_API xpStatus xpMallocHost(size_t bytes, void **ptr);
XP_API xpStatus xpFreeHost(void *ptr);

typedef enum xpMemoryType {
  XP_MEMORY_UNKNOWN = 0, /* not allocated by xpool: treated as pageable host memory */
  XP_MEMORY_DEVICE = 1,
  XP_MEMORY_HOST_PINNED = 2
} xpMemoryType;

typedef struct xpPointerAttributes {
  size_t struct_size;
  xpMemoryType type;
  int device;    /* owner; XP_HOST_DEVICE for host memory */
  void *base;    /* start of the allocation holding the pointer */
  size_t size;   /* size of that allocation */
  size_t offset; /* pointer - base */
} xpPointerAttributes;

XP_API xpStatus xpPointerGetAttributes(const void *ptr, xpPointerAttributes *attributes);

/* Copies in any direction: host<->device, device<->device on one device, and
 * between devices of any backends. A NULL stream means the default stream of
 * the destination device (or of the source device when the destination is
 * host memory). The synchronous forms return when the data has arrived. */
XP_API xpStatus xpMemcpy(void *dst, const void *src, size_t bytes);
XP_API xpStatus xpMemcpyAsync(void *dst, const void *src, size_t bytes, xpStream stream);
XP_API xpStatus xpMemset(void *dst, int value, size_t bytes);
XP_API xpStatus xpMemsetAsync(void *dst, int value, size_t bytes, xpStream stream);

/* Free and total bytes of a device, as its backend reports them now. */
XP_API xpStatus xpMemGetInfo(int device, uint64_t *free_bytes, uint64_t *total_bytes);

/* ------------------------------------------------------------------------ */
/* Streams, events, host callbacks                                           */
/* ------------------------------------------------------------------------ */

/* Default deadline of every blocking wait without an explicit timeout:
 * XPOOL_TIMEOUT_MS, or this many milliseconds. */
#define XP_DEFAULT_TIMEOUT_MS 300000

/* A stream is an in-order queue of work on one device. */
XP_API xpStatus xpStreamCreate(int device, xpStream *stream);
/* Waits (with the default deadline) for the stream's work, then destroys it. */
XP_API xpStatus xpStreamDestroy(xpStream stream);
XP_API xpStatus xpStreamGetDevice(xpStream stream, int *device);
/* Returns the first error the stream's work hit since the last synchronize
 * (e.g. a cross-device wait that timed out) and clears it. */
XP_API xpStatus xpStreamSynchronize(xpStream stream);
XP_API xpStatus xpStreamSynchronizeTimeout(xpStream stream, uint32_t timeout_ms);
/* XP_SUCCESS when all work is done, XP_ERROR_NOT_READY when not. */
XP_API xpStatus xpStreamQuery(xpStream stream);
/* Later work on `stream` waits until `event` (recorded on any device, of any
 * backend) has completed. */
XP_API xpStatus xpStreamWaitEvent(xpStream stream, xpEvent event);

typedef void (*xpHostFn)(void *user_data);
/* Runs fn(user_data) on a runtime thread once the work before it is done;
 * later work waits for it to return. fn must not call xpool synchronise calls
 * on the same stream. */
XP_API xpStatus xpLaunchHostFunc(xpStream stream, xpHostFn fn, void *user_data);

XP_API xpStatus xpDeviceSynchronize(int device);

/* Events mark a point in a stream. */
#define XP_EVENT_DEFAULT 0u
#define XP_EVENT_DISABLE_TIMING 1u

XP_API xpStatus xpEventCreate(int device, unsigned flags, xpEvent *event);
XP_API xpStatus xpEventDestroy(xpEvent event);
/* The stream must belong to the event's device. */
XP_API xpStatus xpEventRecord(xpEvent event, xpStream stream);
/* XP_SUCCESS when complete (or never recorded), XP_ERROR_NOT_READY when not. */
XP_API xpStatus xpEventQuery(xpEvent event);
XP_API xpStatus xpEventSynchronize(xpEvent event);
XP_API xpStatus xpEventSynchronizeTimeout(xpEvent event, uint32_t timeout_ms);
/* Milliseconds between two completed events of the same backend. */
XP_API xpStatus xpEventElapsedTime(float *ms, xpEvent start, xpEvent end);

/* ------------------------------------------------------------------------ */
/* Native handles: handing stream-ordered work to a vendor library           */
/* ------------------------------------------------------------------------ */

/* A stream's handles in its backend's own API, for handing stream-ordered
 * work to a vendor library (NCCL takes a cudaStream_t). */
typedef struct xpNativeStream {
  size_t struct_size;  /* the caller sets sizeof(xpNativeStream) */
  const char *backend; /* "cuda", "opencl": the backend's name (static string) */
  void *stream;        /* cuda: the CUstream (usable as a cudaStream_t); opencl: cl_command_queue;
                          hip: the hipStream_t */
  void *context;       /* cuda: the device's primary CUcontext; opencl: cl_context; hip: NULL */
  int device_ordinal;  /* cuda: the CUdevice ordinal (what cudaSetDevice takes); opencl: index
                          among the backend's devices; hip: the HIP device ordinal */
} xpNativeStream;

/* Fills `out` with the native handles of `stream`. The handles stay owned by
 * xpool and valid until xpStreamDestroy(stream) or the xpShutdown that ends
 * the runtime; do not release or destroy them. For CUDA, call
 * xpDeviceMakeCurrent (or cudaSetDevice(device_ordinal)) before a vendor
 * library enqueues on the stream from this thread.
 *
 * Ordering contract. The native stream is the stream xpool itself enqueues
 * on: work the caller enqueues on it after xpool work runs after that work,
 * and xpool work enqueued afterwards runs after the caller's work;
 * xpStreamSynchronize, xpStreamQuery, xpEventRecord and xpStreamDestroy
 * cover the caller's work too. On cuda this holds for everything xpool
 * enqueues, host functions, staged copies (cross-device copies through host
 * buffers, copies of pageable memory behind a host function) and
 * cross-backend event waits included: they run on a worker while the
 * CUstream itself waits for them (cuStreamWaitValue32). Exceptions:
 *  - cuda: a copy between device memory and pageable host memory (not from
 *    xpMallocHost) follows CUDA's rules for pageable memory when xpool has
 *    no host function pending on the stream: an upload may read the host
 *    memory when it is enqueued, not when the stream reaches it, and a
 *    download may block the caller until the stream has reached it. Use
 *    xpMallocHost memory for host buffers the caller's native work touches.
 *  - opencl and hip: a host function (xpLaunchHostFunc, and the runtime's
 *    own: staged copies, waits for events of another backend, host-to-host
 *    copies) does not hold the native queue; xpool keeps later xpool work
 *    back in software until it returns. Native work enqueued while such a
 *    host function is pending is therefore not ordered with it, nor with
 *    the xpool work held behind it. Call xpStreamSynchronize first when the
 *    stream may have one pending.
 * Cost rather than exception: once an opencl stream has been handed out,
 * xpStreamSynchronize and xpStreamQuery go by a marker at the end of the
 * queue (a query waits up to 1 ms for it to pass an idle queue).
 *
 * Errors: XP_ERROR_INVALID_HANDLE for a NULL or dead stream;
 * XP_ERROR_INVALID_VALUE when out is NULL or out->struct_size is too small;
 * XP_ERROR_NOT_SUPPORTED for a backend whose streams have no native handle
 * (cpu, level_zero). On failure after the stream and `out` were checked,
 * `out` holds NULL handles, device_ordinal -1 and the stream's backend. */
XP_API xpStatus xpStreamGetNative(xpStream stream, xpNativeStream *out);

/* Makes `device`'s native context current on the calling thread (cuda: the
 * primary context, as cudaSetDevice does), so a vendor library called next
 * acts on that device. XP_SUCCESS and nothing to do for backends without a
 * per-thread current device (cpu, opencl, level_zero); hip: hipSetDevice.
 * On cuda, xpool's own calls leave the thread's current context as they
 * found it, so it stays current. XP_ERROR_INVALID_VALUE for a device out of
 * range (the message gives the pool's size). */
XP_API xpStatus xpDeviceMakeCurrent(int device);

/* ------------------------------------------------------------------------ */
/* Modules and kernels                                                       */
/* ------------------------------------------------------------------------ */

typedef enum xpModuleFormat {
  XP_MODULE_NATIVE = 0,        /* whatever the device's backend loads by default */
  XP_MODULE_SHARED_OBJECT = 1, /* cpu: an ELF shared object, see xpool/cpu_kernel.h */
  XP_MODULE_OPENCL_C = 2,      /* opencl: OpenCL C source text */
  XP_MODULE_SPIRV = 3,         /* opencl, level_zero */
  XP_MODULE_PTX = 4,           /* cuda */
  XP_MODULE_CUBIN = 5,         /* cuda */
  XP_MODULE_FATBIN = 6,        /* cuda */
  XP_MODULE_CUDA_CPP = 7,      /* cuda: CUDA C++ source compiled with NVRTC */
  XP_MODULE_HSACO = 8,         /* hip: AMD code object */
  XP_MODULE_HIP_CPP = 9        /* hip: HIP C++ source compiled with hiprtc */
} xpModuleFormat;

XP_API const char *xpModuleFormatName(xpModuleFormat format);

/* Loads a module from bytes in a backend's native form. `options` are build
 * options for source formats (may be NULL). A failed build returns
 * XP_ERROR_BUILD with the compiler's log in the message. */
XP_API xpStatus xpModuleLoadData(int device, xpModuleFormat format, const void *data, size_t bytes,
                                 const char *options, xpModule *module);
/* Reads a file and loads it; the format comes from the extension (.so, .cl,
 * .spv, .ptx, .cubin, .fatbin, .cu, .hsaco) unless given explicitly. */
XP_API xpStatus xpModuleLoadFile(int device, xpModuleFormat format, const char *path,
                                 const char *options, xpModule *module);
XP_API xpStatus xpModuleUnload(xpModule module);
XP_API xpStatus xpModuleGetKernel(xpModule module, const char *name, xpKernel *kernel);

typedef struct xpDim3 {
  uint32_t x, y, z;
} xpDim3;

/* Launches grid.x*grid.y*grid.z blocks of block.x*block.y*block.z threads.
 * args[i] points at the value of argument i and arg_sizes[i] is its size;
 * device pointers are passed by value like any other argument (at offsets
 * into their allocation that are multiples of kernel_pointer_alignment). Dynamic
 * shared memory of `shared_bytes` is, on OpenCL, an extra trailing __local
 * argument; on the CPU, xpCpuKernelContext.shared_mem; on CUDA and HIP, the
 * kernel's extern __shared__ array. */
XP_API xpStatus xpLaunchKernel(xpKernel kernel, xpDim3 grid, xpDim3 block, size_t shared_bytes,
                               xpStream stream, void *const *args, const size_t *arg_sizes,
                               int num_args);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* XPOOL_RUNTIME_H */
