// Built when CMake found no UCX headers: UCX is never available, and the
// reason says so, so XCCL_TRANSPORT=ucx fails clearly and auto uses TCP.
#include "ucx_transport.h"

namespace xpool::xccl {

class UcxWorker {};

std::shared_ptr<UcxWorker> openUcx(int, std::string *why) {
  *why = "xccl was built without the UCX headers (ucp/api/ucp.h; Debian: libucx-dev)";
  return nullptr;
}

std::vector<char> ucxAddress(const UcxWorker &) {
  return {};
}

xcclResult_t makeUcxChannel(const std::shared_ptr<UcxWorker> &, const std::vector<char> &, int, int,
                            bool, uint32_t, std::unique_ptr<Channel> *) {
  return fail(xcclInternalError, "UCX channel requested in a build without UCX");
}

}  // namespace xpool::xccl
