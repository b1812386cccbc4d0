#include "raw_cuda.h"

namespace membench {

// Old PTX ISA and target on purpose: the driver JIT-compiles it for any newer
// GPU, so one text serves every device.
const char *const kCudaEmptyKernelPtx =
    ".version 6.0\n"
    ".target sm_50\n"
    ".address_size 64\n"
    ".visible .entry empty()\n"
    "{\n"
    "  ret;\n"
    "}\n";

}  // namespace membench

#ifndef XPOOL_MEMBENCH_HAVE_CUDA

namespace membench {

std::unique_ptr<RawDevice> makeRawCuda(int, const std::string &, std::string *why) {
  *why = "n/a (xpool-membench was built without cuda.h)";
  return nullptr;
}

}  // namespace membench

#else

#include <cuda.h>
#include <dlfcn.h>

#include <stdexcept>

namespace membench {

namespace {

// cuda.h maps several names to versioned symbols (cuMemAlloc -> cuMemAlloc_v2):
// XPOOL_SYMBOL expands the macro before quoting, so dlsym gets the symbol the
// prototype belongs to.
#define XPOOL_QUOTE(name) #name
#define XPOOL_SYMBOL(name) XPOOL_QUOTE(name)
#define XPOOL_RAW_CUDA_CALLS(X) \
  X(cuGetErrorName)             \
  X(cuInit)                     \
  X(cuDeviceGetCount)           \
  X(cuDeviceGet)                \
  X(cuDeviceGetName)            \
  X(cuDevicePrimaryCtxRetain)   \
  X(cuDevicePrimaryCtxRelease)  \
  X(cuCtxSetCurrent)            \
  X(cuCtxSynchronize)           \
  X(cuMemAlloc)                 \
  X(cuMemFree)                  \
  X(cuMemcpyHtoD)               \
  X(cuMemcpyDtoH)               \
  X(cuMemcpyDtoD)               \
  X(cuMemsetD8)                 \
  X(cuModuleLoadData)           \
  X(cuModuleUnload)             \
  X(cuModuleGetFunction)        \
  X(cuLaunchKernel)

struct Driver {
#define XPOOL_DECLARE(name) decltype(&::name) name = nullptr;
  XPOOL_RAW_CUDA_CALLS(XPOOL_DECLARE)
#undef XPOOL_DECLARE

  // Empty string on success, else why the driver cannot be used.
  std::string load() {
    void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);  // never closed
    if (library == nullptr) return std::string("cannot open libcuda.so.1: ") + dlerror();
#define XPOOL_RESOLVE(name)                                                    \
  name = reinterpret_cast<decltype(name)>(dlsym(library, XPOOL_SYMBOL(name))); \
  if (name == nullptr) return std::string("libcuda.so.1 lacks ") + XPOOL_SYMBOL(name);
    XPOOL_RAW_CUDA_CALLS(XPOOL_RESOLVE)
#undef XPOOL_RESOLVE
    return {};
  }

  void check(CUresult result, const char *call) const {
    if (result == CUDA_SUCCESS) return;
    const char *name = nullptr;
    if (cuGetErrorName(result, &name) != CUDA_SUCCESS || name == nullptr) name = "unknown";
    throw std::runtime_error(std::string("raw CUDA: ") + call + " failed with " + name + " (" +
                             std::to_string(static_cast<int>(result)) + ")");
  }
};

std::string deviceName(const Driver &driver, CUdevice device) {
  char name[256] = {};
  if (driver.cuDeviceGetName(name, sizeof name - 1, device) != CUDA_SUCCESS) return "";
  return name;
}

class RawCuda : public RawDevice {
 public:
  RawCuda(const Driver &driver, CUdevice device, int ordinal)
      : driver_(driver), device_(device), ordinal_(ordinal) {
    driver_.check(driver_.cuDevicePrimaryCtxRetain(&context_, device_), "cuDevicePrimaryCtxRetain");
    makeCurrent();
    driver_.check(driver_.cuModuleLoadData(&module_, kCudaEmptyKernelPtx), "cuModuleLoadData");
    driver_.check(driver_.cuModuleGetFunction(&kernel_, module_, "empty"), "cuModuleGetFunction");
  }
  ~RawCuda() override {
    // Destructors do not throw: failures here leave nothing behind that matters
    // (the primary context is shared with the backend and outlives this).
    driver_.cuCtxSetCurrent(context_);
    for (CUdeviceptr buffer : buffers_) {
      if (buffer != 0) driver_.cuMemFree(buffer);
    }
    if (module_ != nullptr) driver_.cuModuleUnload(module_);
    driver_.cuDevicePrimaryCtxRelease(device_);
  }

  std::string describe() const override {
    return "CUDA driver API directly on device " + std::to_string(ordinal_) + " (" +
           deviceName(driver_, device_) +
           "): primary context, own buffers; synchronous cuMemcpyHtoD/DtoH/DtoD; "
           "launch = cuLaunchKernel(1 thread) + cuCtxSynchronize";
  }
  bool ownsBuffers() const override { return true; }

  void allocate(size_t bytes) override {
    makeCurrent();
    for (CUdeviceptr &buffer : buffers_) {
      driver_.check(driver_.cuMemAlloc(&buffer, bytes), "cuMemAlloc");
    }
    fill(Buf::kA, 0, bytes);  // first touch, once
    fill(Buf::kB, 0, bytes);
  }

  // The calls run on the benchmark's thread, which xpool's own calls may have
  // left with another context current: every entry makes this one current.
  void toDevice(int, Buf dst, const void *src, size_t bytes) override {
    makeCurrent();
    driver_.check(driver_.cuMemcpyHtoD(buffer(dst), src, bytes), "cuMemcpyHtoD");
  }
  void toHost(int, void *dst, Buf src, size_t bytes) override {
    makeCurrent();
    driver_.check(driver_.cuMemcpyDtoH(dst, buffer(src), bytes), "cuMemcpyDtoH");
  }
  void deviceToDevice(int, Buf dst, Buf src, size_t bytes) override {
    makeCurrent();
    driver_.check(driver_.cuMemcpyDtoD(buffer(dst), buffer(src), bytes), "cuMemcpyDtoD");
    // cuMemcpyDtoD may return before the copy ends (device to device is
    // asynchronous with respect to the host): the timing needs its end.
    driver_.check(driver_.cuCtxSynchronize(), "cuCtxSynchronize");
  }
  void fill(Buf dst, int value, size_t bytes) override {
    makeCurrent();
    driver_.check(driver_.cuMemsetD8(buffer(dst), static_cast<unsigned char>(value), bytes),
                  "cuMemsetD8");
    driver_.check(driver_.cuCtxSynchronize(), "cuCtxSynchronize");
  }

  void launch() override {
    makeCurrent();
    driver_.check(driver_.cuLaunchKernel(kernel_, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr),
                  "cuLaunchKernel");
  }
  void synchronize() override {
    makeCurrent();
    driver_.check(driver_.cuCtxSynchronize(), "cuCtxSynchronize");
  }

 private:
  void makeCurrent() { driver_.check(driver_.cuCtxSetCurrent(context_), "cuCtxSetCurrent"); }
  CUdeviceptr buffer(Buf which) const { return buffers_[static_cast<int>(which)]; }

  const Driver &driver_;
  CUdevice device_ = 0;
  int ordinal_ = 0;
  CUcontext context_ = nullptr;
  CUmodule module_ = nullptr;
  CUfunction kernel_ = nullptr;
  CUdeviceptr buffers_[2] = {0, 0};
};

}  // namespace

std::unique_ptr<RawDevice> makeRawCuda(int backend_device, const std::string &name,
                                       std::string *why) {
  static Driver driver;  // resolved once; the driver is never unloaded
  static const std::string load_error = driver.load();
  if (!load_error.empty()) {
    *why = "n/a (" + load_error + ")";
    return nullptr;
  }
  driver.check(driver.cuInit(0), "cuInit");
  int count = 0;
  driver.check(driver.cuDeviceGetCount(&count), "cuDeviceGetCount");
  if (backend_device < 0 || backend_device >= count) {
    *why = "n/a (no CUDA device " + std::to_string(backend_device) + " among " +
           std::to_string(count) + ")";
    return nullptr;
  }
  CUdevice device = 0;
  driver.check(driver.cuDeviceGet(&device, backend_device), "cuDeviceGet");
  const std::string found = deviceName(driver, device);
  if (found != name) {
    *why = "n/a (CUDA device " + std::to_string(backend_device) + " is '" + found +
           "', xpool's is '" + name + "')";
    return nullptr;
  }
  return std::make_unique<RawCuda>(driver, device, backend_device);
}

}  // namespace membench

#endif
