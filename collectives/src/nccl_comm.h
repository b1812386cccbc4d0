// The NCCL side of a communicator, shared by the NCCL path's files
// (nccl_path.cpp: setup and dispatch; nccl_staging.cpp: host buffers;
// nccl_watchdog.cpp: peers' failures). Built only with nccl.h.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "nccl_api.h"
#include "socket.h"
#include "xpool/runtime.h"
#include "xpool/xccl.h"

namespace xpool::xccl {

struct NcclComm {
  const NcclApi *api = nullptr;
  int device = -1;
  uint32_t timeout_ms = 300000;  // the communicator's XCCL_TIMEOUT_MS
  // Serialises every NCCL call on `handle` with the abort that frees it:
  // xcclCommAbort may come from another thread, the watchdog aborts on its
  // own. Held only for calls that return at once (nonblocking communicator).
  std::mutex mutex;
  ncclComm_t handle = nullptr;  // nullptr once destroyed or aborted

  // Staging of host buffers (nccl_staging.h): device scratch and its pinned
  // host mirror, the same size, grown and kept.
  void *scratch = nullptr;
  void *pinned = nullptr;
  size_t scratch_bytes = 0;
  xpEvent scratch_free = nullptr;  // recorded after each staged batch's last use
  xpEvent last_work = nullptr;     // recorded after every batch: is work in flight?

  // The watchdog (nccl_watchdog.h).
  std::thread watchdog;
  std::mutex watch_mutex;
  std::condition_variable wake;
  bool stop = false;
};

// NCCL's name of `result` and its last error text: "unhandled system
// error (socket closed by peer)". `handle` may be nullptr.
std::string describe(const NcclApi &api, ncclComm_t handle, ncclResult_t result);
xcclResult_t toXccl(ncclResult_t result);

// A nonblocking communicator's call may answer ncclInProgress: polls its
// state until it settles (the result), the deadline passes (still
// ncclInProgress) or the communicator is aborted meanwhile (ncclRemoteError
// with nccl.handle nullptr).
ncclResult_t settle(NcclComm &nccl, ncclResult_t result, Deadline deadline);

// Aborts NCCL's communicator now, if it still exists (any thread).
void abortHandle(NcclComm &nccl);

}  // namespace xpool::xccl
