// Test kernels of the conformance suite for the cuda backend (CUDA C++,
// compiled on the node with NVRTC). Each has the same arguments and results
// as its twin in opencl_kernels.cl. Dynamic shared memory is extern __shared__.

extern "C" __global__ void vector_add(const float *a, const float *b, float *c, unsigned n) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}

// blockDim.x must be a power of two; scratch holds one value per thread.
extern "C" __global__ void block_sum_u32(const unsigned *in, unsigned long long *partial,
                                         unsigned n) {
  extern __shared__ unsigned long long scratch[];
  unsigned lid = threadIdx.x;
  size_t gid = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  scratch[lid] = gid < n ? (unsigned long long)in[gid] : 0ull;
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (lid < stride) scratch[lid] += scratch[lid + stride];
    __syncthreads();
  }
  if (lid == 0) partial[blockIdx.x] = scratch[0];
}

extern "C" __global__ void fill3d(unsigned *out, unsigned width, unsigned height, unsigned depth) {
  unsigned x = blockIdx.x * blockDim.x + threadIdx.x;
  unsigned y = blockIdx.y * blockDim.y + threadIdx.y;
  unsigned z = blockIdx.z * blockDim.z + threadIdx.z;
  if (x < width && y < height && z < depth)
    out[((size_t)z * height + y) * width + x] = x + 1000u * y + 1000000u * z;
}

extern "C" __global__ void add_one_u32(unsigned *x, unsigned n) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] += 1u;
}

extern "C" __global__ void iota_u64(unsigned long long *out, unsigned long long start, unsigned n,
                                    unsigned short step) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = start + (unsigned long long)i * step;
}
