// A vendor library opened at run time, as libxccl opens NCCL and UCX (no
// link-time vendor dependency): RTLD_NOW | RTLD_LOCAL, so its symbols stay
// out of the global namespace where an application's own copy may live, and
// never closed, since vendor libraries keep threads and global state for the
// life of the process.
#pragma once

#include <dlfcn.h>
#include <fmt/format.h>

#include <string>
#include <utility>

namespace xpool::xccl {

class DlLibrary {
 public:
  // `hint` ends the message for a missing symbol: "(NCCL older than 2.14?)".
  DlLibrary(std::string path, std::string hint) : path_(std::move(path)), hint_(std::move(hint)) {
    handle_ = dlopen(path_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle_ == nullptr) {
      const char *reason = dlerror();
      error_ = reason != nullptr ? reason : fmt::format("{} could not be opened", path_);
    }
  }

  bool opened() const { return handle_ != nullptr; }

  // Looks `name` up into *out (nullptr when absent); the first failure is
  // kept in error().
  template <typename Function>
  void resolve(const char *name, Function *out) {
    *out = handle_ != nullptr ? reinterpret_cast<Function>(dlsym(handle_, name)) : nullptr;
    if (*out == nullptr && error_.empty()) {
      error_ = fmt::format("{} has no symbol {} {}", path_, name, hint_);
    }
  }

  // Empty while the library opened and every symbol asked for was found.
  const std::string &error() const { return error_; }

 private:
  std::string path_;
  std::string hint_;
  void *handle_ = nullptr;
  std::string error_;
};

}  // namespace xpool::xccl
