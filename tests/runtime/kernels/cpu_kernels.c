/*
 * Test kernels of the conformance suite for the cpu backend.
 *
 * The backend calls each kernel once per block; the kernel loops over the
 * threads of its block. Every kernel here has the same arguments and the same
 * results as its twin in opencl_kernels.cl.
 */
#include <stdint.h>
#include <xpool/cpu_kernel.h>

/* c[i] = a[i] + b[i] for i < n. */
XP_CPU_KERNEL(vector_add) {
  const float *a = XP_CPU_ARG(const float *, 0);
  const float *b = XP_CPU_ARG(const float *, 1);
  float *c = XP_CPU_ARG(float *, 2);
  const uint32_t n = XP_CPU_ARG(uint32_t, 3);
  const size_t base = (size_t)ctx->block_idx.x * ctx->block_dim.x;
  for (uint32_t t = 0; t < ctx->block_dim.x; ++t) {
    const size_t i = base + t;
    if (i < n) c[i] = a[i] + b[i];
  }
}

/* partial[block] = sum of in[] over the block, through a tree reduction in
 * dynamic shared memory (block_dim.x 64-bit slots; block_dim.x a power of
 * two). Writes UINT64_MAX when the shared memory is missing or too small. */
XP_CPU_KERNEL(block_sum_u32) {
  const uint32_t *in = XP_CPU_ARG(const uint32_t *, 0);
  uint64_t *partial = XP_CPU_ARG(uint64_t *, 1);
  const uint32_t n = XP_CPU_ARG(uint32_t, 2);
  const uint32_t threads = ctx->block_dim.x;
  const size_t block = ctx->block_idx.x;
  uint64_t *scratch = (uint64_t *)ctx->shared_mem;
  if (scratch == NULL || ctx->shared_mem_bytes < threads * sizeof(uint64_t)) {
    partial[block] = UINT64_MAX;
    return;
  }
  for (uint32_t t = 0; t < threads; ++t) {
    const size_t i = block * threads + t;
    scratch[t] = i < n ? in[i] : 0;
  }
  for (uint32_t stride = threads / 2; stride > 0; stride /= 2) /* one barrier per step */
    for (uint32_t t = 0; t < stride; ++t) scratch[t] += scratch[t + stride];
  partial[block] = scratch[0];
}

/* out[(z * height + y) * width + x] = x + 1000 * y + 1000000 * z over a 3-D grid. */
XP_CPU_KERNEL(fill3d) {
  uint32_t *out = XP_CPU_ARG(uint32_t *, 0);
  const uint32_t width = XP_CPU_ARG(uint32_t, 1);
  const uint32_t height = XP_CPU_ARG(uint32_t, 2);
  const uint32_t depth = XP_CPU_ARG(uint32_t, 3);
  for (uint32_t tz = 0; tz < ctx->block_dim.z; ++tz) {
    const uint32_t z = ctx->block_idx.z * ctx->block_dim.z + tz;
    for (uint32_t ty = 0; ty < ctx->block_dim.y; ++ty) {
      const uint32_t y = ctx->block_idx.y * ctx->block_dim.y + ty;
      for (uint32_t tx = 0; tx < ctx->block_dim.x; ++tx) {
        const uint32_t x = ctx->block_idx.x * ctx->block_dim.x + tx;
        if (x < width && y < height && z < depth)
          out[((size_t)z * height + y) * width + x] = x + 1000u * y + 1000000u * z;
      }
    }
  }
}

/* x[i] += 1 for i < n. */
XP_CPU_KERNEL(add_one_u32) {
  uint32_t *x = XP_CPU_ARG(uint32_t *, 0);
  const uint32_t n = XP_CPU_ARG(uint32_t, 1);
  const size_t base = (size_t)ctx->block_idx.x * ctx->block_dim.x;
  for (uint32_t t = 0; t < ctx->block_dim.x; ++t) {
    const size_t i = base + t;
    if (i < n) x[i] += 1;
  }
}

/* out[i] = start + i * step for i < n: 8-, 4- and 2-byte scalar arguments. */
XP_CPU_KERNEL(iota_u64) {
  uint64_t *out = XP_CPU_ARG(uint64_t *, 0);
  const uint64_t start = XP_CPU_ARG(uint64_t, 1);
  const uint32_t n = XP_CPU_ARG(uint32_t, 2);
  const uint16_t step = XP_CPU_ARG(uint16_t, 3);
  const size_t base = (size_t)ctx->block_idx.x * ctx->block_dim.x;
  for (uint32_t t = 0; t < ctx->block_dim.x; ++t) {
    const size_t i = base + t;
    if (i < n) out[i] = start + (uint64_t)i * step;
  }
}
