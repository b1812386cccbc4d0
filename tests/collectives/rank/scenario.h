// What every scenario of xccl_rank shares: the rank's communicator and
// device, the command-line options, and how failures are reported (one line
// on stderr naming this rank and everything needed to reproduce the case).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "xpool/runtime.h"
#include "xpool/xccl.h"

namespace xccltest {

// Exit codes of xccl_rank, read by the launcher test.
enum ExitCode : int {
  kExitOk = 0,
  kExitCheckFailed = 1,   // a result was wrong or a call failed unexpectedly
  kExitSetupFailed = 2,   // bad arguments, or the communicator could not be formed
  kExitSawPeerError = 3,  // killed-peer: the expected error, naming the dead rank
  kExitErrorUnnamed = 4,  // killed-peer: the right error, but it did not name the dead rank
  kExitNoError = 5,       // killed-peer: the loop ran out without any error
};

struct Options {
  std::string scenario;
  size_t max_bytes = size_t{4} << 20;    // the "large" size of the matrix, per buffer
  std::vector<std::string> sizes;        // counts, or "large"; empty: the default list
  std::vector<xcclDataType_t> types;     // empty: every type
  std::vector<xcclRedOp_t> ops;          // empty: every op
  std::vector<std::string> collectives;  // empty: every collective
  bool all_roots = true;                 // false: roots 0 and nranks-1 only
  uint64_t seed = 1;
  int dead_rank = 1;           // killed-peer: the rank the harness kills
  std::string what = "count";  // check-mismatch: which argument differs
};

struct Context {
  Options options;
  xcclComm_t comm = nullptr;
  int rank = 0;
  int nranks = 0;
  int device = 0;
  xpStream stream = nullptr;  // a stream of the comm's device, made by main
};

using Clock = std::chrono::steady_clock;

inline double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Deadline for each stream synchronisation: longer than the XCCL_TIMEOUT_MS
// the launcher sets, so that xccl's own deadline reports a stuck operation.
constexpr uint32_t kSyncTimeoutMs = 180000;

// Prints "rank <r>: <text>" on stderr (at most a few hundred lines, so a
// broken run stays readable) and counts it as a failure.
void fail(const Context &ctx, const std::string &text);
int failureCount();
// Prints "rank <r>: <text>" on stderr without counting it.
void note(const Context &ctx, const std::string &text);

// Checks an xccl call's result; on failure reports "<what> returned
// <result>: <xcclGetLastError>" and returns false.
bool xcclOk(const Context &ctx, xcclResult_t result, const std::string &what);
// The same for an xpool runtime call.
bool xpOk(const Context &ctx, xpStatus status, const std::string &what);

// Whether `message` names rank `rank` ("rank 1", "rank=1", "peer 1").
bool namesRank(const std::string &message, int rank);

// The result of a call expected to fail: `called` itself, or, when the
// call went asynchronous and returned xcclSuccess, what
// xcclCommGetAsyncError reports once the stream is done (30 s at most).
// *message is the matching xcclGetLastError.
xcclResult_t awaitOutcome(const Context &ctx, xcclResult_t called, std::string *message);

// Scenarios; each returns an ExitCode.
int runMatrix(Context &ctx);
int runSplit(Context &ctx);
int runStreamOrder(Context &ctx);
int runAsyncError(Context &ctx);
int runCheckMismatch(Context &ctx);
int runSizeMismatch(Context &ctx);
int runKilledPeer(Context &ctx);
int runAbort(Context &ctx);

}  // namespace xccltest
