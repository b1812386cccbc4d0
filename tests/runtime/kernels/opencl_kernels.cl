/*
 * Test kernels of the conformance suite for the opencl backend (OpenCL C 1.2).
 * Each has the same arguments and results as its twin in cpu_kernels.c.
 * Dynamic shared memory arrives as a trailing __local argument.
 */

__kernel void vector_add(__global const float *a, __global const float *b, __global float *c,
                         uint n) {
  size_t i = get_global_id(0);
  if (i < n) c[i] = a[i] + b[i];
}

/* local size must be a power of two; scratch holds one ulong per work-item. */
__kernel void block_sum_u32(__global const uint *in, __global ulong *partial, uint n,
                            __local ulong *scratch) {
  size_t lid = get_local_id(0);
  size_t gid = get_global_id(0);
  scratch[lid] = gid < n ? (ulong)in[gid] : 0ul;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (size_t stride = get_local_size(0) / 2; stride > 0; stride /= 2) {
    if (lid < stride) scratch[lid] += scratch[lid + stride];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) partial[get_group_id(0)] = scratch[0];
}

__kernel void fill3d(__global uint *out, uint width, uint height, uint depth) {
  uint x = (uint)get_global_id(0);
  uint y = (uint)get_global_id(1);
  uint z = (uint)get_global_id(2);
  if (x < width && y < height && z < depth)
    out[((size_t)z * height + y) * width + x] = x + 1000u * y + 1000000u * z;
}

__kernel void add_one_u32(__global uint *x, uint n) {
  size_t i = get_global_id(0);
  if (i < n) x[i] += 1u;
}

__kernel void iota_u64(__global ulong *out, ulong start, uint n, ushort step) {
  size_t i = get_global_id(0);
  if (i < n) out[i] = start + (ulong)i * step;
}
