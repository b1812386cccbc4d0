// Copies and fills between any two places in the pool. The API layer
// resolves pointers to endpoints; this layer decides who moves the bytes:
// the stream's own backend when it can see both sides, a peer copy inside
// one backend, or a pipelined copy through pinned host staging buffers run
// in stream order on a runtime thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "registry.h"

namespace xpool {

// One side of a copy: a pool pointer resolved against the allocation table.
struct Endpoint {
  void *ptr = nullptr;
  Device *device = nullptr;  // nullptr: host memory (xpool-pinned or not)
  void *buffer = nullptr;    // backend handle when on a device
  size_t offset = 0;         // into that buffer
  // True when the host can read and write it directly.
  bool hostAccessible() const { return device == nullptr || device->props.host_addressable; }
};

// Resolves `ptr` for an access of `bytes`; fails naming `call`, `role`
// ("destination", "source") and the sizes when the access overruns its
// allocation.
xpStatus resolveEndpoint(Runtime &runtime, const char *call, const char *role, const void *ptr,
                         size_t bytes, Endpoint *out);

// Enqueues a copy on `stream`, in its order, whatever the two sides are.
xpStatus enqueueCopy(Runtime &runtime, xpStream stream, const Endpoint &dst, const Endpoint &src,
                     size_t bytes);
xpStatus enqueueFill(Runtime &runtime, xpStream stream, const Endpoint &dst, int value,
                     size_t bytes);

// Enqueues fn on `stream`; a failure it returns becomes the stream's sticky
// error, reported by the next synchronize. `what` names it in that message.
xpStatus enqueueRuntimeWork(xpStream stream, std::string what, std::function<xpStatus()> fn);

// Waits for the stream (and its sticky errors) for at most timeout_ns.
xpStatus synchronizeStream(xpStream stream, uint64_t timeout_ns, const char *call);

}  // namespace xpool
