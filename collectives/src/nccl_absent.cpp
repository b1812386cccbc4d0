// Built when CMake found no nccl.h: NCCL is never used, XCCL_NCCL=1 fails
// with the reason, and auto runs xccl's own path.
#include "communicator.h"
#include "logging.h"
#include "nccl_path.h"

namespace xpool::xccl {

struct NcclComm {};

void NcclCommDeleter::operator()(NcclComm *nccl) const {
  delete nccl;
}

xcclResult_t setupNccl(xcclComm &comm, Deadline) {
  NcclChoices choices;
  XCCL_RETURN_IF_ERROR(readNcclChoices(comm, &choices));
  if (choices.required_by < 0) return xcclSuccess;
  return fail(xcclSystemError,
              "XCCL_NCCL=1 on rank {}, but this xccl was built without nccl.h (CMake found no "
              "NCCL headers; see docs/xccl.md)",
              choices.required_by);
}

bool ncclTakes(const xcclComm &, const std::vector<Op> &) {
  return false;
}

xcclResult_t runOnNccl(const std::vector<NcclBatch> &) {
  return fail(xcclInternalError, "the NCCL path in a build without NCCL");
}

xcclResult_t finalizeNccl(xcclComm &, const char *) {
  return xcclSuccess;
}

void abortNccl(xcclComm &) {}

xcclResult_t ncclAsyncState(xcclComm &) {
  return xcclSuccess;
}

}  // namespace xpool::xccl
