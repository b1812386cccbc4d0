// Adds one to each of n bytes; scratch is the dynamic local memory.
__kernel void add_one(__global uchar *p, ulong n) {
  size_t i = get_global_id(0);
  if (i < n) p[i] = (uchar)(p[i] + 1);
}
__kernel void add_one_local(__global uchar *p, ulong n, __local uchar *scratch) {
  size_t i = get_global_id(0);
  size_t l = get_local_id(0);
  scratch[l] = (i < n) ? p[i] : 0;
  barrier(CLK_LOCAL_MEM_FENCE);
  if (i < n) p[i] = (uchar)(scratch[l] + 1);
}
