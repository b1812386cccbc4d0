// A stand-in for libamdhip64 that runs on the CPU, for testing the hip
// plugin's own logic (ordering behind host functions, events, errors) on
// machines without an AMD GPU. The plugin opens it through
// XPOOL_HIP_LIBRARY. It implements exactly the functions the plugin
// resolves, with HIP's asynchronous semantics: every stream is a worker
// thread that runs its commands in order after a small delay
// (FAKE_HIP_DELAY_US, default 200), so work that is not properly ordered
// shows up as wrong data. Device memory is host memory. Kernels: a code
// object is "\x7fELF" followed by anything; every module has the kernel
// add_one(unsigned char *p, size_t n), which adds 1 to p[0..n). hiprtc
// "compiles" any source without "#error" into such a code object.
#include <hip/hip_runtime_api.h>
#include <hip/hiprtc.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kDeviceMemory = size_t{8} << 30;

int deviceCount() {
  const char *value = std::getenv("FAKE_HIP_DEVICES");
  return value != nullptr ? std::atoi(value) : 2;
}

std::chrono::microseconds delay() {
  const char *value = std::getenv("FAKE_HIP_DELAY_US");
  return std::chrono::microseconds(value != nullptr ? std::atoi(value) : 200);
}

thread_local int current_device = 0;

struct Allocation {
  int device;
  size_t bytes;
};

struct Globals {
  std::mutex mutex;
  std::map<void *, Allocation> allocations;
  std::set<void *> registered;
  size_t allocated[16] = {};
  std::set<ihipStream_t *> streams;
};

Globals &globals() {
  static Globals g;
  return g;
}

bool validDevice(int device) {
  return device >= 0 && device < deviceCount();
}

}  // namespace

struct EventState {
  std::mutex mutex;
  std::condition_variable changed;
  uint64_t recorded = 0, completed = 0;
  Clock::time_point when{};
};

struct ihipEvent_t {
  std::shared_ptr<EventState> state = std::make_shared<EventState>();
  unsigned flags = 0;
  int device = 0;
};

struct ihipStream_t {
  int device = 0;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::function<void()>> queue;
  bool busy = false, stop = false;
  std::thread worker;

  void push(std::function<void()> work) {
    {
      std::lock_guard lock(mutex);
      queue.push_back(std::move(work));
    }
    changed.notify_all();
  }
  bool idle() {
    std::lock_guard lock(mutex);
    return queue.empty() && !busy;
  }
  void waitIdle() {
    std::unique_lock lock(mutex);
    changed.wait(lock, [this] { return queue.empty() && !busy; });
  }
  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      changed.wait(lock, [this] { return stop || !queue.empty(); });
      if (queue.empty()) return;
      auto work = std::move(queue.front());
      queue.pop_front();
      busy = true;
      lock.unlock();
      std::this_thread::sleep_for(delay());
      work();
      lock.lock();
      busy = false;
      changed.notify_all();
    }
  }
};

struct ihipModule_t {
  std::string image;
};

struct ihipModuleSymbol_t {
  std::string name;
};

struct _hiprtcProgram {
  std::string source, log, code;
};

namespace {

void waitDevice(int device) {
  std::vector<ihipStream_t *> streams;
  {
    std::lock_guard lock(globals().mutex);
    for (ihipStream_t *stream : globals().streams) {
      if (stream->device == device) streams.push_back(stream);
    }
  }
  for (ihipStream_t *stream : streams) stream->waitIdle();
}

}  // namespace

FAKE_EXPORT hipError_t hipGetDeviceCount(int *count) {
  *count = deviceCount();
  return *count > 0 ? hipSuccess : hipErrorNoDevice;
}

FAKE_EXPORT const char *hipGetErrorName(hipError_t error) {
  switch (error) {
    case hipSuccess:
      return "hipSuccess";
    case hipErrorInvalidValue:
      return "hipErrorInvalidValue";
    case hipErrorOutOfMemory:
      return "hipErrorOutOfMemory";
    case hipErrorNoDevice:
      return "hipErrorNoDevice";
    case hipErrorInvalidDevice:
      return "hipErrorInvalidDevice";
    case hipErrorInvalidImage:
      return "hipErrorInvalidImage";
    case hipErrorNotFound:
      return "hipErrorNotFound";
    case hipErrorNotReady:
      return "hipErrorNotReady";
    case hipErrorInvalidHandle:
      return "hipErrorInvalidHandle";
    default:
      return "hipErrorUnknown";
  }
}

FAKE_EXPORT const char *hipGetErrorString(hipError_t error) {
  return hipGetErrorName(error);
}

FAKE_EXPORT hipError_t hipRuntimeGetVersion(int *version) {
  *version = 50221153;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipDriverGetVersion(int *version) {
  *version = 50221153;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipSetDevice(int device) {
  if (!validDevice(device)) return hipErrorInvalidDevice;
  current_device = device;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipGetDevice(int *device) {
  *device = current_device;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipDeviceGet(hipDevice_t *device, int ordinal) {
  if (!validDevice(ordinal)) return hipErrorInvalidDevice;
  *device = ordinal;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipDeviceGetName(char *name, int len, hipDevice_t device) {
  if (!validDevice(device)) return hipErrorInvalidDevice;
  snprintf(name, static_cast<size_t>(len), "Fake AMD GPU %d", device);
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipDeviceGetAttribute(int *value, hipDeviceAttribute_t attr, int device) {
  if (!validDevice(device)) return hipErrorInvalidDevice;
  switch (attr) {
    case hipDeviceAttributeMultiprocessorCount:
      *value = 104;
      return hipSuccess;
    case hipDeviceAttributeMaxThreadsPerBlock:
      *value = 1024;
      return hipSuccess;
    case hipDeviceAttributeMaxSharedMemoryPerBlock:
      *value = 65536;
      return hipSuccess;
    case hipDeviceAttributeWarpSize:
      *value = 64;
      return hipSuccess;
    case hipDeviceAttributeComputeCapabilityMajor:
      *value = 9;
      return hipSuccess;
    case hipDeviceAttributeComputeCapabilityMinor:
      *value = 0;
      return hipSuccess;
    default:
      return hipErrorInvalidValue;
  }
}

FAKE_EXPORT hipError_t hipDeviceTotalMem(size_t *bytes, hipDevice_t device) {
  if (!validDevice(device)) return hipErrorInvalidDevice;
  *bytes = kDeviceMemory;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipDeviceGetPCIBusId(char *bus_id, int len, int device) {
  if (!validDevice(device)) return hipErrorInvalidDevice;
  snprintf(bus_id, static_cast<size_t>(len), "0000:%02x:00.0", 0x41 + device);
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipDeviceGetUuid(hipUUID *uuid, hipDevice_t device) {
  if (!validDevice(device)) return hipErrorInvalidDevice;
  // ROCm copies the characters after "GPU-".
  snprintf(uuid->bytes, sizeof uuid->bytes, "%015x", 0xabcde0 + device);
  uuid->bytes[15] = 'f';
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipDeviceCanAccessPeer(int *can, int device, int peer) {
  if (!validDevice(device) || !validDevice(peer)) return hipErrorInvalidDevice;
  *can = device != peer;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipDeviceEnablePeerAccess(int peer, unsigned int) {
  return validDevice(peer) ? hipSuccess : hipErrorInvalidDevice;
}

FAKE_EXPORT hipError_t hipMemGetInfo(size_t *free_bytes, size_t *total) {
  std::lock_guard lock(globals().mutex);
  *total = kDeviceMemory;
  *free_bytes = kDeviceMemory - globals().allocated[current_device];
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipMalloc(void **ptr, size_t bytes) {
  std::lock_guard lock(globals().mutex);
  if (bytes > kDeviceMemory - globals().allocated[current_device]) return hipErrorOutOfMemory;
  *ptr = std::aligned_alloc(256, (bytes + 255) & ~size_t{255});
  if (*ptr == nullptr) return hipErrorOutOfMemory;
  globals().allocations[*ptr] = {current_device, bytes};
  globals().allocated[current_device] += bytes;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipFree(void *ptr) {
  int device = 0;
  {
    std::lock_guard lock(globals().mutex);
    auto found = globals().allocations.find(ptr);
    if (found == globals().allocations.end()) return hipErrorInvalidValue;
    device = found->second.device;
  }
  waitDevice(device);  // hipFree synchronises the device
  std::lock_guard lock(globals().mutex);
  auto found = globals().allocations.find(ptr);
  globals().allocated[found->second.device] -= found->second.bytes;
  globals().allocations.erase(found);
  std::free(ptr);
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipHostRegister(void *ptr, size_t, unsigned int) {
  std::lock_guard lock(globals().mutex);
  if (!globals().registered.insert(ptr).second) return hipErrorHostMemoryAlreadyRegistered;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipHostUnregister(void *ptr) {
  std::lock_guard lock(globals().mutex);
  if (globals().registered.erase(ptr) == 0) return hipErrorHostMemoryNotRegistered;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipStreamCreateWithFlags(hipStream_t *out, unsigned int) {
  auto *stream = new ihipStream_t;
  stream->device = current_device;
  stream->worker = std::thread([stream] { stream->run(); });
  std::lock_guard lock(globals().mutex);
  globals().streams.insert(stream);
  *out = stream;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipStreamDestroy(hipStream_t stream) {
  {
    std::lock_guard lock(globals().mutex);
    globals().streams.erase(stream);
  }
  {
    std::lock_guard lock(stream->mutex);
    stream->stop = true;
  }
  stream->changed.notify_all();
  stream->worker.join();
  delete stream;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipStreamQuery(hipStream_t stream) {
  return stream->idle() ? hipSuccess : hipErrorNotReady;
}

FAKE_EXPORT hipError_t hipStreamWaitEvent(hipStream_t stream, hipEvent_t event, unsigned int) {
  std::shared_ptr<EventState> state = event->state;
  uint64_t target;
  {
    std::lock_guard lock(state->mutex);
    target = state->recorded;  // what was recorded when the wait was enqueued
  }
  stream->push([state, target] {
    std::unique_lock lock(state->mutex);
    state->changed.wait(lock, [&] { return state->completed >= target; });
  });
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipMemcpyAsync(void *dst, const void *src, size_t bytes, hipMemcpyKind,
                                      hipStream_t stream) {
  stream->push([dst, src, bytes] { std::memmove(dst, src, bytes); });
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipMemsetAsync(void *dst, int value, size_t bytes, hipStream_t stream) {
  stream->push([dst, value, bytes] { std::memset(dst, value, bytes); });
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipMemcpyPeerAsync(void *dst, int dst_device, const void *src,
                                          int src_device, size_t bytes, hipStream_t stream) {
  if (!validDevice(dst_device) || !validDevice(src_device)) return hipErrorInvalidDevice;
  stream->push([dst, src, bytes] { std::memmove(dst, src, bytes); });
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipEventCreateWithFlags(hipEvent_t *out, unsigned flags) {
  auto *event = new ihipEvent_t;
  event->flags = flags;
  event->device = current_device;
  *out = event;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipEventDestroy(hipEvent_t event) {
  delete event;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipEventRecord(hipEvent_t event, hipStream_t stream) {
  if (stream->device != event->device) return hipErrorInvalidHandle;
  std::shared_ptr<EventState> state = event->state;
  uint64_t generation;
  {
    std::lock_guard lock(state->mutex);
    generation = ++state->recorded;
  }
  stream->push([state, generation] {
    std::lock_guard lock(state->mutex);
    if (state->completed < generation) {
      state->completed = generation;
      state->when = Clock::now();
    }
    state->changed.notify_all();
  });
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipEventQuery(hipEvent_t event) {
  std::lock_guard lock(event->state->mutex);
  return event->state->completed >= event->state->recorded ? hipSuccess : hipErrorNotReady;
}

FAKE_EXPORT hipError_t hipEventElapsedTime(float *ms, hipEvent_t start, hipEvent_t stop) {
  if ((start->flags | stop->flags) & hipEventDisableTiming) return hipErrorInvalidHandle;
  Clock::time_point t0, t1;
  for (auto [event, out] : {std::pair{start, &t0}, std::pair{stop, &t1}}) {
    std::lock_guard lock(event->state->mutex);
    if (event->state->recorded == 0) return hipErrorInvalidHandle;
    if (event->state->completed < event->state->recorded) return hipErrorNotReady;
    *out = event->state->when;
  }
  *ms = std::chrono::duration<float, std::milli>(t1 - t0).count();
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipModuleLoadData(hipModule_t *module, const void *image) {
  if (std::memcmp(image,
                  "\x7f"
                  "ELF",
                  4) != 0)
    return hipErrorInvalidImage;
  *module = new ihipModule_t{static_cast<const char *>(image)};
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipModuleUnload(hipModule_t module) {
  delete module;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipModuleGetFunction(hipFunction_t *function, hipModule_t,
                                            const char *name) {
  if (std::strcmp(name, "add_one") != 0) return hipErrorNotFound;
  static ihipModuleSymbol_t add_one{"add_one"};
  *function = &add_one;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipFuncGetAttribute(int *value, hipFunction_attribute attribute,
                                           hipFunction_t) {
  if (attribute != HIP_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK) return hipErrorInvalidValue;
  *value = 1024;
  return hipSuccess;
}

FAKE_EXPORT hipError_t hipModuleLaunchKernel(hipFunction_t, unsigned int gx, unsigned int gy,
                                             unsigned int gz, unsigned int bx, unsigned int by,
                                             unsigned int bz, unsigned int, hipStream_t stream,
                                             void **params, void **) {
  // HIP copies the argument values at launch.
  unsigned char *p = *static_cast<unsigned char **>(params[0]);
  const size_t n = *static_cast<size_t *>(params[1]);
  const size_t threads = size_t{gx} * gy * gz * bx * by * bz;
  stream->push([p, n, threads] {
    for (size_t i = 0; i < n && i < threads; ++i) ++p[i];
  });
  return hipSuccess;
}

// ---- hiprtc ------------------------------------------------------------------

FAKE_EXPORT hiprtcResult hiprtcCreateProgram(hiprtcProgram *program, const char *source,
                                             const char *, int, const char **, const char **) {
  *program = new _hiprtcProgram{source, "", ""};
  return HIPRTC_SUCCESS;
}

FAKE_EXPORT hiprtcResult hiprtcCompileProgram(hiprtcProgram program, int count,
                                              const char **options) {
  for (int i = 0; i < count; ++i) {
    if (std::strcmp(options[i], "--bad-option") == 0) {
      program->log = "error: unknown argument: '--bad-option'\n";
      return HIPRTC_ERROR_INVALID_OPTION;
    }
  }
  if (auto at = program->source.find("#error"); at != std::string::npos) {
    const auto end = program->source.find('\n', at);
    program->log = "xpool_module.hip:1:2: error: " + program->source.substr(at + 7, end - at - 7) +
                   "\n1 error generated when compiling for gfx90a.\n";
    return HIPRTC_ERROR_COMPILATION;
  }
  program->code = std::string(
                      "\x7f"
                      "ELF",
                      4) +
                  program->source;
  return HIPRTC_SUCCESS;
}

FAKE_EXPORT hiprtcResult hiprtcGetProgramLogSize(hiprtcProgram program, size_t *size) {
  *size = program->log.size() + 1;
  return HIPRTC_SUCCESS;
}

FAKE_EXPORT hiprtcResult hiprtcGetProgramLog(hiprtcProgram program, char *log) {
  std::memcpy(log, program->log.c_str(), program->log.size() + 1);
  return HIPRTC_SUCCESS;
}

FAKE_EXPORT hiprtcResult hiprtcGetCodeSize(hiprtcProgram program, size_t *size) {
  *size = program->code.size();
  return HIPRTC_SUCCESS;
}

FAKE_EXPORT hiprtcResult hiprtcGetCode(hiprtcProgram program, char *code) {
  std::memcpy(code, program->code.data(), program->code.size());
  return HIPRTC_SUCCESS;
}

FAKE_EXPORT hiprtcResult hiprtcDestroyProgram(hiprtcProgram *program) {
  delete *program;
  *program = nullptr;
  return HIPRTC_SUCCESS;
}
