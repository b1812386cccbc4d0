// A stand-in for libze_loader.so.1 that runs on the CPU, for testing the
// level_zero plugin's own logic on machines without a Level Zero GPU. The
// plugin opens it through XPOOL_LEVEL_ZERO_LIBRARY. It implements the
// functions the plugin resolves, and it is strict where the spec is:
//
//  - Immediate command lists run on a worker thread after a small delay
//    (FAKE_ZE_DELAY_US, default 200). Without the in-order flag, two
//    commands with no barrier between them are executed in reverse order,
//    as the spec allows: a backend that forgets its barriers gets wrong data.
//  - Resetting or destroying an event that an appended, unexecuted command
//    still signals or waits on aborts the process, and so do freeing memory
//    that such a command touches and destroying a list that is still busy.
//
// FAKE_ZE_DEVICES (default 2), FAKE_ZE_API ("1.4" default, or "1.7" for
// in-order lists), FAKE_ZE_INIT_RESULT (a ze_result_t for zeInit to fail with).
// Modules are SPIR-V; kernels are recognised by name: add_one(uchar *p,
// ulong n) and add_one_local(uchar *p, ulong n, local uchar *scratch) add 1
// to p[0..n). Build flags containing "-fake-build-error" fail the build.
#include <level_zero/ze_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
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
constexpr uint64_t kMaxAlloc = uint64_t{4} << 30;
constexpr uint64_t kMemory = uint64_t{16} << 30;
constexpr uint32_t kTimerHz = 12'000'000;  // 83.3 ns per tick
constexpr uint32_t kTimestampBits = 32;

int envInt(const char *name, int fallback) {
  const char *value = std::getenv(name);
  return value != nullptr ? std::atoi(value) : fallback;
}

uint32_t apiVersion() {
  const char *value = std::getenv("FAKE_ZE_API");
  if (value != nullptr && std::strcmp(value, "1.7") == 0) return ZE_MAKE_VERSION(1, 7);
  return ZE_MAKE_VERSION(1, 4);
}

[[noreturn]] void misuse(const char *what) {
  std::fprintf(stderr, "fake Level Zero: MISUSE: %s\n", what);
  std::abort();
}

}  // namespace

struct _ze_driver_handle_t {};
struct _ze_device_handle_t {
  int index = 0;
};
struct _ze_context_handle_t {};

struct _ze_event_handle_t {
  _ze_event_pool_handle_t *pool = nullptr;
  uint32_t index = 0;
  std::mutex mutex;
  std::condition_variable changed;
  bool signalled = false;
  int pending_uses = 0;  // appended, unexecuted commands that signal or wait on it
};

struct _ze_event_pool_handle_t {
  uint32_t count = 0;
  std::vector<_ze_event_handle_t *> events;
};

struct _ze_module_build_log_handle_t {
  std::string text;
};

struct _ze_module_handle_t {
  std::map<std::string, uint32_t> kernels;  // name -> parameter count
  std::vector<std::string> names;
};

struct _ze_kernel_handle_t {
  std::string name;
  uint32_t num_args = 0;
  uint32_t group[3] = {1, 1, 1};
  std::vector<std::vector<uint8_t>> values;
  std::vector<size_t> local;  // bytes of local memory, per argument
  std::vector<bool> set;
};

namespace {

struct Command {
  bool ordering = false;  // a barrier or a wait: nothing moves across it
  std::vector<_ze_event_handle_t *> waits;
  _ze_event_handle_t *signal = nullptr;
  std::vector<std::pair<const char *, size_t>> touches;  // memory ranges it uses
  std::function<void()> work;
};

struct Globals {
  std::mutex mutex;
  std::map<const void *, size_t> allocations;
  std::set<void *> imported;
  std::set<_ze_command_list_handle_t *> lists;
};

Globals &globals() {
  static Globals g;
  return g;
}

_ze_driver_handle_t the_driver;
std::vector<_ze_device_handle_t> &devices() {
  static std::vector<_ze_device_handle_t> all = [] {
    std::vector<_ze_device_handle_t> made(static_cast<size_t>(envInt("FAKE_ZE_DEVICES", 2)));
    for (size_t i = 0; i < made.size(); ++i) made[i].index = static_cast<int>(i);
    return made;
  }();
  return all;
}

void use(_ze_event_handle_t *event) {
  if (event == nullptr) return;
  std::lock_guard lock(event->mutex);
  ++event->pending_uses;
}

void release(_ze_event_handle_t *event) {
  if (event == nullptr) return;
  std::lock_guard lock(event->mutex);
  --event->pending_uses;
}

void signal(_ze_event_handle_t *event) {
  std::lock_guard lock(event->mutex);
  event->signalled = true;
  event->changed.notify_all();
}

void waitFor(_ze_event_handle_t *event) {
  std::unique_lock lock(event->mutex);
  event->changed.wait(lock, [event] { return event->signalled; });
}

}  // namespace

struct _ze_command_list_handle_t {
  bool in_order = false;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Command> queue;
  bool busy = false, stop = false;
  std::thread worker;

  void append(Command command) {
    for (_ze_event_handle_t *event : command.waits) use(event);
    use(command.signal);
    {
      std::lock_guard lock(mutex);
      if (!in_order && !command.ordering && !queue.empty() && !queue.back().ordering) {
        // Nothing orders the two: run the newer one first.
        queue.insert(queue.end() - 1, std::move(command));
      } else {
        queue.push_back(std::move(command));
      }
    }
    changed.notify_all();
  }

  bool touches(const char *base, size_t bytes) {
    std::lock_guard lock(mutex);
    for (const Command &command : queue) {
      for (auto [at, size] : command.touches) {
        if (at < base + bytes && base < at + size) return true;
      }
    }
    return false;
  }

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      changed.wait(lock, [this] { return stop || !queue.empty(); });
      if (queue.empty()) return;
      Command command = std::move(queue.front());
      queue.pop_front();
      busy = true;
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::microseconds(envInt("FAKE_ZE_DELAY_US", 200)));
      for (_ze_event_handle_t *event : command.waits) waitFor(event);
      if (command.work) command.work();
      // The signal is the command's last act: once the host sees it, the
      // command no longer uses any event.
      for (_ze_event_handle_t *event : command.waits) release(event);
      release(command.signal);
      if (command.signal != nullptr) signal(command.signal);
      lock.lock();
      busy = false;
      changed.notify_all();
    }
  }
};

// ---- driver, devices, context ---------------------------------------------

FAKE_EXPORT ze_result_t zeInit(ze_init_flags_t) {
  const int result = envInt("FAKE_ZE_INIT_RESULT", 0);
  return static_cast<ze_result_t>(result);
}

FAKE_EXPORT ze_result_t zeDriverGet(uint32_t *count, ze_driver_handle_t *drivers) {
  if (drivers != nullptr && *count >= 1) drivers[0] = &the_driver;
  *count = 1;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeDriverGetApiVersion(ze_driver_handle_t, ze_api_version_t *version) {
  *version = static_cast<ze_api_version_t>(apiVersion());
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeDriverGetProperties(ze_driver_handle_t, ze_driver_properties_t *props) {
  props->driverVersion = 12345;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeDriverGetExtensionProperties(ze_driver_handle_t, uint32_t *count,
                                                       ze_driver_extension_properties_t *props) {
  if (props != nullptr && *count >= 1) {
    std::snprintf(props[0].name, sizeof props[0].name, "%s", ZE_RELAXED_ALLOCATION_LIMITS_EXP_NAME);
    props[0].version = ZE_MAKE_VERSION(1, 0);
  }
  *count = 1;
  return ZE_RESULT_SUCCESS;
}

namespace {

ze_result_t importPointer(ze_driver_handle_t, void *ptr, size_t) {
  std::lock_guard lock(globals().mutex);
  return globals().imported.insert(ptr).second ? ZE_RESULT_SUCCESS
                                               : ZE_RESULT_ERROR_INVALID_ARGUMENT;
}

ze_result_t releasePointer(ze_driver_handle_t, void *ptr) {
  std::lock_guard lock(globals().mutex);
  return globals().imported.erase(ptr) == 1 ? ZE_RESULT_SUCCESS : ZE_RESULT_ERROR_INVALID_ARGUMENT;
}

}  // namespace

FAKE_EXPORT ze_result_t zeDriverGetExtensionFunctionAddress(ze_driver_handle_t, const char *name,
                                                            void **function) {
  if (std::strcmp(name, "zexDriverImportExternalPointer") == 0) {
    *function = reinterpret_cast<void *>(&importPointer);
  } else if (std::strcmp(name, "zexDriverReleaseImportedPointer") == 0) {
    *function = reinterpret_cast<void *>(&releasePointer);
  } else {
    return ZE_RESULT_ERROR_INVALID_ARGUMENT;
  }
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeDeviceGet(ze_driver_handle_t, uint32_t *count,
                                    ze_device_handle_t *handles) {
  const auto n = static_cast<uint32_t>(devices().size());
  if (handles != nullptr) {
    for (uint32_t i = 0; i < n && i < *count; ++i) handles[i] = &devices()[i];
  }
  *count = n;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeDeviceGetSubDevices(ze_device_handle_t, uint32_t *count,
                                              ze_device_handle_t *) {
  *count = 2;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeDeviceGetProperties(ze_device_handle_t device,
                                              ze_device_properties_t *props) {
  if (props->stype == ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES_1_2 &&
      apiVersion() < ZE_MAKE_VERSION(1, 2)) {
    return ZE_RESULT_ERROR_INVALID_ENUMERATION;
  }
  props->type = ZE_DEVICE_TYPE_GPU;
  props->vendorId = 0x8086;
  props->deviceId = 0x0bd5;
  props->maxMemAllocSize = kMaxAlloc;
  props->numThreadsPerEU = 8;
  props->physicalEUSimdWidth = 16;
  props->numEUsPerSubslice = 8;
  props->numSubslicesPerSlice = 4;
  props->numSlices = 2;
  props->timerResolution =
      props->stype == ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES_1_2 ? kTimerHz : 1'000'000'000 / kTimerHz;
  props->timestampValidBits = kTimestampBits;
  props->kernelTimestampValidBits = kTimestampBits;
  for (int i = 0; i < ZE_MAX_DEVICE_UUID_SIZE; ++i) {
    props->uuid.id[i] = static_cast<uint8_t>(0xa0 + i + 16 * device->index);
  }
  std::snprintf(props->name, sizeof props->name, "Fake Intel GPU %d", device->index);
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeDeviceGetComputeProperties(ze_device_handle_t,
                                                     ze_device_compute_properties_t *props) {
  props->maxTotalGroupSize = 1024;
  props->maxGroupSizeX = props->maxGroupSizeY = props->maxGroupSizeZ = 1024;
  props->maxGroupCountX = props->maxGroupCountY = props->maxGroupCountZ = 0xffffffffu;
  props->maxSharedLocalMemory = 65536;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeDeviceGetMemoryProperties(ze_device_handle_t, uint32_t *count,
                                                    ze_device_memory_properties_t *props) {
  if (props != nullptr && *count >= 1) props[0].totalSize = kMemory;
  *count = 1;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeDeviceGetCommandQueueGroupProperties(
    ze_device_handle_t, uint32_t *count, ze_command_queue_group_properties_t *props) {
  // Group 0 copies only; group 1 computes: the backend must pick 1.
  if (props != nullptr && *count >= 2) {
    props[0].flags = ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY;
    props[0].numQueues = 2;
    props[0].maxMemoryFillPatternSize = 4;
    props[1].flags =
        ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE | ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY;
    props[1].numQueues = 1;
    props[1].maxMemoryFillPatternSize = 128;
  }
  *count = 2;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeDeviceCanAccessPeer(ze_device_handle_t, ze_device_handle_t,
                                              ze_bool_t *can) {
  *can = 1;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeDevicePciGetPropertiesExt(ze_device_handle_t device,
                                                    ze_pci_ext_properties_t *props) {
  props->address = {0, static_cast<uint32_t>(0x3a + device->index), 0, 0};
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeContextCreate(ze_driver_handle_t, const ze_context_desc_t *,
                                        ze_context_handle_t *context) {
  *context = new _ze_context_handle_t;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeContextDestroy(ze_context_handle_t context) {
  delete context;
  return ZE_RESULT_SUCCESS;
}

// ---- memory -----------------------------------------------------------------

namespace {

bool relaxed(const void *next) {
  for (auto *p = static_cast<const ze_base_desc_t *>(next); p != nullptr;
       p = static_cast<const ze_base_desc_t *>(p->pNext)) {
    if (p->stype == ZE_STRUCTURE_TYPE_RELAXED_ALLOCATION_LIMITS_EXP_DESC) return true;
  }
  return false;
}

void *allocate(size_t bytes, size_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) return nullptr;
  alignment = alignment < 64 ? 64 : alignment;
  void *memory = std::aligned_alloc(alignment, (bytes + alignment - 1) & ~(alignment - 1));
  if (memory != nullptr) {
    std::lock_guard lock(globals().mutex);
    globals().allocations[memory] = bytes;
  }
  return memory;
}

}  // namespace

FAKE_EXPORT ze_result_t zeMemAllocDevice(ze_context_handle_t,
                                         const ze_device_mem_alloc_desc_t *desc, size_t bytes,
                                         size_t alignment, ze_device_handle_t, void **ptr) {
  if (bytes > kMaxAlloc && !relaxed(desc->pNext)) return ZE_RESULT_ERROR_UNSUPPORTED_SIZE;
  if (bytes > kMemory) return ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY;
  *ptr = allocate(bytes, alignment);
  return *ptr != nullptr ? ZE_RESULT_SUCCESS : ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT;
}

FAKE_EXPORT ze_result_t zeMemAllocHost(ze_context_handle_t, const ze_host_mem_alloc_desc_t *,
                                       size_t bytes, size_t alignment, void **ptr) {
  *ptr = allocate(bytes, alignment);
  return *ptr != nullptr ? ZE_RESULT_SUCCESS : ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT;
}

FAKE_EXPORT ze_result_t zeMemFree(ze_context_handle_t, void *ptr) {
  size_t bytes = 0;
  std::vector<_ze_command_list_handle_t *> lists;
  {
    std::lock_guard lock(globals().mutex);
    auto found = globals().allocations.find(ptr);
    if (found == globals().allocations.end()) return ZE_RESULT_ERROR_INVALID_ARGUMENT;
    bytes = found->second;
    lists.assign(globals().lists.begin(), globals().lists.end());
  }
  for (_ze_command_list_handle_t *list : lists) {
    if (list->touches(static_cast<const char *>(ptr), bytes)) {
      misuse("zeMemFree of memory that an unexecuted command uses");
    }
  }
  std::lock_guard lock(globals().mutex);
  globals().allocations.erase(ptr);
  std::free(ptr);
  return ZE_RESULT_SUCCESS;
}

// ---- events -----------------------------------------------------------------

FAKE_EXPORT ze_result_t zeEventPoolCreate(ze_context_handle_t, const ze_event_pool_desc_t *desc,
                                          uint32_t, ze_device_handle_t *,
                                          ze_event_pool_handle_t *pool) {
  if (desc->count == 0) return ZE_RESULT_ERROR_INVALID_SIZE;
  *pool = new _ze_event_pool_handle_t;
  (*pool)->count = desc->count;
  (*pool)->events.assign(desc->count, nullptr);
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeEventPoolDestroy(ze_event_pool_handle_t pool) {
  for (_ze_event_handle_t *event : pool->events) {
    if (event != nullptr) misuse("zeEventPoolDestroy with live events");
  }
  delete pool;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeEventCreate(ze_event_pool_handle_t pool, const ze_event_desc_t *desc,
                                      ze_event_handle_t *event) {
  if (desc->index >= pool->count) return ZE_RESULT_ERROR_INVALID_ARGUMENT;
  if (pool->events[desc->index] != nullptr) misuse("zeEventCreate twice at one index");
  *event = pool->events[desc->index] = new _ze_event_handle_t;
  (*event)->pool = pool;
  (*event)->index = desc->index;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeEventDestroy(ze_event_handle_t event) {
  {
    std::lock_guard lock(event->mutex);
    if (event->pending_uses != 0) misuse("zeEventDestroy of an event a command still uses");
  }
  event->pool->events[event->index] = nullptr;
  delete event;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeEventHostSignal(ze_event_handle_t event) {
  signal(event);
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeEventHostSynchronize(ze_event_handle_t event, uint64_t timeout) {
  std::unique_lock lock(event->mutex);
  if (timeout == UINT64_MAX) {
    event->changed.wait(lock, [event] { return event->signalled; });
    return ZE_RESULT_SUCCESS;
  }
  return event->changed.wait_for(lock, std::chrono::nanoseconds(timeout),
                                 [event] { return event->signalled; })
             ? ZE_RESULT_SUCCESS
             : ZE_RESULT_NOT_READY;
}

FAKE_EXPORT ze_result_t zeEventQueryStatus(ze_event_handle_t event) {
  std::lock_guard lock(event->mutex);
  return event->signalled ? ZE_RESULT_SUCCESS : ZE_RESULT_NOT_READY;
}

FAKE_EXPORT ze_result_t zeEventHostReset(ze_event_handle_t event) {
  std::lock_guard lock(event->mutex);
  if (event->pending_uses != 0) misuse("zeEventHostReset of an event a command still uses");
  event->signalled = false;
  return ZE_RESULT_SUCCESS;
}

// ---- command lists ------------------------------------------------------------

FAKE_EXPORT ze_result_t zeCommandListCreateImmediate(ze_context_handle_t, ze_device_handle_t,
                                                     const ze_command_queue_desc_t *desc,
                                                     ze_command_list_handle_t *out) {
  if (desc->ordinal != 1) return ZE_RESULT_ERROR_INVALID_ARGUMENT;  // the compute group
  const bool in_order = (desc->flags & ZE_BIT(1)) != 0;
  if (in_order && apiVersion() < ZE_MAKE_VERSION(1, 7)) return ZE_RESULT_ERROR_INVALID_ENUMERATION;
  auto *list = new _ze_command_list_handle_t;
  list->in_order = in_order;
  list->worker = std::thread([list] { list->run(); });
  std::lock_guard lock(globals().mutex);
  globals().lists.insert(list);
  *out = list;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeCommandListDestroy(ze_command_list_handle_t list) {
  {
    std::unique_lock lock(list->mutex);
    if (!list->queue.empty()) misuse("zeCommandListDestroy of a list with unexecuted commands");
    // The last command may be finishing after its signal.
    list->changed.wait(lock, [list] { return !list->busy; });
    list->stop = true;
  }
  {
    std::lock_guard lock(globals().mutex);
    globals().lists.erase(list);
  }
  list->changed.notify_all();
  list->worker.join();
  delete list;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeCommandListAppendBarrier(ze_command_list_handle_t list,
                                                   ze_event_handle_t signal_event, uint32_t count,
                                                   ze_event_handle_t *waits) {
  Command command;
  command.ordering = true;
  command.signal = signal_event;
  command.waits.assign(waits, waits + count);
  list->append(std::move(command));
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeCommandListAppendWaitOnEvents(ze_command_list_handle_t list,
                                                        uint32_t count, ze_event_handle_t *events) {
  Command command;
  command.ordering = true;
  command.waits.assign(events, events + count);
  list->append(std::move(command));
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeCommandListAppendMemoryCopy(ze_command_list_handle_t list, void *dst,
                                                      const void *src, size_t bytes,
                                                      ze_event_handle_t signal_event,
                                                      uint32_t count, ze_event_handle_t *waits) {
  Command command;
  command.signal = signal_event;
  command.waits.assign(waits, waits + count);
  command.touches = {{static_cast<const char *>(dst), bytes},
                     {static_cast<const char *>(src), bytes}};
  command.work = [dst, src, bytes] { std::memmove(dst, src, bytes); };
  list->append(std::move(command));
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeCommandListAppendMemoryFill(ze_command_list_handle_t list, void *ptr,
                                                      const void *pattern, size_t pattern_size,
                                                      size_t bytes, ze_event_handle_t signal_event,
                                                      uint32_t count, ze_event_handle_t *waits) {
  if (pattern_size != 1) return ZE_RESULT_ERROR_INVALID_SIZE;
  Command command;
  command.signal = signal_event;
  command.waits.assign(waits, waits + count);
  command.touches = {{static_cast<const char *>(ptr), bytes}};
  const int value = *static_cast<const unsigned char *>(pattern);
  command.work = [ptr, value, bytes] { std::memset(ptr, value, bytes); };
  list->append(std::move(command));
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeCommandListAppendWriteGlobalTimestamp(ze_command_list_handle_t list,
                                                                uint64_t *dst,
                                                                ze_event_handle_t signal_event,
                                                                uint32_t count,
                                                                ze_event_handle_t *waits) {
  Command command;
  command.signal = signal_event;
  command.waits.assign(waits, waits + count);
  command.touches = {{reinterpret_cast<const char *>(dst), sizeof *dst}};
  command.work = [dst] {
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
            .count();
    // A counter that wraps at 32 bits, as narrow device timers do.
    *dst =
        (static_cast<uint64_t>(ns) / (1'000'000'000 / kTimerHz)) & ((1ull << kTimestampBits) - 1);
  };
  list->append(std::move(command));
  return ZE_RESULT_SUCCESS;
}

// ---- modules and kernels ---------------------------------------------------------

FAKE_EXPORT ze_result_t zeModuleCreate(ze_context_handle_t, ze_device_handle_t,
                                       const ze_module_desc_t *desc, ze_module_handle_t *out,
                                       ze_module_build_log_handle_t *log) {
  if (log != nullptr) *log = new _ze_module_build_log_handle_t;
  const auto *words = reinterpret_cast<const uint32_t *>(desc->pInputModule);
  const size_t count = desc->inputSize / 4;
  if (desc->format != ZE_MODULE_FORMAT_IL_SPIRV || count < 5 || words[0] != 0x07230203) {
    return ZE_RESULT_ERROR_INVALID_NATIVE_BINARY;
  }
  if (desc->pBuildFlags != nullptr && std::strstr(desc->pBuildFlags, "-fake-build-error")) {
    if (log != nullptr) (*log)->text = "error: fake build failure requested by the build flags\n";
    return ZE_RESULT_ERROR_MODULE_BUILD_FAILURE;
  }
  // Entry points (OpEntryPoint = 15) and the parameter counts of their
  // functions (OpFunction = 54, OpFunctionParameter = 55).
  std::map<uint32_t, std::string> entries;
  std::map<uint32_t, uint32_t> parameters;
  uint32_t function = 0;
  for (size_t at = 5; at < count;) {
    const uint32_t opcode = words[at] & 0xffff, length = words[at] >> 16;
    if (length == 0 || at + length > count) return ZE_RESULT_ERROR_INVALID_NATIVE_BINARY;
    if (opcode == 15 && length > 3) {
      entries[words[at + 2]] = reinterpret_cast<const char *>(&words[at + 3]);
    } else if (opcode == 54) {
      function = words[at + 2];
      parameters[function] = 0;
    } else if (opcode == 55) {
      ++parameters[function];
    }
    at += length;
  }
  auto *module = new _ze_module_handle_t;
  for (auto &[id, name] : entries) {
    module->kernels[name] = parameters[id];
    module->names.push_back(name);
  }
  *out = module;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeModuleDestroy(ze_module_handle_t module) {
  delete module;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeModuleBuildLogGetString(ze_module_build_log_handle_t log, size_t *size,
                                                  char *text) {
  if (text != nullptr) std::memcpy(text, log->text.c_str(), std::min(*size, log->text.size() + 1));
  *size = log->text.size() + 1;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeModuleBuildLogDestroy(ze_module_build_log_handle_t log) {
  delete log;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeModuleGetKernelNames(ze_module_handle_t module, uint32_t *count,
                                               const char **names) {
  if (names != nullptr) {
    for (uint32_t i = 0; i < *count && i < module->names.size(); ++i) {
      names[i] = module->names[i].c_str();
    }
  }
  *count = static_cast<uint32_t>(module->names.size());
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeKernelCreate(ze_module_handle_t module, const ze_kernel_desc_t *desc,
                                       ze_kernel_handle_t *out) {
  auto found = module->kernels.find(desc->pKernelName);
  if (found == module->kernels.end()) return ZE_RESULT_ERROR_INVALID_KERNEL_NAME;
  auto *kernel = new _ze_kernel_handle_t;
  kernel->name = found->first;
  kernel->num_args = found->second;
  kernel->values.resize(kernel->num_args);
  kernel->local.resize(kernel->num_args);
  kernel->set.resize(kernel->num_args);
  *out = kernel;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeKernelDestroy(ze_kernel_handle_t kernel) {
  delete kernel;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeKernelGetProperties(ze_kernel_handle_t kernel,
                                              ze_kernel_properties_t *props) {
  props->numKernelArgs = kernel->num_args;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeKernelSetGroupSize(ze_kernel_handle_t kernel, uint32_t x, uint32_t y,
                                             uint32_t z) {
  if (x == 0 || y == 0 || z == 0 || uint64_t{x} * y * z > 1024) {
    return ZE_RESULT_ERROR_INVALID_GROUP_SIZE_DIMENSION;
  }
  kernel->group[0] = x;
  kernel->group[1] = y;
  kernel->group[2] = z;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeKernelSetArgumentValue(ze_kernel_handle_t kernel, uint32_t index,
                                                 size_t size, const void *value) {
  if (index >= kernel->num_args) return ZE_RESULT_ERROR_INVALID_KERNEL_ARGUMENT_INDEX;
  if (value == nullptr) {
    kernel->local[index] = size;
    kernel->values[index].clear();
  } else {
    kernel->local[index] = 0;
    const auto *bytes = static_cast<const uint8_t *>(value);
    kernel->values[index].assign(bytes, bytes + size);
  }
  kernel->set[index] = true;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zeCommandListAppendLaunchKernel(ze_command_list_handle_t list,
                                                        ze_kernel_handle_t kernel,
                                                        const ze_group_count_t *groups,
                                                        ze_event_handle_t signal_event,
                                                        uint32_t count, ze_event_handle_t *waits) {
  for (uint32_t i = 0; i < kernel->num_args; ++i) {
    if (!kernel->set[i]) return ZE_RESULT_ERROR_INVALID_ARGUMENT;
  }
  const bool local = kernel->name == "add_one_local";
  if (kernel->name != "add_one" && !local) return ZE_RESULT_ERROR_INVALID_KERNEL_NAME;
  if (kernel->values[0].size() != sizeof(void *) || kernel->values[1].size() != 8) {
    return ZE_RESULT_ERROR_INVALID_KERNEL_ARGUMENT_SIZE;
  }
  if (local && kernel->local[2] < kernel->group[0]) {
    return ZE_RESULT_ERROR_INVALID_KERNEL_ARGUMENT_SIZE;  // scratch smaller than the group
  }
  // Arguments are captured at the append.
  unsigned char *p = nullptr;
  uint64_t n = 0;
  std::memcpy(&p, kernel->values[0].data(), sizeof p);
  std::memcpy(&n, kernel->values[1].data(), sizeof n);
  const uint64_t threads = uint64_t{groups->groupCountX} * groups->groupCountY *
                           groups->groupCountZ * kernel->group[0] * kernel->group[1] *
                           kernel->group[2];
  Command command;
  command.signal = signal_event;
  command.waits.assign(waits, waits + count);
  command.touches = {{reinterpret_cast<const char *>(p), static_cast<size_t>(n)}};
  command.work = [p, n, threads] {
    for (uint64_t i = 0; i < n && i < threads; ++i) ++p[i];
  };
  list->append(std::move(command));
  return ZE_RESULT_SUCCESS;
}
