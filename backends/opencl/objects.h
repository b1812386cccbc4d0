// The backend's objects (the opaque types of xpool/backend.h) and the entry
// points each source file implements.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cl_api.h"
#include "diag.h"
#include "wait.h"
#include "xpool/backend.h"

namespace xpool::opencl {

// One per OpenCL platform that has devices; its context holds them all.
struct Platform {
  cl_platform_id id = nullptr;
  std::string name, vendor, version;
  cl_context context = nullptr;
};

struct Device {
  int index = 0;  // ordinal inside this backend
  Platform *platform = nullptr;
  cl_device_id id = nullptr;
  std::string name, vendor, version, extensions, il_version;
  std::string label;  // "opencl device 0 (pthread-skylake...)", for messages
  uint8_t uuid[16] = {};
  std::string pci_bus_id;
  uint64_t global_mem = 0, max_alloc = 0, local_mem = 0;
  size_t max_work_group = 0;
  size_t max_item_sizes[3] = {0, 0, 0};
  cl_uint compute_units = 0;
  cl_uint base_align_bytes = 1;  // CL_DEVICE_MEM_BASE_ADDR_ALIGN / 8
  int compute_major = 0, compute_minor = 0;
  // PoCL's "basic" driver runs a command inside the call that makes it
  // ready; when that call is another command's completion, PoCL 3.1
  // deadlocks (pocl issue #1177). Cross-queue waits on such a device only
  // wait on events that have already completed.
  bool pocl_basic = false;
  std::atomic<uint64_t> allocated{0};  // bytes of live buffers made here

  bool hasExtension(const char *name) const;
};

struct Allocation {
  Device *device = nullptr;
  size_t bytes = 0;
};

// A cl_mem reference held by work that may run later.
using MemHold = std::shared_ptr<std::remove_pointer_t<cl_mem>>;
MemHold holdMem(const ClApi &cl, cl_mem mem);

// A marker in a stream that may reach OpenCL only later (behind a host
// function). Shared by the event or synchronize call that waits for it and
// the deferred operation that enqueues it.
struct Record {
  explicit Record(const ClApi *api, const xpbStream *origin_stream)
      : cl(api), origin(origin_stream) {}
  ~Record();
  Record(const Record &) = delete;
  Record &operator=(const Record &) = delete;

  const ClApi *cl;
  const xpbStream *origin;  // compared only, never dereferenced
  std::mutex mu;
  std::condition_variable cv;
  bool resolved = false;
  cl_event event = nullptr;  // the marker, once enqueued (owned)
  OpStatus failure;          // why it could not be enqueued

  void resolve(cl_event marker, OpStatus why);
  // Waits until resolved; false when the deadline passed first.
  bool waitResolved(Deadline deadline);
};

// Runs the host functions of one stream, in order, on a thread of its own
// (never on the OpenCL runtime's callback thread).
struct HostWorker {
  struct Task {
    xpHostFn fn = nullptr;
    void *user_data = nullptr;
    cl_event marker = nullptr;          // owned; NULL when enqueued without one
    std::shared_ptr<xpbStream> stream;  // reopened after fn returns
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Task> ready;
  int pending = 0;  // tasks whose marker callback has not fired yet
  bool closing = false;
  bool exited = false;
  std::thread thread;

  void run();
};

using Op = std::function<OpStatus()>;

}  // namespace xpool::opencl

struct xpbContext {
  const xpbHostApi *host = nullptr;
  const xpool::opencl::ClApi *cl = nullptr;
  std::vector<std::unique_ptr<xpool::opencl::Platform>> platforms;
  std::vector<std::unique_ptr<xpool::opencl::Device>> devices;
  std::string vendor_version;
  // Host-function threads that stream_destroy had to leave running (their
  // streams still point here, so shutdown then keeps this object).
  std::atomic<int> abandoned_workers{0};

  std::mutex mu;  // guards everything below
  std::unordered_map<cl_mem, xpool::opencl::Allocation> allocations;
  std::unordered_map<xpbStream *, std::shared_ptr<xpbStream>> streams;
  std::unordered_set<xpbEvent *> events;
  std::unordered_set<xpbModule *> modules;

  // The live allocation `buffer`, or false.
  bool findAllocation(void *buffer, xpool::opencl::Allocation *out);
};

// A stream: one in-order command queue, plus a gate for host functions.
//
// While a host function is pending (from the marker before it until fn has
// returned) the stream is "gated": later operations are kept in `deferred`
// and enqueued, in order, by the worker once fn returns. This replaces the
// usual user-event barrier, which deadlocks PoCL 3.1 whenever a basic
// device is in the context (pocl issue #1177).
struct xpbStream : std::enable_shared_from_this<xpbStream> {
  xpbContext *ctx = nullptr;
  xpool::opencl::Device *dev = nullptr;
  const xpool::opencl::ClApi *cl = nullptr;
  cl_command_queue queue = nullptr;

  std::mutex mu;            // guards everything below and orders enqueues
  cl_event last = nullptr;  // event of the last command enqueued (owned)
  // The queue was handed out (stream_native): commands the caller enqueued
  // may follow `last`, so synchronize and query go by a fresh marker.
  bool exported = false;
  bool gated = false;
  std::deque<xpool::opencl::Op> deferred;
  xpool::opencl::OpStatus async_failure;              // first failure of deferred work
  std::shared_ptr<xpool::opencl::HostWorker> worker;  // created on first use

  ~xpbStream();
  // With mu held: runs `op` now (its failure is returned through set_error)
  // or, while gated, keeps it for later (its failure goes to async_failure).
  xpStatus submit(xpool::opencl::Op op);
  // With mu held: makes `event` (owned) the last command and flushes.
  void setLast(cl_event event);
  // With mu held: after a host function returned, runs deferred operations
  // until the next host function gates the stream again.
  void reopen();
};

struct xpbEvent {
  xpbContext *ctx = nullptr;
  xpool::opencl::Device *dev = nullptr;
  unsigned flags = 0;
  std::mutex mu;
  std::shared_ptr<xpool::opencl::Record> record;  // last record_event, or NULL
};

struct xpbKernel : std::enable_shared_from_this<xpbKernel> {
  const xpool::opencl::ClApi *cl = nullptr;
  xpool::opencl::Device *dev = nullptr;
  std::string name;
  cl_kernel kernel = nullptr;
  std::mutex mu;  // clSetKernelArg is stateful: one launch at a time
  cl_uint num_args = 0;
  bool arg_info = false;  // false when the program has no argument info (SPIR-V)
  std::vector<cl_kernel_arg_address_qualifier> qualifiers;
  size_t work_group_size = 0;  // CL_KERNEL_WORK_GROUP_SIZE on the module's device
  ~xpbKernel();
};

struct xpbModule {
  xpbContext *ctx = nullptr;
  xpool::opencl::Device *dev = nullptr;
  xpModuleFormat format = XP_MODULE_OPENCL_C;
  cl_program program = nullptr;
  std::mutex mu;  // guards kernels
  // Shared with launches still deferred behind a host function.
  std::map<std::string, std::shared_ptr<xpbKernel>> kernels;
};

namespace xpool::opencl {

// devices.cpp
xpStatus init(const xpbHostApi *host, xpbContext **ctx);
void shutdown(xpbContext *ctx);
const char *vendorVersion(xpbContext *ctx);
int deviceCount(xpbContext *ctx);
xpStatus deviceProps(xpbContext *ctx, int device, xpDeviceProps *props);
xpStatus memInfo(xpbContext *ctx, int device, uint64_t *free_bytes, uint64_t *total_bytes);
// Checks `device` and returns it; sets the error and returns NULL when bad.
Device *deviceAt(xpbContext *ctx, int device, const char *call);

// memory.cpp
xpStatus memAlloc(xpbContext *ctx, int device, size_t bytes, xpbAllocation *out);
xpStatus memFree(xpbContext *ctx, int device, void *buffer);
xpStatus memcpyAsync(xpbStream *stream, xpbMemRef dst, xpbMemRef src, size_t bytes);
xpStatus memsetAsync(xpbStream *stream, xpbMemRef dst, int value, size_t bytes);
xpStatus memcpyPeerAsync(xpbStream *stream, int dst_device, xpbMemRef dst, int src_device,
                         xpbMemRef src, size_t bytes);
// Frees every buffer still allocated (at shutdown).
void freeAllAllocations(xpbContext *ctx);

// streams.cpp
xpStatus streamCreate(xpbContext *ctx, int device, xpbStream **stream);
xpStatus streamDestroy(xpbStream *stream);
xpStatus streamSynchronize(xpbStream *stream, uint64_t timeout_ns);
xpStatus streamQuery(xpbStream *stream);
xpStatus launchHostFunc(xpbStream *stream, xpHostFn fn, void *user_data);
// The command queue, its context and the device's index.
xpStatus streamNative(xpbStream *stream, void **native_stream, void **native_context, int *ordinal);
// With stream->mu held: enqueues a marker and gates the stream.
OpStatus startHostTask(xpbStream *stream, xpHostFn fn, void *user_data);
// With stream->mu held: an operation that enqueues a marker into `record`.
Op recordOp(xpbStream *stream, std::shared_ptr<Record> record);

// events.cpp
xpStatus eventCreate(xpbContext *ctx, int device, unsigned flags, xpbEvent **event);
xpStatus eventDestroy(xpbEvent *event);
xpStatus eventRecord(xpbEvent *event, xpbStream *stream);
xpStatus eventQuery(xpbEvent *event);
xpStatus eventSynchronize(xpbEvent *event, uint64_t timeout_ns);
xpStatus eventElapsed(xpbEvent *start, xpbEvent *end, float *ms);
xpStatus streamWaitEvent(xpbStream *stream, xpbEvent *event);

// modules.cpp
xpStatus moduleLoad(xpbContext *ctx, int device, xpModuleFormat format, const void *data,
                    size_t bytes, const char *options, xpbModule **module);
xpStatus moduleUnload(xpbModule *module);
xpStatus kernelGet(xpbModule *module, const char *name, xpbKernel **kernel);

// launch.cpp
xpStatus kernelLaunch(xpbStream *stream, xpbKernel *kernel, xpDim3 grid, xpDim3 block,
                      size_t shared_bytes, void *const *args, const size_t *arg_sizes,
                      int num_args);

}  // namespace xpool::opencl
