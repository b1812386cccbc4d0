// NVRTC, the CUDA C++ runtime compiler, opened with dlopen the first time a
// CUDA C++ module is loaded (most processes never need it).
#pragma once

#include <nvrtc.h>

#include <mutex>
#include <string>
#include <vector>

#include "xpool/backend.h"

namespace xpool::cuda {

#define XPOOL_NVRTC_REQUIRED(X) \
  X(nvrtcGetErrorString)        \
  X(nvrtcVersion)               \
  X(nvrtcCreateProgram)         \
  X(nvrtcDestroyProgram)        \
  X(nvrtcCompileProgram)        \
  X(nvrtcGetProgramLogSize)     \
  X(nvrtcGetProgramLog)         \
  X(nvrtcGetPTXSize)            \
  X(nvrtcGetPTX)

#define XPOOL_NVRTC_OPTIONAL(X) \
  X(nvrtcGetCUBINSize)          \
  X(nvrtcGetCUBIN)              \
  X(nvrtcGetNumSupportedArchs)  \
  X(nvrtcGetSupportedArchs)

// What a compilation produced: a cubin for the device, or PTX for the
// driver to JIT when NVRTC cannot target the device's architecture itself.
struct NvrtcOutput {
  std::vector<char> image;
  bool is_ptx = false;
  std::string options;  // the options it was compiled with, for messages
  std::string log;      // warnings, if any
};

class Nvrtc {
 public:
  // Compiles CUDA C++ `source` for compute capability major.minor with the
  // caller's options (split on whitespace). Opens NVRTC on first use. On
  // failure sets the error on `host`: XP_ERROR_BUILD with the whole log, or
  // XP_ERROR_NOT_SUPPORTED when NVRTC cannot be found.
  xpStatus compile(const xpbHostApi *host, const std::string &source, const char *options,
                   int major, int minor, NvrtcOutput *out);

 private:
  xpStatus open(const xpbHostApi *host);
  std::string describe(nvrtcResult result) const;
  int targetArchitecture(int device_arch, bool *exact);

  std::mutex mutex_;  // guards opening
  bool opened_ = false;
  std::string open_error_;
  void *library_ = nullptr;
  std::string library_name_;
  std::vector<int> archs_;  // what this NVRTC can target, ascending

#define XPOOL_NVRTC_DECLARE(name) decltype(&::name) name = nullptr;
  XPOOL_NVRTC_REQUIRED(XPOOL_NVRTC_DECLARE)
  XPOOL_NVRTC_OPTIONAL(XPOOL_NVRTC_DECLARE)
#undef XPOOL_NVRTC_DECLARE
};

}  // namespace xpool::cuda
