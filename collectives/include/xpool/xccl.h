/*
 * xccl: collective communication for ranks on any mix of devices.
 *
 * Plain C, shaped like NCCL's API so that a framework can adopt it with
 * little change: a communicator groups `nranks` ranks, each bound to one
 * xpool device (any backend); every operation is enqueued on an xpool stream
 * of that device and completes in that stream's order.
 *
 * Every call returns an xcclResult_t. On failure xcclGetLastError() returns a
 * thread-local message naming the call, the values involved and, for a
 * remote failure, the peer rank. Every wait has a deadline (XCCL_TIMEOUT_MS):
 * a peer that dies or disconnects makes this rank's operations fail with
 * xcclRemoteError or xcclTimeout, never hang. See docs/xccl.md.
 */
#ifndef XPOOL_XCCL_H
#define XPOOL_XCCL_H

#include <stddef.h>
#include <stdint.h>

#include "xpool/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define XCCL_API __attribute__((visibility("default")))
#else
#define XCCL_API
#endif

#define XCCL_MAJOR 0
#define XCCL_MINOR 1
#define XCCL_PATCH 0
#define XCCL_VERSION_CODE (XCCL_MAJOR * 10000 + XCCL_MINOR * 100 + XCCL_PATCH)

typedef enum xcclResult_t {
  xcclSuccess = 0,
  xcclDeviceError = 1,     /* the xpool runtime failed; its message is included */
  xcclSystemError = 2,     /* the operating system failed (socket, shared memory) */
  xcclInternalError = 3,   /* a bug in xccl; please report it */
  xcclInvalidArgument = 4, /* an argument is wrong; the message says which */
  xcclInvalidUsage = 5,    /* a call made in the wrong state or order (or XCCL_CHECK) */
  xcclRemoteError = 6,     /* a peer failed, aborted or disconnected; the message names it */
  xcclInProgress = 7,      /* an asynchronous operation has not finished yet */
  xcclTimeout = 8,         /* a wait passed XCCL_TIMEOUT_MS; the message says for what */
  xcclNumResults = 9
} xcclResult_t;

typedef enum xcclDataType_t {
  xcclInt8 = 0,
  xcclChar = 0,
  xcclUint8 = 1,
  xcclInt32 = 2,
  xcclInt = 2,
  xcclUint32 = 3,
  xcclInt64 = 4,
  xcclUint64 = 5,
  xcclFloat16 = 6,
  xcclHalf = 6,
  xcclFloat32 = 7,
  xcclFloat = 7,
  xcclFloat64 = 8,
  xcclDouble = 8,
  xcclBfloat16 = 9,
  xcclNumTypes = 10
} xcclDataType_t;

typedef enum xcclRedOp_t {
  xcclSum = 0,
  xcclProd = 1,
  xcclMax = 2,
  xcclMin = 3,
  xcclAvg = 4, /* sum, then divided by nranks (integers: truncated toward zero) */
  xcclNumOps = 5
} xcclRedOp_t;

/* Opaque bootstrap handle: the root's listening address and a random key.
 * Made by one process with xcclGetUniqueId and passed to every rank (through
 * MPI, a file, an environment variable...). */
#define XCCL_UNIQUE_ID_BYTES 128
typedef struct xcclUniqueId {
  char internal[XCCL_UNIQUE_ID_BYTES];
} xcclUniqueId;

typedef struct xcclComm *xcclComm_t;

#define XCCL_SPLIT_NOCOLOR (-1)

/* ------------------------------------------------------------------------ */
/* Versions and errors                                                       */
/* ------------------------------------------------------------------------ */

XCCL_API xcclResult_t xcclGetVersion(int *version);
XCCL_API const char *xcclGetErrorString(xcclResult_t result);
/* The calling thread's message for its last failed call (comm may be NULL). */
XCCL_API const char *xcclGetLastError(xcclComm_t comm);

/* ------------------------------------------------------------------------ */
/* Communicators                                                             */
/* ------------------------------------------------------------------------ */

/* Starts a bootstrap root in this process (a thread that lives until the
 * communicator is formed or XCCL_TIMEOUT_MS passes) and writes its address.
 * The root listens on XCCL_SOCKET_IFNAME's address, else the host's first
 * non-loopback IPv4 address, else 127.0.0.1. */
XCCL_API xcclResult_t xcclGetUniqueId(xcclUniqueId *unique_id);

/* Joins rank `rank` of `nranks` to the communicator named by `comm_id`,
 * bound to xpool device `device` (a pool ordinal, see xpDeviceCount).
 * Blocks until every rank has joined or XCCL_TIMEOUT_MS passes. Calls
 * xpInit itself. */
XCCL_API xcclResult_t xcclCommInitRank(xcclComm_t *comm, int nranks, xcclUniqueId comm_id, int rank,
                                       int device);

/* One communicator of `ndev` ranks inside this process, rank i on
 * devices[i] (devices NULL: devices 0..ndev-1). */
XCCL_API xcclResult_t xcclCommInitAll(xcclComm_t *comms, int ndev, const int *devices);

/* A communicator from the launcher's environment: XPOOL_RANK,
 * XPOOL_WORLD_SIZE, XPOOL_MASTER_ADDR, XPOOL_MASTER_PORT (rank 0 serves the
 * bootstrap on that port), or Open MPI's OMPI_COMM_WORLD_RANK/SIZE with
 * XPOOL_MASTER_ADDR/PORT. device < 0 picks XPOOL_DEVICE, else the local rank
 * (OMPI_COMM_WORLD_LOCAL_RANK or XPOOL_LOCAL_RANK) modulo the device count. */
XCCL_API xcclResult_t xcclCommInitFromEnv(xcclComm_t *comm, int device);

/* Ranks that pass the same color form a new communicator, ordered by key
 * then by their rank here. color XCCL_SPLIT_NOCOLOR gives *newcomm = NULL.
 * Collective over `comm`. */
XCCL_API xcclResult_t xcclCommSplit(xcclComm_t comm, int color, int key, xcclComm_t *newcomm);

/* Waits (with the deadline) for this communicator's work, then frees it. */
XCCL_API xcclResult_t xcclCommDestroy(xcclComm_t comm);
/* Stops at once: pending and blocked operations of this communicator fail
 * with xcclRemoteError ("aborted"), peers see this rank disconnect, and the
 * communicator is freed. Safe to call from another thread. */
XCCL_API xcclResult_t xcclCommAbort(xcclComm_t comm);
/* The first error of work that ran asynchronously (in stream order), or
 * xcclInProgress while an operation is still running, else xcclSuccess. */
XCCL_API xcclResult_t xcclCommGetAsyncError(xcclComm_t comm, xcclResult_t *async_error);

XCCL_API xcclResult_t xcclCommCount(xcclComm_t comm, int *count);
XCCL_API xcclResult_t xcclCommUserRank(xcclComm_t comm, int *rank);
XCCL_API xcclResult_t xcclCommDevice(xcclComm_t comm, int *device);

/* ------------------------------------------------------------------------ */
/* Collectives. Buffers may be memory of any xpool device or host memory;    */
/* `stream` must belong to the communicator's device (NULL: its default     */
/* stream). In-place: sendbuff == recvbuff (AllReduce, Broadcast, Reduce),  */
/* sendbuff == recvbuff + rank * count * size (AllGather), sendbuff +       */
/* rank * recvcount * size == recvbuff (ReduceScatter).                      */
/* ------------------------------------------------------------------------ */

XCCL_API xcclResult_t xcclAllReduce(const void *sendbuff, void *recvbuff, size_t count,
                                    xcclDataType_t datatype, xcclRedOp_t op, xcclComm_t comm,
                                    xpStream stream);
XCCL_API xcclResult_t xcclBroadcast(const void *sendbuff, void *recvbuff, size_t count,
                                    xcclDataType_t datatype, int root, xcclComm_t comm,
                                    xpStream stream);
XCCL_API xcclResult_t xcclReduce(const void *sendbuff, void *recvbuff, size_t count,
                                 xcclDataType_t datatype, xcclRedOp_t op, int root, xcclComm_t comm,
                                 xpStream stream);
/* recvbuff holds nranks * sendcount elements, rank r's at r * sendcount. */
XCCL_API xcclResult_t xcclAllGather(const void *sendbuff, void *recvbuff, size_t sendcount,
                                    xcclDataType_t datatype, xcclComm_t comm, xpStream stream);
/* sendbuff holds nranks * recvcount elements; rank r receives block r. */
XCCL_API xcclResult_t xcclReduceScatter(const void *sendbuff, void *recvbuff, size_t recvcount,
                                        xcclDataType_t datatype, xcclRedOp_t op, xcclComm_t comm,
                                        xpStream stream);
/* Block p (count elements at p * count) of sendbuff goes to rank p, which
 * stores it at block r (this rank) of its recvbuff. Not in place. */
XCCL_API xcclResult_t xcclAllToAll(const void *sendbuff, void *recvbuff, size_t count,
                                   xcclDataType_t datatype, xcclComm_t comm, xpStream stream);
/* Point to point. Messages between two ranks match in the order they were
 * called. A rank that sends to and receives from the same peers must put
 * the calls inside xcclGroupStart/End, as with NCCL. */
XCCL_API xcclResult_t xcclSend(const void *sendbuff, size_t count, xcclDataType_t datatype,
                               int peer, xcclComm_t comm, xpStream stream);
XCCL_API xcclResult_t xcclRecv(void *recvbuff, size_t count, xcclDataType_t datatype, int peer,
                               xcclComm_t comm, xpStream stream);
/* Completes on `stream` once every rank has reached the barrier. */
XCCL_API xcclResult_t xcclBarrier(xcclComm_t comm, xpStream stream);

/* Operations between xcclGroupStart and the matching xcclGroupEnd are
 * queued, then run together at xcclGroupEnd (point-to-point operations of
 * a group progress concurrently). Groups nest; only the outermost End runs
 * them. Needed to drive several communicators from one thread. */
XCCL_API xcclResult_t xcclGroupStart(void);
XCCL_API xcclResult_t xcclGroupEnd(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* XPOOL_XCCL_H */
