// The NCCL fast path. A communicator whose every rank is a CUDA device may
// hand its operations to NCCL (opened with dlopen): NCCL moves GPU data over
// NVLink, PCIe peer access and GPUDirect RDMA and reduces on the GPU, none
// of which xccl's host path can match. XCCL_NCCL=auto (default) uses it when
// every rank can; 0 never; 1 requires it, and communicator creation fails
// with the reason where it is impossible.
//
// Setup, at communicator creation once the mesh is up: every rank loads
// NCCL and reports over the control connections; when all can, rank 0's
// ncclUniqueId goes to every rank and each creates a nonblocking NCCL
// communicator on its device (polled against XCCL_TIMEOUT_MS, so a rank
// that never joins cannot hang the others); the ranks then agree again on
// the outcome, so all use NCCL or none does.
//
// Per operation: every collective and send/receive of such a communicator
// goes to NCCL, on every rank alike (the choice must never differ between
// ranks): buffers in host memory are staged through device scratch on the
// same stream. The batches of several communicators in one
// xcclGroupStart/End form one NCCL group. xcclBarrier, which NCCL lacks,
// runs on xccl's own path in the same stream order. XCCL_CHECK still
// compares every call first.
#pragma once

#include <memory>
#include <vector>

#include "exec.h"
#include "socket.h"

struct xcclComm;

namespace xpool::xccl {

struct NcclComm;
// Aborts an NCCL communicator that finalizeNccl has not closed (an aborted
// or failed xccl communicator), which never waits for a peer.
struct NcclCommDeleter {
  void operator()(NcclComm *nccl) const;
};
using NcclCommPtr = std::unique_ptr<NcclComm, NcclCommDeleter>;

// Decides, with every rank, whether `comm` uses NCCL, and creates the NCCL
// communicator when it does (comm.nccl). Fails only where XCCL_NCCL=1
// cannot be honoured or a peer fails during the exchange; every rank sees
// every rank's XCCL_NCCL, so every rank fails alike.
xcclResult_t setupNccl(xcclComm &comm, Deadline deadline);

// Which ranks set XCCL_NCCL=1 and =0 (the lowest of each; -1: none). Fails
// on every rank, naming both, when some set 1 and others 0.
struct NcclChoices {
  int required_by = -1;
  int refused_by = -1;
};
xcclResult_t readNcclChoices(const xcclComm &comm, NcclChoices *choices);

// Whether `ops` (one batch on one stream) go to NCCL: by kind only.
bool ncclTakes(const xcclComm &comm, const std::vector<Op> &ops);

// One communicator's operations of a call or group, and their stream.
struct NcclBatch {
  xcclComm *comm;
  const std::vector<Op> *ops;
  xpStream stream;
};

// Enqueues every batch through NCCL as ONE NCCL group: several
// communicators driven from one thread (one per device, xcclCommInitAll)
// must enter NCCL together, or the first would wait for the others.
xcclResult_t runOnNccl(const std::vector<NcclBatch> &batches);

// xcclCommDestroy: flushes NCCL's operations (deadline) and frees it.
xcclResult_t finalizeNccl(xcclComm &comm, const char *call);

// xcclCommAbort: stops NCCL's operations now.
void abortNccl(xcclComm &comm);

// NCCL's asynchronous state: xcclSuccess, xcclInProgress or the error (with
// NCCL's message set as the last error).
xcclResult_t ncclAsyncState(xcclComm &comm);

}  // namespace xpool::xccl
