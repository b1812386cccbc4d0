// xccl-perf's calls into xccl and the runtime: each failure becomes an
// exception carrying the library's own message (which names the values and
// the peer), and one function issues any collective of the benchmark.
#pragma once

#include <stdexcept>
#include <string>

#include "collective.h"
#include "datatypes.h"
#include "xpool/runtime.h"
#include "xpool/xccl.h"

namespace xccl_bench {

struct CallError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws CallError("`call`: <result>: <xcclGetLastError>") unless success.
void xcclCheck(xcclResult_t result, const char *call, xcclComm_t comm);
// Throws CallError("`call`: <status>: <xpGetLastError>") unless XP_SUCCESS.
void xpCheck(xpStatus status, const char *call);

xcclDataType_t toXccl(DataType type);
xcclRedOp_t toXccl(RedOp op);

// One call of `coll` on this rank's stream. `send` and `recv` are where the
// call reads and writes (already offset for the in-place variant).
struct Call {
  Coll coll;
  const void *send;
  void *recv;
  size_t count;
  DataType type;
  RedOp op;
  int root;
  int rank, nranks;
  xcclComm_t comm;
  xpStream stream;
};
void issue(const Call &call);

}  // namespace xccl_bench
