// Modules and kernels: real computations (vector add, a reduction through
// dynamic shared memory, a 3-D grid), launch order, scalar arguments,
// interior pointers, the ways to load a module, and the module error paths.
//
// The kernels live in tests/runtime/kernels/<backend>_kernels.*; a backend
// without test kernels skips these tests with that reason.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "conformance.h"

namespace conformance {
namespace {

class KernelTest : public DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto spec = TestModuleFor(device().backend);
    if (!spec) {
      GTEST_SKIP() << "no conformance test kernels for backend '" << device().backend
                   << "' (write tests/runtime/kernels/" << device().backend
                   << "_kernels.* and list it in TestModuleFor)";
    }
    spec_ = *spec;
    ASSERT_XP(
        xpModuleLoadFile(dev(), XP_MODULE_NATIVE, spec_.path.c_str(), nullptr, module_.out()));
  }

  xpKernel Get(xpModule module, const char *name) {
    xpKernel k = nullptr;
    EXPECT_XP(xpModuleGetKernel(module, name, &k));
    return k;
  }
  xpKernel Get(const char *name) { return Get(module_, name); }

  TestModule spec_{};
  Module module_;
};

// c = a + b over n floats placed `offset` elements into their allocations;
// checks every element bit for bit and that the kernel wrote nothing else.
void CheckVectorAdd(const Device &device, xpKernel kernel, uint32_t n, size_t offset) {
  SCOPED_TRACE("vector_add of " + std::to_string(n) + " floats at element offset " +
               std::to_string(offset));
  ASSERT_NE(kernel, nullptr);
  const size_t total = offset + n + 64;
  std::vector<float> a(total), b(total), c(total);
  for (size_t i = 0; i < total; ++i) {
    a[i] = static_cast<float>(i % 1000) * 0.5f;
    b[i] = static_cast<float>(i % 777) * 0.25f + 1.0f;
  }
  DevicePtr da, db, dc;
  ASSERT_XP(xpMalloc(device.ordinal, total * sizeof(float), da.out()));
  ASSERT_XP(xpMalloc(device.ordinal, total * sizeof(float), db.out()));
  ASSERT_XP(xpMalloc(device.ordinal, total * sizeof(float), dc.out()));
  Stream s;
  ASSERT_XP(xpStreamCreate(device.ordinal, s.out()));
  ASSERT_XP(xpMemcpyAsync(da, a.data(), total * sizeof(float), s));
  ASSERT_XP(xpMemcpyAsync(db, b.data(), total * sizeof(float), s));
  ASSERT_XP(xpMemsetAsync(dc, 0xff, total * sizeof(float), s));
  float *pa = static_cast<float *>(da.get()) + offset;
  float *pb = static_cast<float *>(db.get()) + offset;
  float *pc = static_cast<float *>(dc.get()) + offset;
  KernelArgs args;
  args.Add(pa).Add(pb).Add(pc).Add(n);
  const uint32_t block = BlockSize(device);
  ASSERT_XP(Launch(kernel, {DivUp(n, block), 1, 1}, {block, 1, 1}, 0, s, args));
  ASSERT_XP(xpMemcpyAsync(c.data(), dc, total * sizeof(float), s));
  ASSERT_XP(xpStreamSynchronize(s));

  size_t wrong = 0, first = 0, untouched_wrong = 0;
  for (size_t i = 0; i < total; ++i) {
    if (i >= offset && i < offset + n) {
      const float want = a[i] + b[i];
      if (std::memcmp(&c[i], &want, sizeof want) != 0 && wrong++ == 0) first = i;
    } else {
      uint32_t bits;
      std::memcpy(&bits, &c[i], sizeof bits);
      if (bits != 0xffffffffu) ++untouched_wrong;
    }
  }
  EXPECT_EQ(wrong, 0u) << "first wrong element " << first << ": got " << c[first] << ", expected "
                       << a[first] + b[first];
  EXPECT_EQ(untouched_wrong, 0u) << "the kernel wrote outside [offset, offset + n)";
}

TEST_P(KernelTest, VectorAdd) {
  CheckVectorAdd(device(), Get("vector_add"), 1000003, 0);
}

// Per-block partial sums through dynamic shared memory, finished on the host;
// integers, so the result is exact.
TEST_P(KernelTest, ReductionWithSharedMemory) {
  xpKernel kernel = Get("block_sum_u32");
  ASSERT_NE(kernel, nullptr);
  uint32_t n = 1000003;
  const uint32_t block = BlockSize(device());
  const uint32_t grid = DivUp(n, block);
  std::vector<uint32_t> in(n);
  for (uint32_t i = 0; i < n; ++i) in[i] = static_cast<uint32_t>(Mix(i) % 1000);
  DevicePtr din, dpartial;
  ASSERT_XP(xpMalloc(dev(), n * sizeof(uint32_t), din.out()));
  ASSERT_XP(xpMalloc(dev(), grid * sizeof(uint64_t), dpartial.out()));
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  ASSERT_XP(xpMemcpyAsync(din, in.data(), n * sizeof(uint32_t), s));
  ASSERT_XP(xpMemsetAsync(dpartial, 0, grid * sizeof(uint64_t), s));
  void *pin = din.get(), *ppartial = dpartial.get();
  KernelArgs args;
  args.Add(pin).Add(ppartial).Add(n);
  ASSERT_XP(Launch(kernel, {grid, 1, 1}, {block, 1, 1}, block * sizeof(uint64_t), s, args));
  std::vector<uint64_t> partial(grid);
  ASSERT_XP(xpMemcpyAsync(partial.data(), dpartial, grid * sizeof(uint64_t), s));
  ASSERT_XP(xpStreamSynchronize(s));

  uint64_t total = 0, expected_total = 0;
  size_t wrong_blocks = 0;
  for (uint32_t g = 0; g < grid; ++g) {
    uint64_t expected = 0;
    for (uint32_t i = g * block; i < std::min<uint64_t>(n, uint64_t{g + 1} * block); ++i)
      expected += in[i];
    if (partial[g] != expected && wrong_blocks++ < 5)
      ADD_FAILURE() << "block " << g << ": partial sum " << partial[g] << ", expected " << expected
                    << (partial[g] == UINT64_MAX ? " (no shared memory given)" : "");
    total += partial[g];
    expected_total += expected;
  }
  EXPECT_EQ(wrong_blocks, 0u);
  EXPECT_EQ(total, expected_total);
}

// Multi-dimensional grids; sizes are not multiples of the block.
TEST_P(KernelTest, MultiDimensionalGrid) {
  xpKernel kernel = Get("fill3d");
  ASSERT_NE(kernel, nullptr);
  struct Shape {
    uint32_t width, height, depth;
    xpDim3 block;
  };
  const bool big = device().max_threads_per_block >= 256;
  const Shape shapes[] = {
      {1000, 123, 5, big ? xpDim3{16, 8, 2} : xpDim3{4, 2, 2}},
      {777, 333, 1, big ? xpDim3{32, 4, 1} : xpDim3{4, 4, 1}},
  };
  for (const Shape &shape : shapes) {
    uint32_t w = shape.width, h = shape.height, d = shape.depth;
    SCOPED_TRACE(std::to_string(w) + "x" + std::to_string(h) + "x" + std::to_string(d));
    const size_t count = size_t{w} * h * d, guard = 16;
    DevicePtr out;
    ASSERT_XP(xpMalloc(dev(), (count + guard) * sizeof(uint32_t), out.out()));
    ASSERT_XP(xpMemset(out, 0xff, (count + guard) * sizeof(uint32_t)));
    void *pout = out.get();
    KernelArgs args;
    args.Add(pout).Add(w).Add(h).Add(d);
    const xpDim3 grid{DivUp(w, shape.block.x), DivUp(h, shape.block.y), DivUp(d, shape.block.z)};
    Stream s;
    ASSERT_XP(xpStreamCreate(dev(), s.out()));
    ASSERT_XP(Launch(kernel, grid, shape.block, 0, s, args));
    ASSERT_XP(xpStreamSynchronize(s));
    std::vector<uint32_t> host(count + guard);
    ASSERT_XP(xpMemcpy(host.data(), out, host.size() * sizeof(uint32_t)));
    size_t wrong = 0;
    for (uint32_t z = 0; z < d; ++z)
      for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x) {
          const uint32_t got = host[(size_t{z} * h + y) * w + x];
          const uint32_t want = x + 1000u * y + 1000000u * z;
          if (got != want && wrong++ < 5)
            ADD_FAILURE() << "(" << x << "," << y << "," << z << "): got " << got << ", want "
                          << want;
        }
    EXPECT_EQ(wrong, 0u);
    for (size_t i = count; i < count + guard; ++i)
      EXPECT_EQ(host[i], 0xffffffffu) << "written past the grid at " << i;
  }
}

// 100 launches of x += 1 on one stream: each must see the previous one's result.
TEST_P(KernelTest, RepeatedLaunchesAreOrdered) {
  xpKernel kernel = Get("add_one_u32");
  ASSERT_NE(kernel, nullptr);
  uint32_t n = 4097;
  DevicePtr x;
  ASSERT_XP(xpMalloc(dev(), n * sizeof(uint32_t), x.out()));
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  ASSERT_XP(xpMemsetAsync(x, 0, n * sizeof(uint32_t), s));
  void *px = x.get();
  KernelArgs args;
  args.Add(px).Add(n);
  const uint32_t block = BlockSize(device());
  for (int i = 0; i < 100; ++i)
    ASSERT_XP(Launch(kernel, {DivUp(n, block), 1, 1}, {block, 1, 1}, 0, s, args));
  std::vector<uint32_t> host(n);
  ASSERT_XP(xpMemcpyAsync(host.data(), x, n * sizeof(uint32_t), s));
  ASSERT_XP(xpStreamSynchronize(s));
  size_t wrong = 0;
  for (uint32_t v : host) wrong += v != 100;
  EXPECT_EQ(wrong, 0u) << "e.g. host[0] = " << host[0] << ", host[n-1] = " << host[n - 1];
}

// 8-, 4- and 2-byte scalars by value.
TEST_P(KernelTest, ScalarArguments) {
  xpKernel kernel = Get("iota_u64");
  ASSERT_NE(kernel, nullptr);
  uint64_t start = 0x100000005ull;
  uint32_t n = 10007;
  uint16_t step = 3;
  DevicePtr out;
  ASSERT_XP(xpMalloc(dev(), n * sizeof(uint64_t), out.out()));
  void *pout = out.get();
  KernelArgs args;
  args.Add(pout).Add(start).Add(n).Add(step);
  const uint32_t block = BlockSize(device());
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  ASSERT_XP(Launch(kernel, {DivUp(n, block), 1, 1}, {block, 1, 1}, 0, s, args));
  std::vector<uint64_t> host(n);
  ASSERT_XP(xpMemcpyAsync(host.data(), out, n * sizeof(uint64_t), s));
  ASSERT_XP(xpStreamSynchronize(s));
  size_t wrong = 0;
  for (uint32_t i = 0; i < n; ++i) wrong += host[i] != start + uint64_t{i} * step;
  EXPECT_EQ(wrong, 0u) << "host[1] = " << host[1] << ", expected " << start + step;
}

// "Any address inside the allocation may be passed to copies and kernels."
// 64 floats = 256 bytes: aligned for every device we know of.
TEST_P(KernelTest, InteriorPointerArguments) {
  CheckVectorAdd(device(), Get("vector_add"), 10007, 64);
}

// 1 and 3 floats: pointers that are not aligned to the device's base address
// alignment (OpenCL sub-buffers need CL_DEVICE_MEM_BASE_ADDR_ALIGN).
// Interior pointers at any offset the device allows (kernel_pointer_alignment)
// compute correctly; an offset it does not allow is refused with a message
// naming the offset and the alignment, and the device keeps working.
TEST_P(KernelTest, UnalignedInteriorPointerArguments) {
  xpKernel kernel = Get("vector_add");
  const uint32_t alignment = device().kernel_pointer_alignment;
  ASSERT_GE(alignment, 1u);
  if (alignment == 1) {
    for (size_t offset : {size_t{1}, size_t{3}}) CheckVectorAdd(device(), kernel, 10007, offset);
    return;
  }
  ASSERT_EQ(alignment % sizeof(float), 0u);
  CheckVectorAdd(device(), kernel, 10007, alignment / sizeof(float));
  DevicePtr buffer;
  ASSERT_XP(xpMalloc(dev(), 4 * alignment, buffer.out()));
  float *misaligned = static_cast<float *>(buffer.get()) + 1;
  uint32_t n = 8;
  KernelArgs args;
  args.Add(misaligned).Add(misaligned).Add(misaligned).Add(n);
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  EXPECT_EQ(Launch(kernel, {1, 1, 1}, {8, 1, 1}, 0, s, args), XP_ERROR_INVALID_VALUE);
  const std::string message = xpGetLastError();
  EXPECT_NE(message.find(std::to_string(sizeof(float))), std::string::npos) << message;
  EXPECT_NE(message.find(std::to_string(alignment)), std::string::npos) << message;
  CheckVectorAdd(device(), kernel, 1000, 0);
}

TEST_P(KernelTest, LoadFileAndData) {
  const std::string bytes = ReadFile(spec_.path);
  ASSERT_FALSE(bytes.empty()) << spec_.path;
  struct Way {
    const char *what;
    bool from_file;
    xpModuleFormat format;
  };
  const Way ways[] = {{"file, explicit format", true, spec_.format},
                      {"data, explicit format", false, spec_.format},
                      {"data, native format", false, XP_MODULE_NATIVE}};
  for (const Way &way : ways) {
    SCOPED_TRACE(way.what);
    Module m;
    if (way.from_file)
      ASSERT_XP(xpModuleLoadFile(dev(), way.format, spec_.path.c_str(), nullptr, m.out()));
    else
      ASSERT_XP(xpModuleLoadData(dev(), way.format, bytes.data(), bytes.size(), nullptr, m.out()));
    CheckVectorAdd(device(), Get(m, "vector_add"), 1000, 0);
  }
  // Two modules at once; unloading one leaves the other working.
  Module second;
  ASSERT_XP(
      xpModuleLoadData(dev(), spec_.format, bytes.data(), bytes.size(), nullptr, second.out()));
  xpKernel from_second = Get(second, "vector_add");
  ASSERT_XP(xpModuleUnload(module_.release()));
  CheckVectorAdd(device(), from_second, 4097, 0);
}

// Two different modules loaded one after the other (from a file and from
// bytes) stay distinct: each has its own kernels only.
TEST_P(KernelTest, DistinctModulesStayDistinct) {
  const std::string alt_bytes = ReadFile(spec_.alt_path);
  ASSERT_FALSE(alt_bytes.empty()) << spec_.alt_path;
  for (bool from_file : {true, false}) {
    SCOPED_TRACE(from_file ? "second module from a file" : "second module from bytes");
    Module alt;
    if (from_file) {
      ASSERT_XP(
          xpModuleLoadFile(dev(), XP_MODULE_NATIVE, spec_.alt_path.c_str(), nullptr, alt.out()));
    } else {
      ASSERT_XP(xpModuleLoadData(dev(), spec_.format, alt_bytes.data(), alt_bytes.size(), nullptr,
                                 alt.out()));
    }
    ASSERT_NE(alt.get(), module_.get());
    xpKernel k = nullptr;
    EXPECT_XP_ERROR(xpModuleGetKernel(alt, "vector_add", &k), {XP_ERROR_NOT_FOUND},
                    {{"vector_add"}});
    EXPECT_XP_ERROR(xpModuleGetKernel(module_, "alt_marker", &k), {XP_ERROR_NOT_FOUND},
                    {{"alt_marker"}});
    xpKernel marker = Get(alt, "alt_marker");
    ASSERT_NE(marker, nullptr);
    uint32_t n = 1000;
    DevicePtr out;
    ASSERT_XP(xpMalloc(dev(), n * sizeof(uint32_t), out.out()));
    void *pout = out.get();
    KernelArgs args;
    args.Add(pout).Add(n);
    const uint32_t block = BlockSize(device());
    Stream s;
    ASSERT_XP(xpStreamCreate(dev(), s.out()));
    ASSERT_XP(Launch(marker, {DivUp(n, block), 1, 1}, {block, 1, 1}, 0, s, args));
    std::vector<uint32_t> host(n);
    ASSERT_XP(xpMemcpyAsync(host.data(), out, n * sizeof(uint32_t), s));
    ASSERT_XP(xpStreamSynchronize(s));
    size_t wrong = 0;
    for (uint32_t i = 0; i < n; ++i) wrong += host[i] != 0xa17u + i;
    EXPECT_EQ(wrong, 0u);
  }
  // The first module is unaffected.
  CheckVectorAdd(device(), Get("vector_add"), 4097, 0);
}

CONFORMANCE_INSTANTIATE_DEVICES(KernelTest);

// ---------------------------------------------------------------------------
// Module and launch errors
// ---------------------------------------------------------------------------

class ModuleErrorsTest : public KernelTest {};

std::string Extension(const std::string &path) {
  return std::filesystem::path(path).extension().string();
}

TEST_P(ModuleErrorsTest, BuildFailure) {
  if (spec_.broken_module.empty())
    GTEST_SKIP() << "no module that fails to build is written for backend " << device().backend;
  xpModule m = nullptr;
  EXPECT_XP_ERROR(xpModuleLoadData(dev(), spec_.format, spec_.broken_module.data(),
                                   spec_.broken_module.size(), nullptr, &m),
                  spec_.broken_codes, {spec_.broken_mentions});
  EXPECT_EQ(m, nullptr);

  // The same bytes from a file with the backend's extension.
  const auto path =
      std::filesystem::temp_directory_path() /
      ("xpool_conformance_broken_" + std::to_string(getpid()) + Extension(spec_.path));
  {
    std::ofstream f(path, std::ios::binary);
    f << spec_.broken_module;
  }
  EXPECT_XP_ERROR(xpModuleLoadFile(dev(), XP_MODULE_NATIVE, path.c_str(), nullptr, &m),
                  spec_.broken_codes, {spec_.broken_mentions});
  std::filesystem::remove(path);

  ExpectStillWorks(dev());
  Module good;
  EXPECT_XP(xpModuleLoadFile(dev(), XP_MODULE_NATIVE, spec_.path.c_str(), nullptr, good.out()));
}

TEST_P(ModuleErrorsTest, BadLoadArguments) {
  const std::string path = "/nonexistent/xpool_conformance_missing" + Extension(spec_.path);
  xpModule m = nullptr;
  EXPECT_XP_ERROR(xpModuleLoadFile(dev(), XP_MODULE_NATIVE, path.c_str(), nullptr, &m),
                  {XP_ERROR_NOT_FOUND, XP_ERROR_INVALID_VALUE}, {{path}});
  EXPECT_XP_ERROR(xpModuleLoadFile(dev(), XP_MODULE_NATIVE, nullptr, nullptr, &m),
                  {XP_ERROR_INVALID_VALUE}, {{"xpModuleLoadFile"}, {"null", "path"}});
  EXPECT_XP_ERROR(xpModuleLoadFile(dev(), XP_MODULE_NATIVE, spec_.path.c_str(), nullptr, nullptr),
                  {XP_ERROR_INVALID_VALUE}, {{"xpModuleLoadFile"}, {"null", "module"}});
  const std::string bytes = ReadFile(spec_.path);
  EXPECT_XP_ERROR(xpModuleLoadData(dev(), spec_.format, nullptr, 100, nullptr, &m),
                  {XP_ERROR_INVALID_VALUE}, {{"xpModuleLoadData"}, {"null", "data"}});
  EXPECT_XP_ERROR(xpModuleLoadData(dev(), spec_.format, bytes.data(), 0, nullptr, &m),
                  {XP_ERROR_INVALID_VALUE}, {{"xpModuleLoadData"}, {"0", "empty"}});
  EXPECT_XP_ERROR(
      xpModuleLoadData(dev(), spec_.format, bytes.data(), bytes.size(), nullptr, nullptr),
      {XP_ERROR_INVALID_VALUE}, {{"xpModuleLoadData"}, {"null", "module"}});
  EXPECT_EQ(m, nullptr);
  ExpectStillWorks(dev());
}

TEST_P(ModuleErrorsTest, UnsupportedFormat) {
  std::string name = xpModuleFormatName(spec_.unsupported);
  if (name.rfind("XP_MODULE_", 0) == 0) name = name.substr(10);
  const char data[] = "not a module";
  xpModule m = nullptr;
  EXPECT_XP_ERROR(xpModuleLoadData(dev(), spec_.unsupported, data, sizeof data, nullptr, &m),
                  {XP_ERROR_NOT_SUPPORTED}, {{name}});
  ExpectStillWorks(dev());
}

TEST_P(ModuleErrorsTest, UnknownKernelName) {
  xpKernel k = nullptr;
  EXPECT_XP_ERROR(xpModuleGetKernel(module_, "no_such_kernel_xyz", &k), {XP_ERROR_NOT_FOUND},
                  {{"no_such_kernel_xyz"}});
  EXPECT_XP_ERROR(xpModuleGetKernel(module_, nullptr, &k), {XP_ERROR_INVALID_VALUE},
                  {{"xpModuleGetKernel"}, {"null", "name"}});
  EXPECT_XP_ERROR(xpModuleGetKernel(module_, "vector_add", nullptr), {XP_ERROR_INVALID_VALUE},
                  {{"xpModuleGetKernel"}, {"null", "kernel"}});
  EXPECT_XP_ERROR(xpModuleGetKernel(nullptr, "vector_add", &k),
                  {XP_ERROR_INVALID_HANDLE, XP_ERROR_INVALID_VALUE},
                  {{"xpModuleGetKernel"}, {"null", "module"}});
  EXPECT_XP_ERROR(xpModuleUnload(nullptr), {XP_ERROR_INVALID_HANDLE, XP_ERROR_INVALID_VALUE},
                  {{"xpModuleUnload"}});
  ExpectStillWorks(dev());
  CheckVectorAdd(device(), Get("vector_add"), 1000, 0);
}

TEST_P(ModuleErrorsTest, WrongArgumentCount) {
  if (!spec_.checks_arg_count)
    GTEST_SKIP() << "backend " << device().backend
                 << " cannot tell how many arguments a kernel takes";
  xpKernel kernel = Get("vector_add");
  ASSERT_NE(kernel, nullptr);
  DevicePtr d;
  ASSERT_XP(xpMalloc(dev(), 4096, d.out()));
  void *p = d.get();
  uint32_t n = 1024, extra = 7;
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  KernelArgs three, five;
  three.Add(p).Add(p).Add(p);
  five.Add(p).Add(p).Add(p).Add(n).Add(extra);
  const xpDim3 grid{DivUp(n, BlockSize(device())), 1, 1}, block{BlockSize(device()), 1, 1};
  EXPECT_XP_ERROR(Launch(kernel, grid, block, 0, s, three), {XP_ERROR_INVALID_VALUE},
                  {{"3"}, {"4"}});
  EXPECT_XP_ERROR(Launch(kernel, grid, block, 0, s, five), {XP_ERROR_INVALID_VALUE},
                  {{"5"}, {"4"}});
  EXPECT_XP(xpStreamSynchronize(s));
  ExpectStillWorks(dev());
  CheckVectorAdd(device(), kernel, 1000, 0);
}

TEST_P(ModuleErrorsTest, NullLaunchArguments) {
  xpKernel kernel = Get("vector_add");
  ASSERT_NE(kernel, nullptr);
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  DevicePtr d;
  ASSERT_XP(xpMalloc(dev(), 4096, d.out()));
  void *p = d.get();
  uint32_t n = 1024;
  KernelArgs args;
  args.Add(p).Add(p).Add(p).Add(n);
  const xpDim3 grid{DivUp(n, BlockSize(device())), 1, 1}, block{BlockSize(device()), 1, 1};
  EXPECT_XP_ERROR(xpLaunchKernel(kernel, grid, block, 0, s, nullptr, args.sizes(), 4),
                  {XP_ERROR_INVALID_VALUE}, {{"xpLaunchKernel"}, {"null", "args"}});
  EXPECT_XP_ERROR(xpLaunchKernel(kernel, grid, block, 0, s, args.values(), nullptr, 4),
                  {XP_ERROR_INVALID_VALUE}, {{"xpLaunchKernel"}, {"null", "size"}});
  EXPECT_XP_ERROR(xpLaunchKernel(kernel, grid, block, 0, s, args.values(), args.sizes(), -1),
                  {XP_ERROR_INVALID_VALUE}, {{"xpLaunchKernel"}, {"-1"}});
  EXPECT_XP_ERROR(xpLaunchKernel(nullptr, grid, block, 0, s, args.values(), args.sizes(), 4),
                  {XP_ERROR_INVALID_HANDLE, XP_ERROR_INVALID_VALUE},
                  {{"xpLaunchKernel"}, {"null", "kernel"}});
  EXPECT_XP(xpStreamSynchronize(s));
  ExpectStillWorks(dev());
  CheckVectorAdd(device(), kernel, 1000, 0);
}

CONFORMANCE_INSTANTIATE_DEVICES(ModuleErrorsTest);

}  // namespace
}  // namespace conformance
