// A second, different cuda test module; twin of opencl_kernels_alt.cl.
extern "C" __global__ void alt_marker(unsigned *out, unsigned n) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = 0xa17u + (unsigned)i;
}
