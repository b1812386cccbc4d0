// Native handles: xpStreamGetNative and xpDeviceMakeCurrent on every device,
// their errors, and, where the test can reach the vendor API through the
// library the backend opened (OpenCL, CUDA), that work enqueued on the
// native stream is ordered with the stream's own work.
#include <dlfcn.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "common/cuda_driver_calls.h"
#include "conformance.h"

#ifdef XPOOL_TEST_HAVE_OPENCL_HEADERS
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#endif

namespace conformance {
namespace {

class NativeTest : public DeviceTest {};

// Backends whose streams have a native handle.
bool HasNativeStreams(const std::string &backend) {
  return backend == "cuda" || backend == "opencl" || backend == "hip";
}

xpNativeStream NativeOf(xpStream stream, xpStatus *status) {
  xpNativeStream native{};
  native.struct_size = sizeof native;
  *status = xpStreamGetNative(stream, &native);
  return native;
}

// Creates `s` on `device` and hands it out: its native handles in `native`.
// Call under ASSERT_NO_FATAL_FAILURE.
void HandOut(int device, Stream *s, xpNativeStream *native) {
  ASSERT_XP(xpStreamCreate(device, s->out()));
  xpStatus status = XP_ERROR_INTERNAL;
  *native = NativeOf(*s, &status);
  ASSERT_XP(status);
}

// A vendor library the backend already opened (never closed), or nullptr.
void *LoadedLibrary(const char *name) {
  return dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
}

TEST_P(NativeTest, StreamHandles) {
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  xpStatus status = XP_ERROR_INTERNAL;
  const xpNativeStream native = NativeOf(s, &status);
  const std::string backend = device().backend;
  if (!HasNativeStreams(backend)) {
    EXPECT_XP_ERROR(status, {XP_ERROR_NOT_SUPPORTED},
                    {{"xpStreamGetNative: the " + backend +
                      " backend's streams have no native "
                      "handle"}});
    EXPECT_EQ(native.stream, nullptr);
    EXPECT_EQ(native.context, nullptr);
    EXPECT_EQ(native.device_ordinal, -1);
    ASSERT_NE(native.backend, nullptr);
    EXPECT_EQ(std::string(native.backend), backend);
    ExpectStillWorks(dev());
    return;
  }
  ASSERT_XP(status);
  EXPECT_EQ(native.struct_size, sizeof native);
  ASSERT_NE(native.backend, nullptr);
  EXPECT_EQ(std::string(native.backend), backend);
  EXPECT_NE(native.stream, nullptr);
  if (backend != "hip") {
    EXPECT_NE(native.context, nullptr);
  }
  if (backend == "cuda") {
    EXPECT_GE(native.device_ordinal, 0);  // CUDA's ordinal, which CUDA_VISIBLE_DEVICES may shift
  } else {
    EXPECT_EQ(native.device_ordinal, device().backend_device);
  }
  // The same handles again; another stream of the device has its own stream
  // in the same context.
  const xpNativeStream again = NativeOf(s, &status);
  ASSERT_XP(status);
  EXPECT_EQ(again.stream, native.stream);
  EXPECT_EQ(again.context, native.context);
  Stream other;
  ASSERT_XP(xpStreamCreate(dev(), other.out()));
  const xpNativeStream theirs = NativeOf(other, &status);
  ASSERT_XP(status);
  EXPECT_NE(theirs.stream, native.stream);
  EXPECT_EQ(theirs.context, native.context);
  EXPECT_EQ(theirs.device_ordinal, native.device_ordinal);
  // Handing the stream out changes nothing for its own work.
  constexpr size_t kBytes = 64 * 1024 + 3;
  HostBuffer in(kBytes), out(kBytes);
  in.Fill(77);
  out.Set(0);
  DevicePtr d;
  ASSERT_XP(xpMalloc(dev(), kBytes, d.out()));
  ASSERT_XP(xpMemcpyAsync(d, in.data(), kBytes, s));
  ASSERT_XP(xpMemcpyAsync(out.data(), d, kBytes, s));
  ASSERT_XP(xpStreamSynchronize(s));
  EXPECT_TRUE(BytesEqual(in.data(), out.data(), kBytes));
  // A handed-out queue may hold the caller's commands, so a backend may query
  // it through a marker with a short grace (opencl: 1 ms), which a loaded
  // machine can exceed: an idle stream may read "not ready" once. Ask again
  // until a deadline.
  xpStatus queried = xpStreamQuery(s);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (queried == XP_ERROR_NOT_READY && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    queried = xpStreamQuery(s);
  }
  EXPECT_EQ(queried, XP_SUCCESS) << xpGetLastError();
}

TEST_P(NativeTest, BadArguments) {
  Stream s;
  ASSERT_XP(xpStreamCreate(dev(), s.out()));
  EXPECT_XP_ERROR(xpStreamGetNative(s, nullptr), {XP_ERROR_INVALID_VALUE},
                  {{"xpStreamGetNative"}, {"out is NULL"}});
  xpNativeStream small{};
  small.struct_size = sizeof small - 1;
  EXPECT_XP_ERROR(xpStreamGetNative(s, &small), {XP_ERROR_INVALID_VALUE},
                  {{"xpStreamGetNative"},
                   {"struct_size is " + std::to_string(sizeof small - 1)},
                   {"at least " + std::to_string(sizeof small)}});
  EXPECT_EQ(small.stream, nullptr) << "a refused call wrote its output";
  xpNativeStream zero{};
  EXPECT_XP_ERROR(xpStreamGetNative(s, &zero), {XP_ERROR_INVALID_VALUE},
                  {{"xpStreamGetNative"}, {"struct_size is 0"}});
  xpNativeStream native{};
  native.struct_size = sizeof native;
  EXPECT_XP_ERROR(xpStreamGetNative(nullptr, &native), {XP_ERROR_INVALID_HANDLE},
                  {{"xpStreamGetNative"}, {"NULL"}});
  Stream dead;
  ASSERT_XP(xpStreamCreate(dev(), dead.out()));
  xpStream gone = dead.release();
  ASSERT_XP(xpStreamDestroy(gone));
  EXPECT_XP_ERROR(xpStreamGetNative(gone, &native), {XP_ERROR_INVALID_HANDLE},
                  {{"xpStreamGetNative"}, {"not a live stream"}});

  int count = 0;
  ASSERT_XP(xpDeviceCount(&count));
  const std::string pool = "the pool has " + std::to_string(count) + " device";
  EXPECT_XP_ERROR(xpDeviceMakeCurrent(-1), {XP_ERROR_INVALID_VALUE},
                  {{"xpDeviceMakeCurrent"}, {"device -1"}, {pool}});
  EXPECT_XP_ERROR(xpDeviceMakeCurrent(count), {XP_ERROR_INVALID_VALUE},
                  {{"xpDeviceMakeCurrent"}, {"device " + std::to_string(count)}, {pool}});
  ExpectStillWorks(dev());
}

// ---- CUDA: the driver the backend opened ------------------------------------

// The driver the cuda backend opened, or nullptr.
void *CudaDriver() {
  return LoadedLibrary("libcuda.so.1");
}
void *CudaEntry(const char *name) {
  return xpooltest::CudaDriverEntry(CudaDriver(), name);
}
void *CudaCurrentContext() {
  return xpooltest::CudaCurrentContext(CudaDriver());
}

TEST_P(NativeTest, MakeCurrent) {
  if (device().backend != "cuda") {
    // Nothing to make current: success, and nothing changes.
    EXPECT_XP(xpDeviceMakeCurrent(dev()));
    ExpectStillWorks(dev());
    return;
  }
  Stream s;
  xpNativeStream native{};
  ASSERT_NO_FATAL_FAILURE(HandOut(dev(), &s, &native));
  const xpooltest::RestoreCudaContext restore(CudaDriver());
  ASSERT_NE(restore.before(), xpooltest::kNoCudaContext) << "cannot reach cuCtxGetCurrent";
  ASSERT_XP(xpDeviceMakeCurrent(dev()));
  EXPECT_EQ(CudaCurrentContext(), native.context);
  // xpool's own calls leave it current.
  ExpectStillWorks(dev());
  EXPECT_EQ(CudaCurrentContext(), native.context);
}

// A fill enqueued on the CUstream between two of the stream's copies lands
// between them: directly, behind a host function, and behind a copy the
// runtime stages from a device of another backend (a host function too).
TEST_P(NativeTest, CudaNativeWorkIsOrdered) {
  if (device().backend != "cuda") GTEST_SKIP() << "a cuda device's test";
  using MemsetD8Async = int (*)(unsigned long long, unsigned char, size_t, void *);
  auto memset_d8 = reinterpret_cast<MemsetD8Async>(CudaEntry("cuMemsetD8Async"));
  ASSERT_NE(memset_d8, nullptr) << "cannot reach cuMemsetD8Async in libcuda.so.1";
  // A device of another backend that the host cannot address, for a staged copy.
  int staged_from = -1;
  for (const Device &other : Devices()) {
    if (other.backend != "cuda" && !other.host_addressable) staged_from = other.ordinal;
  }
  Stream s;
  xpNativeStream native{};
  ASSERT_NO_FATAL_FAILURE(HandOut(dev(), &s, &native));
  const xpooltest::RestoreCudaContext restore(CudaDriver());
  ASSERT_XP(xpDeviceMakeCurrent(dev()));  // what NCCL needs before it enqueues
  constexpr size_t kBytes = size_t{1} << 20;
  constexpr size_t kAt = 4096, kLength = kBytes / 2;
  DevicePtr d, source;
  ASSERT_XP(xpMalloc(dev(), kBytes, d.out()));
  if (staged_from >= 0) {
    ASSERT_XP(xpMalloc(staged_from, kBytes, source.out()));
  }
  PinnedPtr in, out;
  ASSERT_XP(xpMallocHost(kBytes, in.out()));
  ASSERT_XP(xpMallocHost(kBytes, out.out()));
  const char *const kModes[] = {"direct", "behind a host function", "staged from another backend"};
  for (int mode = 0; mode < 3; ++mode) {
    SCOPED_TRACE(kModes[mode]);
    if (mode == 2 && staged_from < 0) {
      std::printf("no device of another backend: the staged case is not run\n");
      continue;
    }
    FillPattern(U8(in.get()), kBytes, 500 + static_cast<uint64_t>(mode));
    std::memset(out.get(), 0, kBytes);
    if (mode == 2) {
      ASSERT_XP(xpMemcpy(source, in, kBytes));
      ASSERT_XP(xpMemsetAsync(d, 0, kBytes, s));
      ASSERT_XP(xpMemcpyAsync(d, source, kBytes, s));  // staged through host buffers
    } else {
      if (mode == 1) {
        ASSERT_XP(xpLaunchHostFunc(s, SleepHostFn, Ms(50)));
      }
      ASSERT_XP(xpMemcpyAsync(d, in, kBytes, s));
    }
    ASSERT_EQ(memset_d8(reinterpret_cast<uintptr_t>(d.get()) + kAt, 0xee, kLength, native.stream),
              0);
    ASSERT_XP(xpMemcpyAsync(out, d, kBytes, s));
    ASSERT_XP(xpStreamSynchronize(s));
    HostBuffer expected(kBytes);
    std::memcpy(expected.data(), in.get(), kBytes);
    std::memset(expected.data() + kAt, 0xee, kLength);
    EXPECT_TRUE(BytesEqual(expected.data(), U8(out.get()), kBytes));
  }
  // Against the mock driver (tests/backends_cuda): no misuse, the native
  // fill's current context included.
  using Violations = int (*)(char *, size_t);
  void *driver = LoadedLibrary("libcuda.so.1");
  if (auto violations = reinterpret_cast<Violations>(
          driver != nullptr ? dlsym(driver, "xpoolMockCudaViolations") : nullptr)) {
    char first[512] = {};
    EXPECT_EQ(violations(first, sizeof first), 0) << "the mock driver saw misuse; first: " << first;
  }
}

// ---- OpenCL: the library the backend opened ----------------------------------

#ifdef XPOOL_TEST_HAVE_OPENCL_HEADERS

struct Cl {
  decltype(&::clCreateBuffer) clCreateBuffer = nullptr;
  decltype(&::clReleaseMemObject) clReleaseMemObject = nullptr;
  decltype(&::clEnqueueWriteBuffer) clEnqueueWriteBuffer = nullptr;
  decltype(&::clEnqueueReadBuffer) clEnqueueReadBuffer = nullptr;
  decltype(&::clGetCommandQueueInfo) clGetCommandQueueInfo = nullptr;
  bool ok = false;
};

Cl OpenClEntries() {
  Cl cl;
  const char *env = std::getenv("XPOOL_OPENCL_LIBRARY");
  void *library = LoadedLibrary(env != nullptr && env[0] != '\0' ? env : "libOpenCL.so.1");
  if (library == nullptr) return cl;
  cl.clCreateBuffer =
      reinterpret_cast<decltype(cl.clCreateBuffer)>(dlsym(library, "clCreateBuffer"));
  cl.clReleaseMemObject =
      reinterpret_cast<decltype(cl.clReleaseMemObject)>(dlsym(library, "clReleaseMemObject"));
  cl.clEnqueueWriteBuffer =
      reinterpret_cast<decltype(cl.clEnqueueWriteBuffer)>(dlsym(library, "clEnqueueWriteBuffer"));
  cl.clEnqueueReadBuffer =
      reinterpret_cast<decltype(cl.clEnqueueReadBuffer)>(dlsym(library, "clEnqueueReadBuffer"));
  cl.clGetCommandQueueInfo =
      reinterpret_cast<decltype(cl.clGetCommandQueueInfo)>(dlsym(library, "clGetCommandQueueInfo"));
  cl.ok = cl.clCreateBuffer && cl.clReleaseMemObject && cl.clEnqueueWriteBuffer &&
          cl.clEnqueueReadBuffer && cl.clGetCommandQueueInfo;
  return cl;
}

// A relay through a buffer of the caller's own, in the native context: the
// stream's download, the caller's write and read of its buffer, then the
// stream's upload and download. Each step reads what the one before wrote,
// so the result is right only if the native queue keeps the stream's order
// both ways; the last step being native, synchronize must cover it.
TEST_P(NativeTest, OpenClNativeWorkIsOrdered) {
  if (device().backend != "opencl") GTEST_SKIP() << "an opencl device's test";
  const Cl cl = OpenClEntries();
  ASSERT_TRUE(cl.ok) << "cannot reach the OpenCL library the backend opened";
  Stream s;
  xpNativeStream native{};
  ASSERT_NO_FATAL_FAILURE(HandOut(dev(), &s, &native));
  auto *queue = static_cast<cl_command_queue>(native.stream);
  cl_context owner = nullptr;
  ASSERT_EQ(cl.clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof owner, &owner, nullptr),
            CL_SUCCESS);
  EXPECT_EQ(owner, static_cast<cl_context>(native.context));
  constexpr size_t kBytes = size_t{2} << 20;
  cl_int err = CL_SUCCESS;
  cl_mem mine = cl.clCreateBuffer(static_cast<cl_context>(native.context), CL_MEM_READ_WRITE,
                                  kBytes, nullptr, &err);
  ASSERT_EQ(err, CL_SUCCESS);
  DevicePtr a, b;
  ASSERT_XP(xpMalloc(dev(), kBytes, a.out()));
  ASSERT_XP(xpMalloc(dev(), kBytes, b.out()));
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    HostBuffer in(kBytes), mid(kBytes), mid2(kBytes), out(kBytes), tail(kBytes);
    in.Fill(900 + static_cast<uint64_t>(round));
    mid.Set(0);
    mid2.Set(0);
    out.Set(0);
    tail.Set(0);
    ASSERT_XP(xpMemcpyAsync(a, in.data(), kBytes, s));
    ASSERT_XP(xpMemcpyAsync(mid.data(), a, kBytes, s));
    ASSERT_EQ(
        cl.clEnqueueWriteBuffer(queue, mine, CL_FALSE, 0, kBytes, mid.data(), 0, nullptr, nullptr),
        CL_SUCCESS);
    ASSERT_EQ(
        cl.clEnqueueReadBuffer(queue, mine, CL_FALSE, 0, kBytes, mid2.data(), 0, nullptr, nullptr),
        CL_SUCCESS);
    ASSERT_XP(xpMemcpyAsync(b, mid2.data(), kBytes, s));
    ASSERT_XP(xpMemcpyAsync(out.data(), b, kBytes, s));
    ASSERT_EQ(
        cl.clEnqueueReadBuffer(queue, mine, CL_FALSE, 0, kBytes, tail.data(), 0, nullptr, nullptr),
        CL_SUCCESS);
    ASSERT_XP(xpStreamSynchronize(s));
    EXPECT_TRUE(BytesEqual(in.data(), out.data(), kBytes)) << "xpool -> native -> xpool";
    EXPECT_TRUE(BytesEqual(in.data(), tail.data(), kBytes)) << "synchronize and native work last";
  }
  EXPECT_EQ(cl.clReleaseMemObject(mine), CL_SUCCESS);
}

#endif  // XPOOL_TEST_HAVE_OPENCL_HEADERS

CONFORMANCE_INSTANTIATE_DEVICES(NativeTest);

}  // namespace
}  // namespace conformance
