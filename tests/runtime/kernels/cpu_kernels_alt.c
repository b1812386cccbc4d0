/*
 * A second, different cpu test module: loaded next to cpu_kernels.c to check
 * that two modules stay distinct. Twin of opencl_kernels_alt.cl.
 */
#include <stdint.h>
#include <xpool/cpu_kernel.h>

/* out[i] = 0xa17 + i for i < n. */
XP_CPU_KERNEL(alt_marker) {
  uint32_t *out = XP_CPU_ARG(uint32_t *, 0);
  const uint32_t n = XP_CPU_ARG(uint32_t, 1);
  const size_t base = (size_t)ctx->block_idx.x * ctx->block_dim.x;
  for (uint32_t t = 0; t < ctx->block_dim.x; ++t) {
    const size_t i = base + t;
    if (i < n) out[i] = 0xa17u + (uint32_t)i;
  }
}
