// The NCCL path's watchdog. NCCL's kernels wait for their peers without a
// deadline, and NCCL itself notices a peer's death only on some transports:
// a rank that dies or ends the communicator would leave the others' streams
// waiting forever. xccl's own path learns of it from the control
// connections while it waits; NCCL operations never wait there. So a thread
// per NCCL communicator watches, every 10 ms:
//  - NCCL's asynchronous error state;
//  - each peer's control connection, without consuming it (the frame is
//    peeked): an abort frame, or the end of the connection without a
//    goodbye (kill -9, exit), is a failure;
//  - a goodbye (an orderly xcclCommDestroy) is not: that peer is dropped
//    from the watch.
// On a failure it ends the communicator (its reason, naming the rank, goes
// to every peer as for any failure) and aborts NCCL's communicator, which
// stops its kernels, so every stream and call returns. A peer whose
// connection ends while this rank's NCCL work is still in flight is given
// one second, since an orderly peer may finish just before this rank does.
#pragma once

struct xcclComm;

namespace xpool::xccl {

struct NcclComm;

void startWatchdog(xcclComm &comm, NcclComm &nccl);
// Stops and joins it (before the communicator goes).
void stopWatchdog(NcclComm &nccl);

}  // namespace xpool::xccl
