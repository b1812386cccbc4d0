/*
 * Kernels for the xpool cpu backend.
 *
 * A cpu module is an ELF shared object. Each kernel is an exported C function
 * of type xpCpuKernelFn, named as the kernel. The backend calls it once per
 * block (work-group), spreading blocks over the device's cores; the function
 * loops over the threads of its block itself. That is how a CPU runs a
 * data-parallel grid well, and it makes block-level barriers unnecessary:
 * code between two barriers becomes two loops over the block.
 *
 *   #include <xpool/cpu_kernel.h>
 *   XP_CPU_KERNEL(vector_add) {
 *     const float *a = XP_CPU_ARG(const float *, 0);
 *     ...
 *     for (uint32_t t = 0; t < ctx->block_dim.x; ++t) {
 *       size_t i = (size_t)ctx->block_idx.x * ctx->block_dim.x + t;
 *       ...
 *     }
 *   }
 *
 * Build with: cc -O2 -shared -fPIC kernel.c -o kernel.so
 */
#ifndef XPOOL_CPU_KERNEL_H
#define XPOOL_CPU_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "xpool/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xpCpuKernelContext {
  size_t struct_size;
  xpDim3 grid_dim;
  xpDim3 block_dim;
  xpDim3 block_idx; /* the block this call runs */
  void *shared_mem; /* dynamic shared memory of this block, or NULL */
  size_t shared_mem_bytes;
} xpCpuKernelContext;

/* args[i] points at the value of argument i, as given to xpLaunchKernel. */
typedef void (*xpCpuKernelFn)(const xpCpuKernelContext *ctx, void *const *args);

#ifdef __cplusplus
#define XP_CPU_EXTERN_C extern "C"
#else
#define XP_CPU_EXTERN_C
#endif
#define XP_CPU_KERNEL(name)                                                                       \
  XP_CPU_EXTERN_C __attribute__((visibility("default"))) void name(const xpCpuKernelContext *ctx, \
                                                                   void *const *args)
#define XP_CPU_ARG(type, index) (*(type *)args[(index)])

#ifdef __cplusplus
}
#endif

#endif /* XPOOL_CPU_KERNEL_H */
