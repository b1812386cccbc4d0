// Modules of the cpu backend: shared objects loaded from memory, and kernel
// launches that spread a grid's blocks over the device's worker pool.
#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "cpu_stream.h"
#include "xpool/cpu_kernel.h"

struct xpbKernel {
  xpCpuKernelFn fn = nullptr;
  std::string name;
};

struct xpbModule {
  xpbContext *ctx = nullptr;
  void *library = nullptr;
  // The memfd the library was loaded from. It stays open while the module
  // is loaded: glibc hands back an already-loaded library for a path it has
  // seen, and a closed fd's number (hence /proc/self/fd/N) is reused.
  int fd = -1;
  std::map<std::string, std::unique_ptr<xpbKernel>> kernels;
};

namespace xpool::cpu {

xpStatus moduleLoad(xpbContext *ctx, int device, xpModuleFormat format, const void *data,
                    size_t bytes, const char *options, xpbModule **out) {
  (void)device;
  (void)options;
  if (format != XP_MODULE_NATIVE && format != XP_MODULE_SHARED_OBJECT) {
    return xpbFail(ctx->host, XP_ERROR_NOT_SUPPORTED,
                   "the cpu backend loads shared objects only (module format %d given)",
                   static_cast<int>(format));
  }
  // dlopen needs a file: a memfd gives one without touching the disk.
  int fd = memfd_create("xpool-cpu-module", MFD_CLOEXEC);
  if (fd < 0) {
    return xpbFail(ctx->host, XP_ERROR_BACKEND, "memfd_create failed: %s", strerror(errno));
  }
  size_t written = 0;
  while (written < bytes) {
    ssize_t n = write(fd, static_cast<const char *>(data) + written, bytes - written);
    if (n <= 0) {
      int saved = errno;
      close(fd);
      return xpbFail(ctx->host, XP_ERROR_BACKEND, "writing the module to a memfd failed: %s",
                     strerror(saved));
    }
    written += static_cast<size_t>(n);
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    close(fd);
    const char *why = dlerror();
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "the %zu-byte image is not a loadable shared object: dlopen: %s", bytes,
                   why != nullptr ? why : "unknown error");
  }
  auto *module = new xpbModule;
  module->ctx = ctx;
  module->library = library;
  module->fd = fd;
  *out = module;
  return XP_SUCCESS;
}

xpStatus moduleUnload(xpbModule *module) {
  dlclose(module->library);
  close(module->fd);
  delete module;
  return XP_SUCCESS;
}

xpStatus kernelGet(xpbModule *module, const char *name, xpbKernel **out) {
  auto found = module->kernels.find(name);
  if (found != module->kernels.end()) {
    *out = found->second.get();
    return XP_SUCCESS;
  }
  dlerror();
  void *symbol = dlsym(module->library, name);
  if (symbol == nullptr) {
    return xpbFail(module->ctx->host, XP_ERROR_NOT_FOUND, "the module exports no kernel named '%s'",
                   name);
  }
  auto kernel = std::make_unique<xpbKernel>();
  kernel->fn = reinterpret_cast<xpCpuKernelFn>(symbol);
  kernel->name = name;
  *out = kernel.get();
  module->kernels[name] = std::move(kernel);
  return XP_SUCCESS;
}

xpStatus kernelLaunch(xpbStream *stream, xpbKernel *kernel, xpDim3 grid, xpDim3 block,
                      size_t shared_bytes, void *const *args, const size_t *arg_sizes,
                      int num_args) {
  // The caller may reuse its argument storage as soon as we return: copy the
  // values now, each at an offset aligned for any type.
  std::vector<size_t> offsets(static_cast<size_t>(num_args));
  size_t total = 0;
  for (int i = 0; i < num_args; ++i) {
    if (args[i] == nullptr) {
      return xpbFail(stream->ctx->host, XP_ERROR_INVALID_VALUE,
                     "kernel '%s': argument %d points at nothing", kernel->name.c_str(), i);
    }
    offsets[static_cast<size_t>(i)] = total;
    total += (arg_sizes[i] + alignof(std::max_align_t) - 1) & ~(alignof(std::max_align_t) - 1);
  }
  auto storage = std::make_shared<std::vector<std::max_align_t>>(
      (total + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t));
  for (int i = 0; i < num_args; ++i) {
    std::memcpy(reinterpret_cast<char *>(storage->data()) + offsets[static_cast<size_t>(i)],
                args[i], arg_sizes[i]);
  }
  xpCpuKernelFn fn = kernel->fn;
  WorkerPool *pool = stream->device->pool.get();
  stream->enqueue([fn, pool, grid, block, shared_bytes, storage, offsets] {
    std::vector<void *> argv(offsets.size());
    for (size_t i = 0; i < offsets.size(); ++i) {
      argv[i] = reinterpret_cast<char *>(storage->data()) + offsets[i];
    }
    const size_t blocks = size_t{grid.x} * grid.y * grid.z;
    auto run_block = [&](size_t linear) {
      // One shared-memory scratch per thread, grown once and reused.
      thread_local std::vector<std::max_align_t> shared;
      if (shared.size() * sizeof(std::max_align_t) < shared_bytes) {
        shared.resize((shared_bytes + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t));
      }
      xpCpuKernelContext ctx{};
      ctx.struct_size = sizeof ctx;
      ctx.grid_dim = grid;
      ctx.block_dim = block;
      ctx.block_idx.x = static_cast<uint32_t>(linear % grid.x);
      ctx.block_idx.y = static_cast<uint32_t>((linear / grid.x) % grid.y);
      ctx.block_idx.z = static_cast<uint32_t>(linear / (size_t{grid.x} * grid.y));
      ctx.shared_mem = shared_bytes > 0 ? shared.data() : nullptr;
      ctx.shared_mem_bytes = shared_bytes;
      fn(&ctx, argv.data());
    };
    if (blocks == 1) {
      run_block(0);  // no fan-out to the pool for a single block
    } else {
      pool->parallelFor(blocks, run_block);
    }
  });
  return XP_SUCCESS;
}

}  // namespace xpool::cpu
