// A stand-in libcuda.so.1 for testing the cuda backend on machines without
// an NVIDIA GPU. It exports what the backend looks up with dlsym
// (cuGetProcAddress_v2, cuDriverGetVersion) and serves every other entry
// point through cuGetProcAddress, with host memory as "device" memory and
// one thread per stream executing its operations in order.
//
// It is strict where the real driver is strict in ways the backend must
// respect, and counts violations instead of crashing:
//  - calls that act on a context need that context current on the thread
//    (catches a missing ScopedContext);
//  - host functions (cuLaunchHostFunc) must not call CUDA;
//  - device pointers must lie inside live allocations.
// Test code reads the count with xpoolMockCudaViolations(); the other hooks at
// the end of this file tell which context is current and which streams the
// mock created.
//
// Kernels: modules are accepted when they look like cubins (ELF), fatbins
// or PTX; PTX without "ret;" is a "syntax error" with a ptxas-style log. The
// kernel named vector_add(const float*, const float*, float*, int) runs on
// the host; other kernels do nothing.
#include <cuda.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#define MOCK_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

constexpr int kMaxDevices = 8;
constexpr size_t kDeviceMemory = size_t{80} << 30;

struct MockContext {
  int device = 0;
  int retained = 0;
  bool peer[kMaxDevices] = {};
};

struct MockFunction;

struct MockModule {
  MockContext *ctx = nullptr;
  std::vector<std::unique_ptr<MockFunction>> functions;
};

struct MockFunction {
  MockModule *module = nullptr;
  std::string name;
  std::vector<size_t> params;  // sizes
  int max_dynamic_shared = 48 * 1024;
};

struct MockEvent {
  MockContext *ctx = nullptr;
  unsigned flags = 0;
  std::atomic<uint64_t> recorded{0};
  std::atomic<uint64_t> completed{0};
  std::atomic<int64_t> time_ns{0};
};

struct MockStream {
  MockContext *ctx = nullptr;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::function<void()>> ops;
  bool busy = false;
  bool stopping = false;
  std::thread worker;
};

std::mutex g_mutex;  // guards everything below
int g_device_count = 2;
MockContext g_contexts[kMaxDevices];
std::map<uintptr_t, std::pair<size_t, int>> g_allocations;  // base -> (bytes, device)
std::map<uintptr_t, size_t> g_pinned;                       // host base -> bytes
std::map<MockStream *, int> g_streams;                      // live streams -> device
size_t g_used[kMaxDevices] = {};
std::string g_first_violation;
std::atomic<int> g_violations{0};
thread_local MockContext *t_current = nullptr;
thread_local bool t_in_host_function = false;

void violation(const char *fmt, ...) {
  char text[512];
  va_list args;
  va_start(args, fmt);
  vsnprintf(text, sizeof text, fmt, args);
  va_end(args);
  std::lock_guard lock(g_mutex);
  if (g_violations.fetch_add(1) == 0) g_first_violation = text;
  fprintf(stderr, "mock libcuda: violation: %s\n", text);
}

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Every entry starts with this: no CUDA from host functions.
#define MOCK_ENTER(name)                                             \
  do {                                                               \
    if (t_in_host_function) {                                        \
      violation("%s called from a cuLaunchHostFunc callback", name); \
      return CUDA_ERROR_NOT_PERMITTED;                               \
    }                                                                \
  } while (0)

// ... and this when it acts on the current context.
#define MOCK_NEED_CONTEXT(name)                               \
  do {                                                        \
    if (t_current == nullptr) {                               \
      violation("%s called without a current context", name); \
      return CUDA_ERROR_INVALID_CONTEXT;                      \
    }                                                         \
  } while (0)

bool isDevice(CUdeviceptr p, size_t bytes, int *device = nullptr) {
  std::lock_guard lock(g_mutex);
  auto it = g_allocations.upper_bound(p);
  if (it == g_allocations.begin()) return false;
  --it;
  if (p + bytes > it->first + it->second.first) return false;
  if (device != nullptr) *device = it->second.second;
  return true;
}

bool isPinned(const void *p) {
  const auto address = reinterpret_cast<uintptr_t>(p);
  std::lock_guard lock(g_mutex);
  auto it = g_pinned.upper_bound(address);
  if (it == g_pinned.begin()) return false;
  --it;
  return address < it->first + it->second;
}

void streamLoop(MockStream *stream) {
  std::unique_lock lock(stream->mutex);
  for (;;) {
    stream->changed.wait(lock, [&] { return stream->stopping || !stream->ops.empty(); });
    if (stream->ops.empty()) return;
    auto op = std::move(stream->ops.front());
    stream->ops.pop_front();
    stream->busy = true;
    lock.unlock();
    op();
    lock.lock();
    stream->busy = false;
    stream->changed.notify_all();
  }
}

void enqueue(MockStream *stream, std::function<void()> op) {
  std::lock_guard lock(stream->mutex);
  stream->ops.push_back(std::move(op));
  stream->changed.notify_all();
}

// The stream's context must be current, as for the real driver.
CUresult checkStream(const char *name, CUstream handle) {
  if (handle == nullptr) {
    violation("%s on the NULL stream (the backend uses its own streams)", name);
    return CUDA_ERROR_INVALID_HANDLE;
  }
  auto *stream = reinterpret_cast<MockStream *>(handle);
  if (t_current != stream->ctx) {
    violation("%s on a stream of device %d with %s current", name, stream->ctx->device,
              t_current == nullptr ? "no context" : "another device's context");
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  return CUDA_SUCCESS;
}

// ---- errors, init, devices -------------------------------------------------

CUresult mockGetErrorName(CUresult error, const char **out) {
  switch (error) {
#define NAME(x) \
  case x:       \
    *out = #x;  \
    return CUDA_SUCCESS;
    NAME(CUDA_SUCCESS)
    NAME(CUDA_ERROR_INVALID_VALUE)
    NAME(CUDA_ERROR_OUT_OF_MEMORY)
    NAME(CUDA_ERROR_INVALID_CONTEXT)
    NAME(CUDA_ERROR_INVALID_HANDLE)
    NAME(CUDA_ERROR_INVALID_PTX)
    NAME(CUDA_ERROR_INVALID_IMAGE)
    NAME(CUDA_ERROR_NOT_FOUND)
    NAME(CUDA_ERROR_NOT_READY)
    NAME(CUDA_ERROR_NOT_PERMITTED)
    NAME(CUDA_ERROR_NOT_SUPPORTED)
    NAME(CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED)
    NAME(CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED)
    NAME(CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED)
#undef NAME
    default:
      *out = nullptr;
      return CUDA_ERROR_INVALID_VALUE;
  }
}

CUresult mockGetErrorString(CUresult error, const char **out) {
  switch (error) {
    case CUDA_ERROR_OUT_OF_MEMORY:
      *out = "out of memory";
      return CUDA_SUCCESS;
    case CUDA_ERROR_INVALID_PTX:
      *out = "a PTX JIT compilation failed";
      return CUDA_SUCCESS;
    case CUDA_ERROR_NOT_READY:
      *out = "device not ready";
      return CUDA_SUCCESS;
    case CUDA_ERROR_INVALID_VALUE:
      *out = "invalid argument";
      return CUDA_SUCCESS;
    case CUDA_ERROR_NOT_FOUND:
      *out = "named symbol not found";
      return CUDA_SUCCESS;
    default:
      *out = "mock error";
      return CUDA_SUCCESS;
  }
}

CUresult mockInit(unsigned flags) {
  MOCK_ENTER("cuInit");
  if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
  if (const char *count = std::getenv("XPOOL_MOCK_CUDA_DEVICES")) {
    g_device_count = std::clamp(std::atoi(count), 0, kMaxDevices);
  }
  for (int i = 0; i < kMaxDevices; ++i) g_contexts[i].device = i;
  return CUDA_SUCCESS;
}

CUresult mockDeviceGetCount(int *count) {
  MOCK_ENTER("cuDeviceGetCount");
  *count = g_device_count;
  return CUDA_SUCCESS;
}

CUresult mockDeviceGet(CUdevice *device, int ordinal) {
  MOCK_ENTER("cuDeviceGet");
  if (ordinal < 0 || ordinal >= g_device_count) return CUDA_ERROR_INVALID_DEVICE;
  *device = ordinal;
  return CUDA_SUCCESS;
}

CUresult mockDeviceGetName(char *name, int length, CUdevice device) {
  MOCK_ENTER("cuDeviceGetName");
  snprintf(name, static_cast<size_t>(length), "Mock H100 %d", device);
  return CUDA_SUCCESS;
}

CUresult mockDeviceGetUuid(CUuuid *uuid, CUdevice device) {
  MOCK_ENTER("cuDeviceGetUuid");
  for (int i = 0; i < 16; ++i) uuid->bytes[i] = static_cast<char>(0x10 * device + i);
  return CUDA_SUCCESS;
}

CUresult mockDeviceTotalMem(size_t *bytes, CUdevice) {
  MOCK_ENTER("cuDeviceTotalMem");
  *bytes = kDeviceMemory;
  return CUDA_SUCCESS;
}

CUresult mockDeviceGetAttribute(int *value, CUdevice_attribute attribute, CUdevice device) {
  MOCK_ENTER("cuDeviceGetAttribute");
  switch (attribute) {
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT:
      *value = 132;
      break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR:
      *value = 9;
      break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR:
      *value = 0;
      break;
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK:
      *value = 1024;
      break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN:
      *value = 227 * 1024;
      break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK:
      *value = 48 * 1024;
      break;
    case CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID:
      *value = 0;
      break;
    case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID:
      *value = 0x41 + device;
      break;
    case CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID:
      *value = 0;
      break;
    case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING:
      *value = 1;
      break;
    default:
      *value = 0;
      break;
  }
  return CUDA_SUCCESS;
}

CUresult mockDeviceCanAccessPeer(int *can, CUdevice, CUdevice) {
  MOCK_ENTER("cuDeviceCanAccessPeer");
  *can = 1;
  return CUDA_SUCCESS;
}

CUresult mockPrimaryCtxRetain(CUcontext *ctx, CUdevice device) {
  MOCK_ENTER("cuDevicePrimaryCtxRetain");
  std::lock_guard lock(g_mutex);
  ++g_contexts[device].retained;
  *ctx = reinterpret_cast<CUcontext>(&g_contexts[device]);
  return CUDA_SUCCESS;
}

CUresult mockPrimaryCtxRelease(CUdevice device) {
  MOCK_ENTER("cuDevicePrimaryCtxRelease");
  std::lock_guard lock(g_mutex);
  if (g_contexts[device].retained <= 0) return CUDA_ERROR_INVALID_CONTEXT;
  --g_contexts[device].retained;
  return CUDA_SUCCESS;
}

CUresult mockCtxGetCurrent(CUcontext *ctx) {
  MOCK_ENTER("cuCtxGetCurrent");
  *ctx = reinterpret_cast<CUcontext>(t_current);
  return CUDA_SUCCESS;
}

CUresult mockCtxSetCurrent(CUcontext ctx) {
  MOCK_ENTER("cuCtxSetCurrent");
  t_current = reinterpret_cast<MockContext *>(ctx);
  return CUDA_SUCCESS;
}

CUresult mockCtxEnablePeerAccess(CUcontext peer, unsigned) {
  MOCK_ENTER("cuCtxEnablePeerAccess");
  MOCK_NEED_CONTEXT("cuCtxEnablePeerAccess");
  auto *other = reinterpret_cast<MockContext *>(peer);
  std::lock_guard lock(g_mutex);
  if (t_current->peer[other->device]) return CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED;
  t_current->peer[other->device] = true;
  return CUDA_SUCCESS;
}

// ---- memory ----------------------------------------------------------------

CUresult mockMemGetInfo(size_t *free_bytes, size_t *total) {
  MOCK_ENTER("cuMemGetInfo");
  MOCK_NEED_CONTEXT("cuMemGetInfo");
  std::lock_guard lock(g_mutex);
  *total = kDeviceMemory;
  *free_bytes = kDeviceMemory - g_used[t_current->device];
  return CUDA_SUCCESS;
}

CUresult mockMemAlloc(CUdeviceptr *out, size_t bytes) {
  MOCK_ENTER("cuMemAlloc");
  MOCK_NEED_CONTEXT("cuMemAlloc");
  if (bytes == 0) return CUDA_ERROR_INVALID_VALUE;
  const int device = t_current->device;
  {
    std::lock_guard lock(g_mutex);
    if (bytes > kDeviceMemory - g_used[device]) return CUDA_ERROR_OUT_OF_MEMORY;
  }
  void *memory = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (memory == nullptr) return CUDA_ERROR_OUT_OF_MEMORY;
  std::memset(memory, 0xcd, bytes);
  std::lock_guard lock(g_mutex);
  g_used[device] += bytes;
  g_allocations[reinterpret_cast<uintptr_t>(memory)] = {bytes, device};
  *out = reinterpret_cast<CUdeviceptr>(memory);
  return CUDA_SUCCESS;
}

CUresult mockMemFree(CUdeviceptr p) {
  MOCK_ENTER("cuMemFree");
  MOCK_NEED_CONTEXT("cuMemFree");
  std::lock_guard lock(g_mutex);
  auto it = g_allocations.find(p);
  if (it == g_allocations.end()) return CUDA_ERROR_INVALID_VALUE;
  g_used[it->second.second] -= it->second.first;
  g_allocations.erase(it);
  std::free(reinterpret_cast<void *>(p));
  return CUDA_SUCCESS;
}

CUresult mockMemHostAlloc(void **out, size_t bytes, unsigned) {
  MOCK_ENTER("cuMemHostAlloc");
  MOCK_NEED_CONTEXT("cuMemHostAlloc");
  void *memory = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
  if (memory == nullptr) return CUDA_ERROR_OUT_OF_MEMORY;
  std::lock_guard lock(g_mutex);
  g_pinned[reinterpret_cast<uintptr_t>(memory)] = bytes;
  *out = memory;
  return CUDA_SUCCESS;
}

CUresult mockMemFreeHost(void *p) {
  MOCK_ENTER("cuMemFreeHost");
  MOCK_NEED_CONTEXT("cuMemFreeHost");
  std::lock_guard lock(g_mutex);
  if (g_pinned.erase(reinterpret_cast<uintptr_t>(p)) == 0) return CUDA_ERROR_INVALID_VALUE;
  std::free(p);
  return CUDA_SUCCESS;
}

CUresult mockMemHostGetDevicePointer(CUdeviceptr *out, void *p, unsigned flags) {
  MOCK_ENTER("cuMemHostGetDevicePointer");
  MOCK_NEED_CONTEXT("cuMemHostGetDevicePointer");
  if (flags != 0 || !isPinned(p)) return CUDA_ERROR_INVALID_VALUE;
  *out = reinterpret_cast<CUdeviceptr>(p);
  return CUDA_SUCCESS;
}

CUresult mockMemHostRegister(void *p, size_t bytes, unsigned) {
  MOCK_ENTER("cuMemHostRegister");
  MOCK_NEED_CONTEXT("cuMemHostRegister");
  if (isPinned(p)) return CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
  std::lock_guard lock(g_mutex);
  g_pinned[reinterpret_cast<uintptr_t>(p)] = bytes;
  return CUDA_SUCCESS;
}

CUresult mockMemHostUnregister(void *p) {
  MOCK_ENTER("cuMemHostUnregister");
  MOCK_NEED_CONTEXT("cuMemHostUnregister");
  std::lock_guard lock(g_mutex);
  if (g_pinned.erase(reinterpret_cast<uintptr_t>(p)) == 0) {
    return CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
  }
  return CUDA_SUCCESS;
}

CUresult mockPointerGetAttribute(void *data, CUpointer_attribute attribute, CUdeviceptr p) {
  MOCK_ENTER("cuPointerGetAttribute");
  if (attribute != CU_POINTER_ATTRIBUTE_MEMORY_TYPE) return CUDA_ERROR_NOT_SUPPORTED;
  unsigned type = 0;
  if (isDevice(p, 1)) {
    type = CU_MEMORYTYPE_DEVICE;
  } else if (isPinned(reinterpret_cast<void *>(p))) {
    type = CU_MEMORYTYPE_HOST;
  } else {
    return CUDA_ERROR_INVALID_VALUE;
  }
  std::memcpy(data, &type, sizeof type);
  return CUDA_SUCCESS;
}

CUresult checkDevice(const char *name, CUdeviceptr p, size_t bytes) {
  if (!isDevice(p, bytes)) {
    violation("%s: %zu bytes at 0x%llx are not inside a device allocation", name, bytes,
              static_cast<unsigned long long>(p));
    return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}

CUresult mockMemcpyHtoDAsync(CUdeviceptr dst, const void *src, size_t bytes, CUstream s) {
  MOCK_ENTER("cuMemcpyHtoDAsync");
  if (CUresult r = checkStream("cuMemcpyHtoDAsync", s); r != CUDA_SUCCESS) return r;
  if (CUresult r = checkDevice("cuMemcpyHtoDAsync", dst, bytes); r != CUDA_SUCCESS) return r;
  enqueue(reinterpret_cast<MockStream *>(s),
          [=] { std::memcpy(reinterpret_cast<void *>(dst), src, bytes); });
  return CUDA_SUCCESS;
}

CUresult mockMemcpyDtoHAsync(void *dst, CUdeviceptr src, size_t bytes, CUstream s) {
  MOCK_ENTER("cuMemcpyDtoHAsync");
  if (CUresult r = checkStream("cuMemcpyDtoHAsync", s); r != CUDA_SUCCESS) return r;
  if (CUresult r = checkDevice("cuMemcpyDtoHAsync", src, bytes); r != CUDA_SUCCESS) return r;
  enqueue(reinterpret_cast<MockStream *>(s),
          [=] { std::memcpy(dst, reinterpret_cast<const void *>(src), bytes); });
  return CUDA_SUCCESS;
}

CUresult mockMemcpyDtoDAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream s) {
  MOCK_ENTER("cuMemcpyDtoDAsync");
  if (CUresult r = checkStream("cuMemcpyDtoDAsync", s); r != CUDA_SUCCESS) return r;
  if (CUresult r = checkDevice("cuMemcpyDtoDAsync", dst, bytes); r != CUDA_SUCCESS) return r;
  if (CUresult r = checkDevice("cuMemcpyDtoDAsync", src, bytes); r != CUDA_SUCCESS) return r;
  enqueue(reinterpret_cast<MockStream *>(s), [=] {
    std::memmove(reinterpret_cast<void *>(dst), reinterpret_cast<const void *>(src), bytes);
  });
  return CUDA_SUCCESS;
}

CUresult mockMemcpyPeerAsync(CUdeviceptr dst, CUcontext dst_ctx, CUdeviceptr src, CUcontext src_ctx,
                             size_t bytes, CUstream s) {
  MOCK_ENTER("cuMemcpyPeerAsync");
  if (CUresult r = checkStream("cuMemcpyPeerAsync", s); r != CUDA_SUCCESS) return r;
  int dst_device = -1, src_device = -1;
  if (!isDevice(dst, bytes, &dst_device) || !isDevice(src, bytes, &src_device) ||
      reinterpret_cast<MockContext *>(dst_ctx)->device != dst_device ||
      reinterpret_cast<MockContext *>(src_ctx)->device != src_device) {
    violation("cuMemcpyPeerAsync: pointers and contexts do not match");
    return CUDA_ERROR_INVALID_VALUE;
  }
  enqueue(reinterpret_cast<MockStream *>(s), [=] {
    std::memcpy(reinterpret_cast<void *>(dst), reinterpret_cast<const void *>(src), bytes);
  });
  return CUDA_SUCCESS;
}

CUresult mockMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t bytes, CUstream s) {
  MOCK_ENTER("cuMemsetD8Async");
  if (CUresult r = checkStream("cuMemsetD8Async", s); r != CUDA_SUCCESS) return r;
  if (CUresult r = checkDevice("cuMemsetD8Async", dst, bytes); r != CUDA_SUCCESS) return r;
  enqueue(reinterpret_cast<MockStream *>(s),
          [=] { std::memset(reinterpret_cast<void *>(dst), value, bytes); });
  return CUDA_SUCCESS;
}

// ---- streams and events ----------------------------------------------------

CUresult mockStreamCreate(CUstream *out, unsigned flags) {
  MOCK_ENTER("cuStreamCreate");
  MOCK_NEED_CONTEXT("cuStreamCreate");
  if (flags != CU_STREAM_NON_BLOCKING) violation("cuStreamCreate with flags 0x%x", flags);
  auto *stream = new MockStream;
  stream->ctx = t_current;
  stream->worker = std::thread(streamLoop, stream);
  {
    std::lock_guard lock(g_mutex);
    g_streams[stream] = t_current->device;
  }
  *out = reinterpret_cast<CUstream>(stream);
  return CUDA_SUCCESS;
}

CUresult mockStreamDestroy(CUstream s) {
  MOCK_ENTER("cuStreamDestroy");
  auto *stream = reinterpret_cast<MockStream *>(s);
  {
    std::lock_guard lock(g_mutex);
    g_streams.erase(stream);
  }
  {
    std::lock_guard lock(stream->mutex);
    stream->stopping = true;
    stream->changed.notify_all();
  }
  stream->worker.join();  // runs what is left first, like the real driver
  delete stream;
  return CUDA_SUCCESS;
}

CUresult mockStreamQuery(CUstream s) {
  MOCK_ENTER("cuStreamQuery");
  auto *stream = reinterpret_cast<MockStream *>(s);
  std::lock_guard lock(stream->mutex);
  return stream->ops.empty() && !stream->busy ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
}

CUresult mockLaunchHostFunc(CUstream s, CUhostFn fn, void *data) {
  MOCK_ENTER("cuLaunchHostFunc");
  if (CUresult r = checkStream("cuLaunchHostFunc", s); r != CUDA_SUCCESS) return r;
  enqueue(reinterpret_cast<MockStream *>(s), [=] {
    t_in_host_function = true;
    fn(data);
    t_in_host_function = false;
  });
  return CUDA_SUCCESS;
}

CUresult mockStreamWaitValue32(CUstream s, CUdeviceptr address, cuuint32_t value, unsigned flags) {
  MOCK_ENTER("cuStreamWaitValue32");
  if (CUresult r = checkStream("cuStreamWaitValue32", s); r != CUDA_SUCCESS) return r;
  if (flags != CU_STREAM_WAIT_VALUE_GEQ) violation("cuStreamWaitValue32 flags 0x%x", flags);
  if (!isPinned(reinterpret_cast<void *>(address))) {
    violation("cuStreamWaitValue32 on memory that is not pinned host memory");
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (std::getenv("XPOOL_MOCK_CUDA_NO_WAIT_VALUE") != nullptr) return CUDA_ERROR_NOT_SUPPORTED;
  enqueue(reinterpret_cast<MockStream *>(s), [=] {
    auto *flag = reinterpret_cast<uint32_t *>(address);
    while (static_cast<int32_t>(std::atomic_ref<uint32_t>(*flag).load() - value) < 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(5));
    }
  });
  return CUDA_SUCCESS;
}

CUresult mockEventCreate(CUevent *out, unsigned flags) {
  MOCK_ENTER("cuEventCreate");
  MOCK_NEED_CONTEXT("cuEventCreate");
  auto *event = new MockEvent;
  event->ctx = t_current;
  event->flags = flags;
  *out = reinterpret_cast<CUevent>(event);
  return CUDA_SUCCESS;
}

CUresult mockEventDestroy(CUevent e) {
  MOCK_ENTER("cuEventDestroy");
  // The real driver frees it once pending records complete; the mock leaks
  // events destroyed while pending rather than racing the stream thread.
  auto *event = reinterpret_cast<MockEvent *>(e);
  if (event->completed.load() >= event->recorded.load()) delete event;
  return CUDA_SUCCESS;
}

CUresult mockEventRecord(CUevent e, CUstream s) {
  MOCK_ENTER("cuEventRecord");
  if (CUresult r = checkStream("cuEventRecord", s); r != CUDA_SUCCESS) return r;
  auto *event = reinterpret_cast<MockEvent *>(e);
  if (event->ctx != reinterpret_cast<MockStream *>(s)->ctx) {
    violation("cuEventRecord: event and stream of different contexts");
    return CUDA_ERROR_INVALID_HANDLE;
  }
  const uint64_t generation = event->recorded.fetch_add(1) + 1;
  enqueue(reinterpret_cast<MockStream *>(s), [=] {
    event->time_ns.store(nowNs());
    event->completed.store(generation);
  });
  return CUDA_SUCCESS;
}

CUresult mockEventQuery(CUevent e) {
  MOCK_ENTER("cuEventQuery");
  auto *event = reinterpret_cast<MockEvent *>(e);
  return event->completed.load() >= event->recorded.load() ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
}

CUresult mockEventElapsedTime(float *ms, CUevent a, CUevent b) {
  MOCK_ENTER("cuEventElapsedTime");
  auto *start = reinterpret_cast<MockEvent *>(a);
  auto *end = reinterpret_cast<MockEvent *>(b);
  if (((start->flags | end->flags) & CU_EVENT_DISABLE_TIMING) != 0) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  if (start->recorded.load() == 0 || end->recorded.load() == 0) return CUDA_ERROR_INVALID_HANDLE;
  if (mockEventQuery(a) != CUDA_SUCCESS || mockEventQuery(b) != CUDA_SUCCESS) {
    return CUDA_ERROR_NOT_READY;
  }
  *ms = static_cast<float>(static_cast<double>(end->time_ns.load() - start->time_ns.load()) / 1e6);
  return CUDA_SUCCESS;
}

CUresult mockStreamWaitEvent(CUstream s, CUevent e, unsigned) {
  MOCK_ENTER("cuStreamWaitEvent");
  if (CUresult r = checkStream("cuStreamWaitEvent", s); r != CUDA_SUCCESS) return r;
  auto *event = reinterpret_cast<MockEvent *>(e);
  const uint64_t target = event->recorded.load();
  enqueue(reinterpret_cast<MockStream *>(s), [=] {
    while (event->completed.load() < target) {
      std::this_thread::sleep_for(std::chrono::microseconds(5));
    }
  });
  return CUDA_SUCCESS;
}

// ---- modules and kernels ---------------------------------------------------

CUresult mockModuleLoadDataEx(CUmodule *out, const void *image, unsigned count,
                              CUjit_option *options, void **values) {
  MOCK_ENTER("cuModuleLoadDataEx");
  MOCK_NEED_CONTEXT("cuModuleLoadDataEx");
  char *error_log = nullptr;
  size_t error_log_size = 0;
  for (unsigned i = 0; i < count; ++i) {
    if (options[i] == CU_JIT_ERROR_LOG_BUFFER) error_log = static_cast<char *>(values[i]);
    if (options[i] == CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES) {
      error_log_size = reinterpret_cast<uintptr_t>(values[i]);
    }
  }
  const auto *bytes = static_cast<const char *>(image);
  uint32_t magic = 0;
  std::memcpy(&magic, bytes, sizeof magic);
  // A binary's size comes from its header: the end of an ELF image's
  // section header table, or a fatbin's header plus payload sizes.
  size_t binary_size = 0;
  if (std::memcmp(bytes,
                  "\x7f"
                  "ELF",
                  4) == 0) {
    uint64_t shoff = 0;
    uint16_t shentsize = 0, shnum = 0;
    std::memcpy(&shoff, bytes + 0x28, sizeof shoff);
    std::memcpy(&shentsize, bytes + 0x3a, sizeof shentsize);
    std::memcpy(&shnum, bytes + 0x3c, sizeof shnum);
    binary_size = shoff + size_t{shentsize} * shnum;
  } else if (magic == 0xBA55ED50u) {
    uint16_t header = 0;
    uint64_t payload = 0;
    std::memcpy(&header, bytes + 6, sizeof header);
    std::memcpy(&payload, bytes + 8, sizeof payload);
    binary_size = header + payload;
  }
  std::string text;
  if (binary_size > 0) {
    text.assign(bytes, binary_size);
  } else {
    text = bytes;  // PTX: NUL-terminated
    if (text.find("ret;") == std::string::npos) {
      if (error_log != nullptr && error_log_size > 0) {
        snprintf(error_log, error_log_size,
                 "ptxas application ptx input, line 6; fatal   : Parsing error near "
                 "'this_is_not_an_instruction': syntax error\nptxas fatal   : Ptx assembly aborted "
                 "due to errors");
      }
      return CUDA_ERROR_INVALID_PTX;
    }
  }
  auto *module = new MockModule;
  module->ctx = t_current;
  auto add = [&](const std::string &name) {
    auto function = std::make_unique<MockFunction>();
    function->module = module;
    function->name = name;
    if (name == "vector_add") function->params = {8, 8, 8, 4};
    module->functions.push_back(std::move(function));
  };
  if (binary_size > 0) {
    // Kernel names sit in the binary's string table.
    for (const char *name : {"vector_add", "empty_kernel"}) {
      if (text.find(name) != std::string::npos) add(name);
    }
  } else {
    for (size_t at = text.find(".entry "); at != std::string::npos;
         at = text.find(".entry ", at + 1)) {
      const size_t begin = at + 7;
      const size_t stop = text.find_first_of("( \n", begin);
      add(text.substr(begin, stop - begin));
    }
  }
  *out = reinterpret_cast<CUmodule>(module);
  return CUDA_SUCCESS;
}

CUresult mockModuleUnload(CUmodule m) {
  MOCK_ENTER("cuModuleUnload");
  MOCK_NEED_CONTEXT("cuModuleUnload");
  delete reinterpret_cast<MockModule *>(m);
  return CUDA_SUCCESS;
}

CUresult mockModuleGetFunction(CUfunction *out, CUmodule m, const char *name) {
  MOCK_ENTER("cuModuleGetFunction");
  MOCK_NEED_CONTEXT("cuModuleGetFunction");
  for (auto &function : reinterpret_cast<MockModule *>(m)->functions) {
    if (function->name == name) {
      *out = reinterpret_cast<CUfunction>(function.get());
      return CUDA_SUCCESS;
    }
  }
  return CUDA_ERROR_NOT_FOUND;
}

CUresult mockModuleGetFunctionCount(unsigned *count, CUmodule m) {
  MOCK_ENTER("cuModuleGetFunctionCount");
  *count = static_cast<unsigned>(reinterpret_cast<MockModule *>(m)->functions.size());
  return CUDA_SUCCESS;
}

CUresult mockModuleEnumerateFunctions(CUfunction *out, unsigned count, CUmodule m) {
  MOCK_ENTER("cuModuleEnumerateFunctions");
  auto &functions = reinterpret_cast<MockModule *>(m)->functions;
  for (unsigned i = 0; i < count && i < functions.size(); ++i) {
    out[i] = reinterpret_cast<CUfunction>(functions[i].get());
  }
  return CUDA_SUCCESS;
}

CUresult mockFuncGetName(const char **name, CUfunction f) {
  MOCK_ENTER("cuFuncGetName");
  *name = reinterpret_cast<MockFunction *>(f)->name.c_str();
  return CUDA_SUCCESS;
}

CUresult mockFuncGetParamInfo(CUfunction f, size_t index, size_t *offset, size_t *size) {
  MOCK_ENTER("cuFuncGetParamInfo");
  auto *function = reinterpret_cast<MockFunction *>(f);
  if (index >= function->params.size()) return CUDA_ERROR_INVALID_VALUE;
  size_t at = 0;
  for (size_t i = 0; i < index; ++i) at += function->params[i];
  *offset = at;
  if (size != nullptr) *size = function->params[index];
  return CUDA_SUCCESS;
}

CUresult mockFuncGetAttribute(int *value, CUfunction_attribute attribute, CUfunction f) {
  MOCK_ENTER("cuFuncGetAttribute");
  switch (attribute) {
    case CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK:
      *value = 1024;
      break;
    case CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES:
      *value = 0;
      break;
    case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES:
      *value = reinterpret_cast<MockFunction *>(f)->max_dynamic_shared;
      break;
    default:
      *value = 0;
      break;
  }
  return CUDA_SUCCESS;
}

CUresult mockFuncSetAttribute(CUfunction f, CUfunction_attribute attribute, int value) {
  MOCK_ENTER("cuFuncSetAttribute");
  if (attribute != CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES || value > 227 * 1024) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  reinterpret_cast<MockFunction *>(f)->max_dynamic_shared = value;
  return CUDA_SUCCESS;
}

CUresult mockLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                          unsigned by, unsigned bz, unsigned shared, CUstream s, void **params,
                          void **extra) {
  MOCK_ENTER("cuLaunchKernel");
  if (CUresult r = checkStream("cuLaunchKernel", s); r != CUDA_SUCCESS) return r;
  auto *function = reinterpret_cast<MockFunction *>(f);
  if (function->module->ctx != t_current) {
    violation("cuLaunchKernel: kernel of another context");
    return CUDA_ERROR_INVALID_HANDLE;
  }
  if (extra != nullptr || (params == nullptr && !function->params.empty())) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (gx * gy * gz == 0 || bx * by * bz == 0 || bx * by * bz > 1024) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (shared > static_cast<unsigned>(function->max_dynamic_shared)) {
    violation("cuLaunchKernel: %u bytes of dynamic shared memory without the opt-in", shared);
    return CUDA_ERROR_INVALID_VALUE;
  }
  // The driver copies the values now: the caller may reuse its storage.
  std::vector<std::vector<char>> values;
  for (size_t i = 0; i < function->params.size(); ++i) {
    const char *from = static_cast<const char *>(params[i]);
    values.emplace_back(from, from + function->params[i]);
  }
  if (function->name != "vector_add") {
    enqueue(reinterpret_cast<MockStream *>(s), [] {});
    return CUDA_SUCCESS;
  }
  CUdeviceptr a, b, c;
  int n;
  std::memcpy(&a, values[0].data(), 8);
  std::memcpy(&b, values[1].data(), 8);
  std::memcpy(&c, values[2].data(), 8);
  std::memcpy(&n, values[3].data(), 4);
  const size_t bytes = static_cast<size_t>(std::max(n, 0)) * sizeof(float);
  for (CUdeviceptr p : {a, b, c}) {
    if (CUresult r = checkDevice("vector_add argument", p, bytes); r != CUDA_SUCCESS) return r;
  }
  const size_t threads = size_t{gx} * gy * gz * bx * by * bz;
  enqueue(reinterpret_cast<MockStream *>(s), [=] {
    const auto *x = reinterpret_cast<const float *>(a);
    const auto *y = reinterpret_cast<const float *>(b);
    auto *z = reinterpret_cast<float *>(c);
    for (size_t i = 0; i < threads && i < static_cast<size_t>(n); ++i) z[i] = x[i] + y[i];
  });
  return CUDA_SUCCESS;
}

struct Entry {
  const char *name;
  void *function;
};

#define ENTRY(name, fn) \
  { name, reinterpret_cast<void *>(&fn) }
const Entry kEntries[] = {
    ENTRY("cuGetErrorName", mockGetErrorName),
    ENTRY("cuGetErrorString", mockGetErrorString),
    ENTRY("cuInit", mockInit),
    ENTRY("cuDeviceGetCount", mockDeviceGetCount),
    ENTRY("cuDeviceGet", mockDeviceGet),
    ENTRY("cuDeviceGetName", mockDeviceGetName),
    ENTRY("cuDeviceGetUuid", mockDeviceGetUuid),
    ENTRY("cuDeviceTotalMem", mockDeviceTotalMem),
    ENTRY("cuDeviceGetAttribute", mockDeviceGetAttribute),
    ENTRY("cuDeviceCanAccessPeer", mockDeviceCanAccessPeer),
    ENTRY("cuDevicePrimaryCtxRetain", mockPrimaryCtxRetain),
    ENTRY("cuDevicePrimaryCtxRelease", mockPrimaryCtxRelease),
    ENTRY("cuCtxGetCurrent", mockCtxGetCurrent),
    ENTRY("cuCtxSetCurrent", mockCtxSetCurrent),
    ENTRY("cuCtxEnablePeerAccess", mockCtxEnablePeerAccess),
    ENTRY("cuMemGetInfo", mockMemGetInfo),
    ENTRY("cuMemAlloc", mockMemAlloc),
    ENTRY("cuMemFree", mockMemFree),
    ENTRY("cuMemHostAlloc", mockMemHostAlloc),
    ENTRY("cuMemFreeHost", mockMemFreeHost),
    ENTRY("cuMemHostGetDevicePointer", mockMemHostGetDevicePointer),
    ENTRY("cuMemHostRegister", mockMemHostRegister),
    ENTRY("cuMemHostUnregister", mockMemHostUnregister),
    ENTRY("cuPointerGetAttribute", mockPointerGetAttribute),
    ENTRY("cuMemcpyHtoDAsync", mockMemcpyHtoDAsync),
    ENTRY("cuMemcpyDtoHAsync", mockMemcpyDtoHAsync),
    ENTRY("cuMemcpyDtoDAsync", mockMemcpyDtoDAsync),
    ENTRY("cuMemcpyPeerAsync", mockMemcpyPeerAsync),
    ENTRY("cuMemsetD8Async", mockMemsetD8Async),
    ENTRY("cuStreamCreate", mockStreamCreate),
    ENTRY("cuStreamDestroy", mockStreamDestroy),
    ENTRY("cuStreamQuery", mockStreamQuery),
    ENTRY("cuStreamWaitEvent", mockStreamWaitEvent),
    ENTRY("cuStreamWaitValue32", mockStreamWaitValue32),
    ENTRY("cuLaunchHostFunc", mockLaunchHostFunc),
    ENTRY("cuEventCreate", mockEventCreate),
    ENTRY("cuEventDestroy", mockEventDestroy),
    ENTRY("cuEventRecord", mockEventRecord),
    ENTRY("cuEventQuery", mockEventQuery),
    ENTRY("cuEventElapsedTime", mockEventElapsedTime),
    ENTRY("cuModuleLoadDataEx", mockModuleLoadDataEx),
    ENTRY("cuModuleUnload", mockModuleUnload),
    ENTRY("cuModuleGetFunction", mockModuleGetFunction),
    ENTRY("cuModuleGetFunctionCount", mockModuleGetFunctionCount),
    ENTRY("cuModuleEnumerateFunctions", mockModuleEnumerateFunctions),
    ENTRY("cuFuncGetName", mockFuncGetName),
    ENTRY("cuFuncGetParamInfo", mockFuncGetParamInfo),
    ENTRY("cuFuncGetAttribute", mockFuncGetAttribute),
    ENTRY("cuFuncSetAttribute", mockFuncSetAttribute),
    ENTRY("cuLaunchKernel", mockLaunchKernel),
};
#undef ENTRY

}  // namespace

MOCK_EXPORT CUresult cuDriverGetVersion(int *version) {
  *version = CUDA_VERSION;
  return CUDA_SUCCESS;
}

MOCK_EXPORT CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int version,
                                         cuuint64_t flags, CUdriverProcAddressQueryResult *status) {
  *pfn = nullptr;
  if (version > CUDA_VERSION) return CUDA_ERROR_INVALID_VALUE;
  if (flags != CU_GET_PROC_ADDRESS_LEGACY_STREAM) {
    violation("cuGetProcAddress(%s) with flags 0x%llx", symbol,
              static_cast<unsigned long long>(flags));
  }
  if (std::strstr(symbol, "_v2") != nullptr || std::strstr(symbol, "_ptsz") != nullptr) {
    violation("cuGetProcAddress asked for '%s': it takes base names", symbol);
  }
  const char *hide = std::getenv("XPOOL_MOCK_CUDA_HIDE");  // pretend an older driver
  for (const Entry &entry : kEntries) {
    if (std::strcmp(entry.name, symbol) == 0 &&
        (hide == nullptr || std::strcmp(hide, symbol) != 0)) {
      *pfn = entry.function;
      if (status != nullptr) *status = CU_GET_PROC_ADDRESS_SUCCESS;
      return CUDA_SUCCESS;
    }
  }
  if (status != nullptr) *status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
  return CUDA_SUCCESS;
}

// Test hook: violations so far, and the first one's text.
MOCK_EXPORT int xpoolMockCudaViolations(char *first, size_t length) {
  std::lock_guard lock(g_mutex);
  if (first != nullptr && length > 0) snprintf(first, length, "%s", g_first_violation.c_str());
  return g_violations.load();
}

// Test hook: the device of a live stream the mock created, or -1 when
// `stream` is not one.
MOCK_EXPORT int xpoolMockCudaStreamDevice(void *stream) {
  std::lock_guard lock(g_mutex);
  auto it = g_streams.find(static_cast<MockStream *>(stream));
  return it == g_streams.end() ? -1 : it->second;
}

// Test hook: the context current on the calling thread.
MOCK_EXPORT void *xpoolMockCudaCurrentContext() {
  return t_current;
}
