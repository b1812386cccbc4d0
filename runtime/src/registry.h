// The runtime's state between xpInit and xpShutdown: loaded backends, the
// pool's devices, live handles and the pointer table. Every API entry point
// starts with Runtime::acquire(), which fails cleanly before xpInit.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "allocation_table.h"
#include "topology.h"
#include "xpool/backend.h"

namespace xpool {

struct Backend {
  std::string name;
  std::string plugin_path;
  std::string reason;  // why it is unavailable; empty when available
  std::string vendor_version;
  bool available = false;
  void *library = nullptr;  // dlopen handle
  xpbBackend table{};       // entries past the plugin's struct_size are NULL
  xpbContext *context = nullptr;
  int index = 0;
  int device_count = 0;
  int first_device = -1;
};

// Sticky error of a stream: the first failure of work the runtime runs on a
// stream's thread (a staged copy, a cross-backend wait), reported by the
// next synchronize. Shared with that work so it outlives nothing.
struct StreamErrors {
  std::mutex mutex;
  xpStatus status = XP_SUCCESS;
  std::string message;
  std::string running;  // what runtime work the stream is in now, if any
  void record(xpStatus failed, const std::string &what);
  xpStatus take(std::string *what);
  void setRunning(std::string what);
  // Ends the running work and records its failure in one step, so that a
  // synchronize that gives up meanwhile sees one or the other.
  void finishRunning(xpStatus result, const std::string &what);
  // What a stream that did not finish in time is stuck in: the runtime work
  // running now or, when that work has just failed, its failure (taken, so
  // it is reported once). Empty when it is the backend's own work.
  std::string describeStuck();
};

struct Device {
  int ordinal = 0;
  Backend *backend = nullptr;
  int local = 0;  // ordinal inside its backend
  xpDeviceProps props{};
  std::atomic<uint64_t> allocated{0};
  // Internal streams, created on first use: `default_stream` serves NULL-
  // stream calls and synchronous copies; `staging_stream` serves the halves
  // of staged copies that run inside host functions of user streams.
  std::mutex streams_mutex;
  xpStream default_stream = nullptr;
  xpbStream *staging_stream = nullptr;
  const xpbBackend &api() const { return backend->table; }
};

}  // namespace xpool

struct xpStream_st {
  xpool::Device *device = nullptr;
  xpbStream *native = nullptr;
  std::shared_ptr<xpool::StreamErrors> errors = std::make_shared<xpool::StreamErrors>();
};

// Events are shared: a cross-backend wait enqueued on another stream keeps
// the backend event alive until it has run, even if xpEventDestroy came first.
struct EventObject {
  xpool::Device *device = nullptr;
  xpbEvent *native = nullptr;
  unsigned flags = 0;
  ~EventObject();
};

struct xpEvent_st {
  std::shared_ptr<EventObject> object;
};

struct xpModule_st {
  xpool::Device *device = nullptr;
  xpbModule *native = nullptr;
  std::vector<xpKernel> kernels;
};

struct xpKernel_st {
  xpModule module = nullptr;
  xpbKernel *native = nullptr;
  std::string name;
};

namespace xpool {

class Runtime {
 public:
  // The live runtime, or nullptr with XP_ERROR_NOT_INITIALIZED set naming `call`.
  static Runtime *acquire(const char *call);
  static xpStatus init();
  static xpStatus shutdown();

  std::vector<std::unique_ptr<Backend>> backends;
  std::vector<std::unique_ptr<Device>> devices;
  AllocationTable allocations;
  Topology topology;

  // Checks a device ordinal, naming `call` and the valid range on failure.
  xpStatus device(const char *call, int ordinal, Device **out);
  // Checks that a handle is live (created and not yet destroyed).
  xpStatus checkStream(const char *call, xpStream stream);
  xpStatus checkEvent(const char *call, xpEvent event);
  xpStatus checkModule(const char *call, xpModule module);
  xpStatus checkKernel(const char *call, xpKernel kernel);

  void addHandle(const void *handle, const char *kind);
  // Every live stream of `device`, its default stream included.
  std::vector<xpStream> streamsOf(Device *device);
  bool removeHandle(const void *handle);

  // The device's internal streams, created on first use.
  xpStatus defaultStream(Device *device, xpStream *out);
  xpStatus stagingStream(Device *device, xpbStream **out);

  // Pins host memory with every backend that can (for fast transfers).
  void registerHostMemory(void *ptr, size_t bytes);
  void unregisterHostMemory(void *ptr);

  // Pinned buffers for staged copies, allocated once and reused.
  size_t stagingChunkBytes() const { return staging_chunk_bytes_; }
  void *takeStagingBuffer();
  void giveStagingBuffer(void *buffer);

  uint64_t timeoutNs() const { return timeout_ns_; }
  uint32_t timeoutMs() const { return static_cast<uint32_t>(timeout_ns_ / 1000000); }

 private:
  xpStatus checkHandle(const char *call, const void *handle, const char *kind);
  void destroyEverything();

  std::mutex handles_mutex_;
  std::unordered_map<const void *, const char *> handles_;  // handle -> kind
  uint64_t timeout_ns_ = 0;
  size_t staging_chunk_bytes_ = 0;
  std::mutex staging_mutex_;
  std::vector<void *> staging_free_;
  std::vector<void *> staging_all_;
};

// The host services handed to every plugin.
const xpbHostApi *hostApi();

}  // namespace xpool
