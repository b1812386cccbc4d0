/* A second, different opencl test module; twin of cpu_kernels_alt.c. */
__kernel void alt_marker(__global uint *out, uint n) {
  size_t i = get_global_id(0);
  if (i < n) out[i] = 0xa17u + (uint)i;
}
