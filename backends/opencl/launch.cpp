// Kernel launches: pool pointers become cl_mem (or sub-buffer) arguments,
// the grid becomes a 3-D NDRange of grid*block work-items in block-sized
// work-groups, dynamic shared memory a trailing __local argument.
#include <algorithm>

#include "objects.h"

namespace xpool::opencl {

namespace {

// One argument, captured at launch time so that a launch deferred behind a
// host function does not depend on the caller's memory.
struct ArgValue {
  enum Kind { kValue, kBuffer, kLocal } kind = kValue;
  std::vector<unsigned char> bytes;  // kValue
  MemHold mem;                       // kBuffer (NULL: a NULL pointer)
  size_t local_bytes = 0;            // kLocal
};

struct LaunchPlan {
  xpbKernel *kernel = nullptr;
  std::shared_ptr<xpbKernel> kernel_hold;  // set while the launch is deferred
  std::vector<ArgValue> args;
  size_t global[3] = {1, 1, 1};
  size_t local[3] = {1, 1, 1};
};

const char *qualifierName(cl_kernel_arg_address_qualifier qualifier) {
  switch (qualifier) {
    case CL_KERNEL_ARG_ADDRESS_GLOBAL:
      return "__global";
    case CL_KERNEL_ARG_ADDRESS_CONSTANT:
      return "__constant";
    case CL_KERNEL_ARG_ADDRESS_LOCAL:
      return "__local";
    default:
      return "private";
  }
}

// Maps the pool pointer of argument `index` to a buffer (or a sub-buffer at
// its offset) of the kernel's context.
xpStatus bufferArg(xpbStream *stream, xpbKernel *kernel, int index, const void *ptr,
                   ArgValue *arg) {
  xpbContext *ctx = stream->ctx;
  const ClApi &cl = *ctx->cl;
  Device *d = stream->dev;
  arg->kind = ArgValue::kBuffer;
  if (ptr == nullptr) return XP_SUCCESS;  // OpenCL passes a NULL buffer as NULL
  void *buffer = nullptr;
  size_t offset = 0, size = 0;
  Allocation allocation;
  if (ctx->host->resolve == nullptr || ctx->host->resolve(ptr, &buffer, &offset, &size) != 0 ||
      !ctx->findAllocation(buffer, &allocation)) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "kernel_launch: argument %d of kernel \"%s\" is pointer %p, which is not in "
                   "any opencl allocation",
                   index, kernel->name.c_str(), ptr);
  }
  if (allocation.device->platform != d->platform) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "kernel_launch: argument %d of kernel \"%s\" (pointer %p) is memory of %s, "
                   "which shares no OpenCL context with %s",
                   index, kernel->name.c_str(), ptr, allocation.device->label.c_str(),
                   d->label.c_str());
  }
  if (offset == 0) {
    arg->mem = holdMem(cl, static_cast<cl_mem>(buffer));
    return XP_SUCCESS;
  }
  if (offset % d->base_align_bytes != 0) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "kernel_launch: argument %d of kernel \"%s\" (pointer %p) is %zu bytes into "
                   "its allocation; OpenCL passes it as a sub-buffer, whose offset must be a "
                   "multiple of the %u-byte alignment (CL_DEVICE_MEM_BASE_ADDR_ALIGN) of %s",
                   index, kernel->name.c_str(), ptr, offset, d->base_align_bytes, d->label.c_str());
  }
  cl_buffer_region region{offset, size - offset};
  cl_int err = CL_SUCCESS;
  cl_mem sub = cl.clCreateSubBuffer(static_cast<cl_mem>(buffer), CL_MEM_READ_WRITE,
                                    CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
  if (sub == nullptr || err != CL_SUCCESS) {
    return clFail(ctx->host, "clCreateSubBuffer", err,
                  "argument %d of kernel \"%s\": %zu bytes at offset %zu of a %zu-byte buffer on "
                  "%s",
                  index, kernel->name.c_str(), size - offset, offset, size, d->label.c_str());
  }
  const ClApi *api = &cl;
  arg->mem = MemHold(sub, [api](cl_mem m) { api->clReleaseMemObject(m); });
  return XP_SUCCESS;
}

xpStatus checkGeometry(xpbStream *stream, xpbKernel *kernel, xpDim3 grid, xpDim3 block,
                       size_t shared_bytes) {
  xpbContext *ctx = stream->ctx;
  Device *d = stream->dev;
  const char *name = kernel->name.c_str();
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || block.x == 0 || block.y == 0 || block.z == 0) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "kernel_launch: kernel \"%s\" with grid %ux%ux%u and block %ux%ux%u: every "
                   "dimension must be at least 1",
                   name, grid.x, grid.y, grid.z, block.x, block.y, block.z);
  }
  const uint32_t dims[3] = {block.x, block.y, block.z};
  for (int i = 0; i < 3; ++i) {
    if (dims[i] > d->max_item_sizes[i]) {
      return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                     "kernel_launch: kernel \"%s\": block dimension %c = %u exceeds the %zu "
                     "work-items %s allows in that dimension (CL_DEVICE_MAX_WORK_ITEM_SIZES)",
                     name, "xyz"[i], dims[i], d -> max_item_sizes[i], d -> label.c_str());
    }
  }
  uint64_t threads = uint64_t{block.x} * block.y * block.z;
  size_t limit = std::min(d->max_work_group, kernel->work_group_size);
  if (threads > limit) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "kernel_launch: kernel \"%s\": block %ux%ux%u = %llu work-items exceeds the "
                   "maximum work-group size %zu of this kernel on %s (device maximum %zu)",
                   name, block.x, block.y, block.z, static_cast<unsigned long long>(threads), limit,
                   d->label.c_str(), d->max_work_group);
  }
  if (shared_bytes > d->local_mem) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "kernel_launch: kernel \"%s\": %zu bytes of dynamic shared memory exceed the "
                   "%llu bytes of local memory of %s",
                   name, shared_bytes, static_cast<unsigned long long>(d->local_mem),
                   d->label.c_str());
  }
  return XP_SUCCESS;
}

OpStatus runLaunch(xpbStream *stream, const LaunchPlan &plan) {
  const ClApi &cl = *stream->cl;
  xpbKernel &kernel = *plan.kernel;
  const char *label = stream->dev->label.c_str();
  std::lock_guard<std::mutex> lock(kernel.mu);
  for (size_t i = 0; i < plan.args.size(); ++i) {
    const ArgValue &arg = plan.args[i];
    cl_uint index = static_cast<cl_uint>(i);
    cl_int err = CL_SUCCESS;
    switch (arg.kind) {
      case ArgValue::kValue:
        err = cl.clSetKernelArg(kernel.kernel, index, arg.bytes.size(), arg.bytes.data());
        break;
      case ArgValue::kBuffer: {
        cl_mem mem = arg.mem.get();
        err = cl.clSetKernelArg(kernel.kernel, index, sizeof(cl_mem), &mem);
        break;
      }
      case ArgValue::kLocal:
        err = cl.clSetKernelArg(kernel.kernel, index, arg.local_bytes, nullptr);
        break;
    }
    if (err != CL_SUCCESS) {
      return clError("clSetKernelArg", err, "argument %u (%s, %zu bytes) of kernel \"%s\" on %s",
                     index,
                     arg.kind == ArgValue::kBuffer  ? "buffer"
                     : arg.kind == ArgValue::kLocal ? "__local"
                                                    : "value",
                     arg.kind == ArgValue::kLocal    ? arg.local_bytes
                     : arg.kind == ArgValue::kBuffer ? sizeof(cl_mem)
                                                     : arg.bytes.size(),
                     kernel.name.c_str(), label);
    }
  }
  cl_event event = nullptr;
  cl_int err = cl.clEnqueueNDRangeKernel(stream->queue, kernel.kernel, 3, nullptr, plan.global,
                                         plan.local, 0, nullptr, &event);
  if (err != CL_SUCCESS) {
    return clError("clEnqueueNDRangeKernel", err,
                   "kernel \"%s\" with global size %zux%zux%zu and work-group %zux%zux%zu on %s",
                   kernel.name.c_str(), plan.global[0], plan.global[1], plan.global[2],
                   plan.local[0], plan.local[1], plan.local[2], label);
  }
  stream->setLast(event);
  return OpStatus{};
}

}  // namespace

xpStatus kernelLaunch(xpbStream *stream, xpbKernel *kernel, xpDim3 grid, xpDim3 block,
                      size_t shared_bytes, void *const *args, const size_t *arg_sizes,
                      int num_args) {
  xpbContext *ctx = stream->ctx;
  const char *name = kernel->name.c_str();
  if (kernel->dev != stream->dev) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "kernel_launch: kernel \"%s\" was built for %s but the stream is on %s", name,
                   kernel->dev->label.c_str(), stream->dev->label.c_str());
  }
  if (num_args < 0 || (num_args > 0 && (args == nullptr || arg_sizes == nullptr))) {
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "kernel_launch: kernel \"%s\": %d arguments with args %p and arg_sizes %p", name,
                   num_args, static_cast<const void *>(args), static_cast<const void *>(arg_sizes));
  }
  long long expected = static_cast<long long>(num_args) + (shared_bytes > 0 ? 1 : 0);
  if (expected != static_cast<long long>(kernel->num_args)) {
    if (shared_bytes == 0) {
      return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                     "kernel_launch: kernel \"%s\" takes %u arguments but %d were given", name,
                     kernel->num_args, num_args);
    }
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                   "kernel_launch: kernel \"%s\" takes %u arguments but %lld were given (%d "
                   "arguments + 1 trailing __local argument for the %zu bytes of dynamic shared "
                   "memory)",
                   name, kernel->num_args, expected, num_args, shared_bytes);
  }
  xpStatus status = checkGeometry(stream, kernel, grid, block, shared_bytes);
  if (status != XP_SUCCESS) return status;

  LaunchPlan plan;
  plan.args.resize(kernel->num_args);
  for (int i = 0; i < num_args; ++i) {
    ArgValue &arg = plan.args[static_cast<size_t>(i)];
    cl_kernel_arg_address_qualifier qualifier = kernel->qualifiers[static_cast<size_t>(i)];
    bool pointer =
        qualifier == CL_KERNEL_ARG_ADDRESS_GLOBAL || qualifier == CL_KERNEL_ARG_ADDRESS_CONSTANT;
    bool local = qualifier == CL_KERNEL_ARG_ADDRESS_LOCAL;
    if (!kernel->arg_info) {
      // No argument info: a pointer-sized value inside an allocation is a
      // buffer; a NULL value with a size is __local memory.
      void *buffer = nullptr;
      size_t offset = 0, size = 0;
      local = args[i] == nullptr && arg_sizes[i] > 0;
      pointer =
          !local && arg_sizes[i] == sizeof(void *) && args[i] != nullptr &&
          ctx->host->resolve != nullptr &&
          ctx->host->resolve(*static_cast<void *const *>(args[i]), &buffer, &offset, &size) == 0;
    }
    if (local) {
      if (arg_sizes[i] == 0) {
        return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                       "kernel_launch: argument %d of kernel \"%s\" is __local: give its size in "
                       "arg_sizes[%d] (it is 0)",
                       i, name, i);
      }
      arg.kind = ArgValue::kLocal;
      arg.local_bytes = arg_sizes[i];
      continue;
    }
    if (args[i] == nullptr) {
      return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                     "kernel_launch: argument %d (%s) of kernel \"%s\" has no value (args[%d] is "
                     "NULL)",
                     i, qualifierName(qualifier), name, i);
    }
    if (pointer) {
      if (arg_sizes[i] != sizeof(void *)) {
        return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE,
                       "kernel_launch: argument %d of kernel \"%s\" is a %s pointer but "
                       "arg_sizes[%d] is %zu, not %zu",
                       i, name, qualifierName(qualifier), i, arg_sizes[i], sizeof(void *));
      }
      const void *ptr = *static_cast<void *const *>(args[i]);
      status = bufferArg(stream, kernel, i, ptr, &arg);
      if (status != XP_SUCCESS) return status;
      continue;
    }
    const auto *bytes = static_cast<const unsigned char *>(args[i]);
    arg.bytes.assign(bytes, bytes + arg_sizes[i]);
  }
  if (shared_bytes > 0) {
    ArgValue &arg = plan.args.back();
    arg.kind = ArgValue::kLocal;
    arg.local_bytes = shared_bytes;
  }
  const uint32_t g[3] = {grid.x, grid.y, grid.z};
  const uint32_t b[3] = {block.x, block.y, block.z};
  for (int i = 0; i < 3; ++i) {
    plan.global[i] = static_cast<size_t>(g[i]) * b[i];
    plan.local[i] = b[i];
  }
  std::lock_guard<std::mutex> lock(stream->mu);
  if (!stream->gated) {
    // The common case, launched at once: no copy of the plan, no allocation.
    plan.kernel = kernel;
    return report(ctx->host, runLaunch(stream, plan));
  }
  // Behind a host function: the plan waits in the stream, holding the kernel.
  auto deferred = std::make_shared<LaunchPlan>(std::move(plan));
  deferred->kernel = kernel;
  deferred->kernel_hold = kernel->shared_from_this();
  return stream->submit([stream, deferred]() { return runLaunch(stream, *deferred); });
}

}  // namespace xpool::opencl
