// C++ conveniences over xpool/runtime.h: RAII owners for memory, streams,
// events and modules, and an exception carrying the status and message.
// The C API stays the contract; this header only wraps it.
#ifndef XPOOL_RUNTIME_HPP
#define XPOOL_RUNTIME_HPP

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

#include "xpool/runtime.h"

namespace xpool {

class Error : public std::runtime_error {
 public:
  Error(xpStatus status, const std::string &message)
      : std::runtime_error(std::string(xpStatusName(status)) + ": " + message), status_(status) {}
  xpStatus status() const noexcept { return status_; }

 private:
  xpStatus status_;
};

// Throws Error with the thread's last-error message when status is a failure.
inline void check(xpStatus status) {
  if (status != XP_SUCCESS) throw Error(status, xpGetLastError());
}

// xpInit on construction, xpShutdown on destruction.
class Session {
 public:
  Session() { check(xpInit()); }
  ~Session() { xpShutdown(); }
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  static int deviceCount() {
    int count = 0;
    check(xpDeviceCount(&count));
    return count;
  }
  static xpDeviceProps properties(int device) {
    xpDeviceProps props{};
    props.struct_size = sizeof props;
    check(xpDeviceGetProperties(device, &props));
    return props;
  }
};

// Owns one handle; Traits::release frees it. Movable, not copyable.
template <typename Handle, typename Traits>
class Owner {
 public:
  Owner() = default;
  explicit Owner(Handle handle) : handle_(handle) {}
  ~Owner() { reset(); }
  Owner(Owner &&other) noexcept : handle_(std::exchange(other.handle_, Handle{})) {}
  Owner &operator=(Owner &&other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, Handle{});
    }
    return *this;
  }
  Owner(const Owner &) = delete;
  Owner &operator=(const Owner &) = delete;

  Handle get() const noexcept { return handle_; }
  Handle release() noexcept { return std::exchange(handle_, Handle{}); }
  void reset() noexcept {
    if (handle_ != Handle{}) Traits::release(handle_);
    handle_ = Handle{};
  }

 private:
  Handle handle_{};
};

namespace detail {
struct FreeDevice {
  static void release(void *p) { xpFree(p); }
};
struct FreeHost {
  static void release(void *p) { xpFreeHost(p); }
};
struct DestroyStream {
  static void release(xpStream s) { xpStreamDestroy(s); }
};
struct DestroyEvent {
  static void release(xpEvent e) { xpEventDestroy(e); }
};
struct UnloadModule {
  static void release(xpModule m) { xpModuleUnload(m); }
};
}  // namespace detail

class DeviceBuffer : public Owner<void *, detail::FreeDevice> {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(int device, size_t bytes) : Owner(allocate(device, bytes)), bytes_(bytes) {}
  size_t size() const noexcept { return bytes_; }

 private:
  static void *allocate(int device, size_t bytes) {
    void *p = nullptr;
    check(xpMalloc(device, bytes, &p));
    return p;
  }
  size_t bytes_ = 0;
};

class PinnedBuffer : public Owner<void *, detail::FreeHost> {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(size_t bytes) : Owner(allocate(bytes)), bytes_(bytes) {}
  size_t size() const noexcept { return bytes_; }

 private:
  static void *allocate(size_t bytes) {
    void *p = nullptr;
    check(xpMallocHost(bytes, &p));
    return p;
  }
  size_t bytes_ = 0;
};

class Stream : public Owner<xpStream, detail::DestroyStream> {
 public:
  Stream() = default;
  explicit Stream(int device) : Owner(create(device)) {}
  void synchronize() const { check(xpStreamSynchronize(get())); }
  void copy(void *dst, const void *src, size_t bytes) const {
    check(xpMemcpyAsync(dst, src, bytes, get()));
  }
  void fill(void *dst, int value, size_t bytes) const {
    check(xpMemsetAsync(dst, value, bytes, get()));
  }

 private:
  static xpStream create(int device) {
    xpStream s = nullptr;
    check(xpStreamCreate(device, &s));
    return s;
  }
};

class Event : public Owner<xpEvent, detail::DestroyEvent> {
 public:
  Event() = default;
  explicit Event(int device, unsigned flags = XP_EVENT_DEFAULT) : Owner(create(device, flags)) {}
  void record(const Stream &stream) const { check(xpEventRecord(get(), stream.get())); }
  void synchronize() const { check(xpEventSynchronize(get())); }
  // Milliseconds from `start` to this event.
  float since(const Event &start) const {
    float ms = 0;
    check(xpEventElapsedTime(&ms, start.get(), get()));
    return ms;
  }

 private:
  static xpEvent create(int device, unsigned flags) {
    xpEvent e = nullptr;
    check(xpEventCreate(device, flags, &e));
    return e;
  }
};

class Module : public Owner<xpModule, detail::UnloadModule> {
 public:
  Module() = default;
  // Format from the file's extension.
  Module(int device, const std::string &path, const char *options = nullptr)
      : Owner(load(device, path, options)) {}
  xpKernel kernel(const char *name) const {
    xpKernel k = nullptr;
    check(xpModuleGetKernel(get(), name, &k));
    return k;
  }

 private:
  static xpModule load(int device, const std::string &path, const char *options) {
    xpModule m = nullptr;
    check(xpModuleLoadFile(device, XP_MODULE_NATIVE, path.c_str(), options, &m));
    return m;
  }
};

}  // namespace xpool

#endif  // XPOOL_RUNTIME_HPP
