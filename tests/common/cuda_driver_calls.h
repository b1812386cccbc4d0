// The CUDA driver calls tests make themselves, through the libcuda.so.1 the
// cuda backend opened (tests do not link CUDA): entry points resolved as the
// backend resolves them, and the calling thread's current context.
#pragma once

#include <dlfcn.h>

namespace xpooltest {

// What CudaCurrentContext answers when it cannot ask the driver.
inline void *const kNoCudaContext = reinterpret_cast<void *>(-1);

// An entry point of `driver` by its base name, or nullptr: cuGetProcAddress
// for CUDA 12.0 with the legacy default stream, as the backend asks.
inline void *CudaDriverEntry(void *driver, const char *name) {
  if (driver == nullptr) return nullptr;
  using GetProc = int (*)(const char *, void **, int, unsigned long long, int *);
  auto get_proc = reinterpret_cast<GetProc>(dlsym(driver, "cuGetProcAddress_v2"));
  void *fn = nullptr;
  int found = 0;
  if (get_proc == nullptr || get_proc(name, &fn, 12000, 1, &found) != 0) return nullptr;
  return fn;
}

// The context current on this thread, or kNoCudaContext.
inline void *CudaCurrentContext(void *driver) {
  using Fn = int (*)(void **);
  auto fn = reinterpret_cast<Fn>(CudaDriverEntry(driver, "cuCtxGetCurrent"));
  void *ctx = nullptr;
  if (fn == nullptr || fn(&ctx) != 0) return kNoCudaContext;
  return ctx;
}

// Makes `ctx` current on this thread; whether the driver took it.
inline bool CudaSetCurrentContext(void *driver, void *ctx) {
  using Fn = int (*)(void *);
  auto fn = reinterpret_cast<Fn>(CudaDriverEntry(driver, "cuCtxSetCurrent"));
  return fn != nullptr && fn(ctx) == 0;
}

// Puts the thread's current context back as it found it, also when an
// assertion ends the test early (later tests run on the same thread).
class RestoreCudaContext {
 public:
  explicit RestoreCudaContext(void *driver)
      : driver_(driver), before_(CudaCurrentContext(driver)) {}
  ~RestoreCudaContext() {
    if (before_ != kNoCudaContext) CudaSetCurrentContext(driver_, before_);
  }
  RestoreCudaContext(const RestoreCudaContext &) = delete;
  RestoreCudaContext &operator=(const RestoreCudaContext &) = delete;
  void *before() const { return before_; }

 private:
  void *driver_;
  void *before_;
};

}  // namespace xpooltest
