#include "registry.h"

#include <cstdlib>

#include "errors.h"
#include "logging.h"
#include "plugin_loader.h"

namespace xpool {
namespace {

std::mutex g_init_mutex;
int g_init_count = 0;
// Read without the lock on every call; written only under g_init_mutex.
std::atomic<Runtime *> g_runtime{nullptr};

xpStatus hostSetError(xpStatus status, const char *message) {
  return setError(status, message != nullptr ? message : "");
}

void hostLog(xpbLogLevel level, const char *component, const char *message) {
  static constexpr spdlog::level::level_enum kLevels[] = {spdlog::level::trace,
                                                          spdlog::level::debug, spdlog::level::info,
                                                          spdlog::level::warn, spdlog::level::err};
  const int index = level < XPB_LOG_TRACE || level > XPB_LOG_ERROR ? XPB_LOG_ERROR : level;
  logger(component != nullptr ? component : "backend")->log(kLevels[index], "{}", message);
}

int hostResolve(const void *ptr, void **buffer, size_t *offset, size_t *allocation_bytes) {
  Runtime *runtime = g_runtime.load(std::memory_order_acquire);
  if (runtime == nullptr) return -1;
  auto found = runtime->allocations.find(ptr);
  if (!found) return -1;
  if (buffer != nullptr) *buffer = found->buffer;
  if (offset != nullptr) *offset = reinterpret_cast<uintptr_t>(ptr) - found->base;
  if (allocation_bytes != nullptr) *allocation_bytes = found->size;
  return 0;
}

uint64_t timeoutFromEnvironment() {
  uint64_t ms = XP_DEFAULT_TIMEOUT_MS;
  if (const char *value = std::getenv("XPOOL_TIMEOUT_MS")) {
    char *end = nullptr;
    unsigned long long parsed = std::strtoull(value, &end, 10);
    if (end != value && *end == '\0' && parsed > 0) {
      ms = parsed;
    } else {
      logger("runtime")->warn("XPOOL_TIMEOUT_MS={} is not a positive integer; using {} ms", value,
                              ms);
    }
  }
  return ms * 1000000ull;
}

size_t stagingChunkFromEnvironment() {
  size_t bytes = size_t{8} << 20;
  if (const char *value = std::getenv("XPOOL_STAGING_CHUNK_BYTES")) {
    char *end = nullptr;
    unsigned long long parsed = std::strtoull(value, &end, 10);
    if (end != value && *end == '\0' && parsed >= 4096) {
      bytes = parsed;
    } else {
      logger("runtime")->warn("XPOOL_STAGING_CHUNK_BYTES={} is not an integer >= 4096; using {}",
                              value, bytes);
    }
  }
  return bytes;
}

}  // namespace

const xpbHostApi *hostApi() {
  static const xpbHostApi api = {sizeof(xpbHostApi), hostSetError, hostLog, hostResolve};
  return &api;
}

void StreamErrors::record(xpStatus failed, const std::string &what) {
  std::lock_guard lock(mutex);
  if (status == XP_SUCCESS) {
    status = failed;
    message = what;
  }
}

void StreamErrors::setRunning(std::string what) {
  std::lock_guard lock(mutex);
  running = std::move(what);
}

void StreamErrors::finishRunning(xpStatus result, const std::string &what) {
  std::lock_guard lock(mutex);
  running.clear();
  if (result != XP_SUCCESS && status == XP_SUCCESS) {
    status = result;
    message = what;
  }
}

std::string StreamErrors::describeStuck() {
  std::lock_guard lock(mutex);
  if (!running.empty()) return "it is running: " + running;
  if (status == XP_SUCCESS) return {};
  status = XP_SUCCESS;
  return "its runtime work failed: " + std::exchange(message, {});
}

xpStatus StreamErrors::take(std::string *what) {
  std::lock_guard lock(mutex);
  xpStatus result = std::exchange(status, XP_SUCCESS);
  *what = std::exchange(message, {});
  return result;
}

Runtime *Runtime::acquire(const char *call) {
  Runtime *runtime = g_runtime.load(std::memory_order_acquire);
  if (runtime == nullptr) fail(XP_ERROR_NOT_INITIALIZED, "{}: xpInit has not been called", call);
  return runtime;
}

xpStatus Runtime::init() {
  std::lock_guard lock(g_init_mutex);
  if (g_init_count++ > 0) return XP_SUCCESS;

  auto runtime = std::make_unique<Runtime>();
  runtime->timeout_ns_ = timeoutFromEnvironment();
  runtime->staging_chunk_bytes_ = stagingChunkFromEnvironment();
  runtime->topology.load();
  // Resolve calls from plugins during init see the (still empty) table.
  g_runtime.store(runtime.get(), std::memory_order_release);
  runtime->backends = loadBackends(hostApi());

  for (auto &backend : runtime->backends) {
    if (!backend->available) continue;
    for (int local = 0; local < backend->device_count; ++local) {
      auto device = std::make_unique<Device>();
      device->ordinal = static_cast<int>(runtime->devices.size());
      device->backend = backend.get();
      device->local = local;
      xpDeviceProps &props = device->props;
      props.struct_size = sizeof props;
      if (backend->table.device_props(backend->context, local, &props) != XP_SUCCESS) {
        logger("runtime")->warn("backend {} device {}: no properties ({}); skipped", backend->name,
                                local, lastError());
        continue;
      }
      props.device = device->ordinal;
      props.backend_index = backend->index;
      props.backend_device = local;
      snprintf(props.backend, sizeof props.backend, "%s", backend->name.c_str());
      if (props.kernel_pointer_alignment == 0) props.kernel_pointer_alignment = 1;
      if (props.numa_node < 0 && props.pci_bus_id[0] != '\0') {
        props.numa_node = runtime->topology.numaNodeOfPciDevice(props.pci_bus_id);
      }
      if (backend->first_device < 0) backend->first_device = device->ordinal;
      runtime->devices.push_back(std::move(device));
    }
  }
  runtime.release();
  xpClearLastError();
  return XP_SUCCESS;
}

xpStatus Runtime::shutdown() {
  std::lock_guard lock(g_init_mutex);
  if (g_init_count == 0)
    return fail(XP_ERROR_NOT_INITIALIZED, "xpShutdown: xpInit has not been called");
  if (--g_init_count > 0) return XP_SUCCESS;
  Runtime *runtime = g_runtime.load();
  runtime->destroyEverything();
  g_runtime.store(nullptr, std::memory_order_release);
  delete runtime;
  return XP_SUCCESS;
}

void Runtime::destroyEverything() {
  // Handles the application leaked: streams first (they may hold work that
  // uses memory), then modules and events, then memory, then backends.
  std::unordered_map<const void *, const char *> handles;
  {
    std::lock_guard lock(handles_mutex_);
    handles.swap(handles_);
  }
  for (auto &[handle, kind] : handles) {
    if (std::string_view(kind) == "stream") {
      auto *stream = static_cast<xpStream>(const_cast<void *>(handle));
      stream->device->api().stream_synchronize(stream->native, timeout_ns_);
      stream->device->api().stream_destroy(stream->native);
      delete stream;
    }
  }
  for (auto &device : devices) {
    if (device->default_stream != nullptr) {
      device->api().stream_synchronize(device->default_stream->native, timeout_ns_);
      device->api().stream_destroy(device->default_stream->native);
      delete device->default_stream;
    }
    if (device->staging_stream != nullptr) {
      device->api().stream_synchronize(device->staging_stream, timeout_ns_);
      device->api().stream_destroy(device->staging_stream);
    }
  }
  for (auto &[handle, kind] : handles) {
    if (std::string_view(kind) == "module") {
      auto *module = static_cast<xpModule>(const_cast<void *>(handle));
      module->device->api().module_unload(module->native);
      delete module;
    } else if (std::string_view(kind) == "event") {
      delete static_cast<xpEvent>(const_cast<void *>(handle));
    } else if (std::string_view(kind) == "kernel") {
      delete static_cast<xpKernel>(const_cast<void *>(handle));
    }
  }
  for (auto &[base, allocation] : allocations.takeAll()) {
    if (allocation.type == XP_MEMORY_DEVICE) {
      Device &device = *devices[static_cast<size_t>(allocation.device)];
      device.api().mem_free(device.backend->context, device.local, allocation.buffer);
      if (allocation.reserved_address) {
        releaseAddressRange(reinterpret_cast<void *>(base), allocation.size);
      }
    } else {
      unregisterHostMemory(reinterpret_cast<void *>(base));
      releaseAddressRange(reinterpret_cast<void *>(base), allocation.size);
    }
  }
  for (void *buffer : staging_all_) {
    unregisterHostMemory(buffer);
    releaseAddressRange(buffer, staging_chunk_bytes_);
  }
  staging_all_.clear();
  staging_free_.clear();
  devices.clear();
  for (auto &backend : backends) unloadBackend(*backend);
}

xpStatus Runtime::device(const char *call, int ordinal, Device **out) {
  if (ordinal < 0 || ordinal >= static_cast<int>(devices.size())) {
    return fail(XP_ERROR_INVALID_VALUE, "{}: device {} does not exist (the pool has {} device{})",
                call, ordinal, devices.size(), devices.size() == 1 ? "" : "s");
  }
  *out = devices[static_cast<size_t>(ordinal)].get();
  return XP_SUCCESS;
}

void Runtime::addHandle(const void *handle, const char *kind) {
  std::lock_guard lock(handles_mutex_);
  handles_[handle] = kind;
}

std::vector<xpStream> Runtime::streamsOf(Device *device) {
  std::vector<xpStream> streams;
  {
    std::lock_guard lock(handles_mutex_);
    for (const auto &[handle, kind] : handles_) {
      auto *stream = static_cast<xpStream>(const_cast<void *>(handle));
      if (std::string_view(kind) == "stream" && stream->device == device) streams.push_back(stream);
    }
  }
  std::lock_guard lock(device->streams_mutex);
  if (device->default_stream != nullptr) streams.push_back(device->default_stream);
  return streams;
}

bool Runtime::removeHandle(const void *handle) {
  std::lock_guard lock(handles_mutex_);
  return handles_.erase(handle) == 1;
}

xpStatus Runtime::checkHandle(const char *call, const void *handle, const char *kind) {
  if (handle == nullptr) return fail(XP_ERROR_INVALID_HANDLE, "{}: the {} is NULL", call, kind);
  std::lock_guard lock(handles_mutex_);
  auto it = handles_.find(handle);
  if (it == handles_.end() || std::string_view(it->second) != kind) {
    return fail(XP_ERROR_INVALID_HANDLE, "{}: {} {} is not a live {} (destroyed, or never created)",
                call, kind, handle, kind);
  }
  return XP_SUCCESS;
}

xpStatus Runtime::checkStream(const char *call, xpStream stream) {
  return checkHandle(call, stream, "stream");
}
xpStatus Runtime::checkEvent(const char *call, xpEvent event) {
  return checkHandle(call, event, "event");
}
xpStatus Runtime::checkModule(const char *call, xpModule module) {
  return checkHandle(call, module, "module");
}
xpStatus Runtime::checkKernel(const char *call, xpKernel kernel) {
  return checkHandle(call, kernel, "kernel");
}

xpStatus Runtime::defaultStream(Device *device, xpStream *out) {
  std::lock_guard lock(device->streams_mutex);
  if (device->default_stream == nullptr) {
    xpbStream *native = nullptr;
    XP_RETURN_IF_ERROR(
        device->api().stream_create(device->backend->context, device->local, &native));
    device->default_stream = new xpStream_st{device, native};
  }
  *out = device->default_stream;
  return XP_SUCCESS;
}

xpStatus Runtime::stagingStream(Device *device, xpbStream **out) {
  std::lock_guard lock(device->streams_mutex);
  if (device->staging_stream == nullptr) {
    XP_RETURN_IF_ERROR(device->api().stream_create(device->backend->context, device->local,
                                                   &device->staging_stream));
  }
  *out = device->staging_stream;
  return XP_SUCCESS;
}

void Runtime::registerHostMemory(void *ptr, size_t bytes) {
  for (auto &backend : backends) {
    if (!backend->available || backend->table.host_register == nullptr) continue;
    if (backend->table.host_register(backend->context, ptr, bytes) != XP_SUCCESS) {
      logger("runtime")->warn(
          "backend {} could not pin {} at {}: {}; its copies from there "
          "will be slower",
          backend->name, formatBytes(bytes), ptr, lastError());
    }
  }
}

void Runtime::unregisterHostMemory(void *ptr) {
  for (auto &backend : backends) {
    if (backend->available && backend->table.host_unregister != nullptr) {
      backend->table.host_unregister(backend->context, ptr);
    }
  }
}

void *Runtime::takeStagingBuffer() {
  {
    std::lock_guard lock(staging_mutex_);
    if (!staging_free_.empty()) {
      void *buffer = staging_free_.back();
      staging_free_.pop_back();
      return buffer;
    }
  }
  void *buffer = allocatePinnedPages(staging_chunk_bytes_);
  if (buffer == nullptr) return nullptr;
  registerHostMemory(buffer, staging_chunk_bytes_);
  std::lock_guard lock(staging_mutex_);
  staging_all_.push_back(buffer);
  return buffer;
}

void Runtime::giveStagingBuffer(void *buffer) {
  std::lock_guard lock(staging_mutex_);
  staging_free_.push_back(buffer);
}

}  // namespace xpool

EventObject::~EventObject() {
  if (native != nullptr) device->api().event_destroy(native);
}
