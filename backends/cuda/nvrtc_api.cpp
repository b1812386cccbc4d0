// Compiles CUDA C++ with NVRTC, opened lazily with dlopen.
#include "nvrtc_api.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "cuda_api.h"

namespace xpool::cuda {
namespace {

std::vector<std::string> splitOptions(const char *options) {
  std::vector<std::string> out;
  if (options == nullptr) return out;
  std::istringstream in(options);
  std::string word;
  while (in >> word) out.push_back(word);
  return out;
}

bool namesArchitecture(const std::string &option) {
  return option.rfind("-arch", 0) == 0 || option.rfind("--gpu-architecture", 0) == 0 ||
         option.rfind("--gpu-name", 0) == 0;
}

// Sonames first (the dynamic linker's search path), then the usual toolkit
// folders, since /usr/local/cuda/lib64 is often not on that path.
std::vector<std::string> candidates() {
  const char *sonames[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"};
  std::vector<std::string> out(std::begin(sonames), std::end(sonames));
  std::vector<std::string> roots;
  for (const char *variable : {"CUDA_HOME", "CUDA_PATH"}) {
    const char *value = std::getenv(variable);
    if (value != nullptr && *value != '\0') roots.emplace_back(value);
  }
  roots.emplace_back("/usr/local/cuda");
  for (const auto &root : roots) {
    for (const char *soname : sonames) out.push_back(root + "/lib64/" + soname);
  }
  return out;
}

}  // namespace

std::string Nvrtc::describe(nvrtcResult result) const {
  const char *text = nvrtcGetErrorString != nullptr ? nvrtcGetErrorString(result) : nullptr;
  return text != nullptr ? std::string(text) : format("NVRTC error %d", static_cast<int>(result));
}

xpStatus Nvrtc::open(const xpbHostApi *host) {
  std::lock_guard lock(mutex_);
  if (opened_) {
    return open_error_.empty() ? XP_SUCCESS : fail(host, XP_ERROR_NOT_SUPPORTED, open_error_);
  }
  opened_ = true;
  std::string tried;
  for (const auto &name : candidates()) {
    dlerror();
    library_ = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library_ != nullptr) {
      library_name_ = name;
      break;
    }
    const char *why = dlerror();
    tried += format("\n  %s", why != nullptr ? why : name.c_str());
  }
  if (library_ == nullptr) {
    open_error_ =
        "NVRTC not found, so CUDA C++ modules cannot be compiled (install the CUDA toolkit's "
        "NVRTC, or load PTX/cubin/fatbin instead); tried:" +
        tried;
    return fail(host, XP_ERROR_NOT_SUPPORTED, open_error_);
  }
  std::string missing;
#define XPOOL_NVRTC_RESOLVE(name)                                  \
  name = reinterpret_cast<decltype(name)>(dlsym(library_, #name)); \
  if (name == nullptr) missing += std::string(missing.empty() ? "" : ", ") + #name;
  XPOOL_NVRTC_REQUIRED(XPOOL_NVRTC_RESOLVE)
#undef XPOOL_NVRTC_RESOLVE
#define XPOOL_NVRTC_RESOLVE_OPTIONAL(name) \
  name = reinterpret_cast<decltype(name)>(dlsym(library_, #name));
  XPOOL_NVRTC_OPTIONAL(XPOOL_NVRTC_RESOLVE_OPTIONAL)
#undef XPOOL_NVRTC_RESOLVE_OPTIONAL
  if (!missing.empty()) {
    open_error_ = format("%s lacks %s", library_name_.c_str(), missing.c_str());
    return fail(host, XP_ERROR_NOT_SUPPORTED, open_error_);
  }
  int count = 0;
  if (nvrtcGetNumSupportedArchs != nullptr && nvrtcGetSupportedArchs != nullptr &&
      nvrtcGetNumSupportedArchs(&count) == NVRTC_SUCCESS && count > 0) {
    archs_.resize(static_cast<size_t>(count));
    if (nvrtcGetSupportedArchs(archs_.data()) != NVRTC_SUCCESS) archs_.clear();
    std::sort(archs_.begin(), archs_.end());
  }
  int major = 0, minor = 0;
  nvrtcVersion(&major, &minor);
  if (host->log != nullptr) {
    host->log(XPB_LOG_DEBUG, "cuda",
              format("opened %s (NVRTC %d.%d)", library_name_.c_str(), major, minor).c_str());
  }
  return XP_SUCCESS;
}

// The architecture to compile for: the device's own when NVRTC knows it
// (*exact), else the newest older one, compiled to PTX for the driver to JIT.
int Nvrtc::targetArchitecture(int device_arch, bool *exact) {
  *exact = true;
  if (archs_.empty() || std::find(archs_.begin(), archs_.end(), device_arch) != archs_.end()) {
    return device_arch;
  }
  *exact = false;
  int best = 0;
  for (int arch : archs_) {
    if (arch <= device_arch) best = arch;
  }
  return best;
}

xpStatus Nvrtc::compile(const xpbHostApi *host, const std::string &source, const char *options,
                        int major, int minor, NvrtcOutput *out) {
  if (xpStatus status = open(host); status != XP_SUCCESS) return status;

  std::vector<std::string> words = splitOptions(options);
  if (std::none_of(words.begin(), words.end(), namesArchitecture)) {
    bool exact = true;
    const int device_arch = major * 10 + minor;
    const int arch = targetArchitecture(device_arch, &exact);
    if (arch == 0) {
      return fail(host, XP_ERROR_NOT_SUPPORTED,
                  format("%s cannot compile for sm_%d: it targets sm_%d to sm_%d",
                         library_name_.c_str(), device_arch, archs_.front(), archs_.back()));
    }
    words.insert(words.begin(), format("--gpu-architecture=%s_%d", exact ? "sm" : "compute", arch));
  }
  std::vector<const char *> argv;
  for (const auto &word : words) {
    argv.push_back(word.c_str());
    out->options += (out->options.empty() ? "" : " ") + word;
  }

  nvrtcProgram program = nullptr;
  nvrtcResult r =
      nvrtcCreateProgram(&program, source.c_str(), "xpool_module.cu", 0, nullptr, nullptr);
  if (r != NVRTC_SUCCESS) {
    return fail(host, r == NVRTC_ERROR_OUT_OF_MEMORY ? XP_ERROR_OUT_OF_MEMORY : XP_ERROR_BACKEND,
                format("nvrtcCreateProgram: %s (%zu bytes of CUDA C++)", describe(r).c_str(),
                       source.size()));
  }
  struct Destroy {
    Nvrtc *self;
    nvrtcProgram *program;
    ~Destroy() { self->nvrtcDestroyProgram(program); }
  } destroy{this, &program};

  const nvrtcResult compiled =
      nvrtcCompileProgram(program, static_cast<int>(argv.size()), argv.data());
  size_t log_size = 0;
  if (nvrtcGetProgramLogSize(program, &log_size) == NVRTC_SUCCESS && log_size > 1) {
    out->log.resize(log_size);
    if (nvrtcGetProgramLog(program, out->log.data()) != NVRTC_SUCCESS) out->log.clear();
    while (!out->log.empty() && (out->log.back() == '\0' || out->log.back() == '\n')) {
      out->log.pop_back();
    }
  }
  if (compiled != NVRTC_SUCCESS) {
    const xpStatus status =
        compiled == NVRTC_ERROR_COMPILATION || compiled == NVRTC_ERROR_INVALID_OPTION
            ? XP_ERROR_BUILD
            : XP_ERROR_BACKEND;
    return fail(host, status,
                format("nvrtcCompileProgram: %s with options '%s'; build log:\n%s",
                       describe(compiled).c_str(), out->options.c_str(),
                       out->log.empty() ? "(empty)" : out->log.c_str()));
  }

  size_t size = 0;
  if (nvrtcGetCUBINSize != nullptr && nvrtcGetCUBIN != nullptr &&
      nvrtcGetCUBINSize(program, &size) == NVRTC_SUCCESS && size > 0) {
    out->image.resize(size);
    if ((r = nvrtcGetCUBIN(program, out->image.data())) != NVRTC_SUCCESS) {
      return fail(host, XP_ERROR_BACKEND, format("nvrtcGetCUBIN: %s", describe(r).c_str()));
    }
    out->is_ptx = false;
    return XP_SUCCESS;
  }
  if ((r = nvrtcGetPTXSize(program, &size)) != NVRTC_SUCCESS || size == 0) {
    return fail(host, XP_ERROR_BACKEND,
                format("nvrtcGetPTXSize: %s (%zu bytes)", describe(r).c_str(), size));
  }
  out->image.resize(size);  // includes the terminating NUL the driver needs
  if ((r = nvrtcGetPTX(program, out->image.data())) != NVRTC_SUCCESS) {
    return fail(host, XP_ERROR_BACKEND, format("nvrtcGetPTX: %s", describe(r).c_str()));
  }
  out->is_ptx = true;
  return XP_SUCCESS;
}

}  // namespace xpool::cuda
