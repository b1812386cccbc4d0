// The UCX transport as the rest of xccl sees it, without UCX's headers: a
// build without them compiles ucx_absent.cpp instead and every node reports
// UCX as unavailable (with the reason), falling back to TCP.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "channel.h"

namespace xpool::xccl {

// One UCP context and worker, shared by the channels of one communicator.
class UcxWorker;

// Opens UCX for one communicator (loads libucp on first use). nullptr with
// `why` set when UCX cannot be used here ("libucp.so.0: cannot open shared
// object file: No such file or directory").
std::shared_ptr<UcxWorker> openUcx(int rank, std::string *why);

// The worker's address: what a peer needs to reach it (a few hundred bytes).
std::vector<char> ucxAddress(const UcxWorker &worker);

// A channel to the peer whose worker address is `peer_address`. Messages of
// `rank` to `peer` carry tags made of the sender's rank and a sequence
// number; `same_node` says whether UCX may use shared memory (see
// UcxChannel::connect); closing waits at most `close_timeout_ms`.
xcclResult_t makeUcxChannel(const std::shared_ptr<UcxWorker> &worker,
                            const std::vector<char> &peer_address, int rank, int peer,
                            bool same_node, uint32_t close_timeout_ms,
                            std::unique_ptr<Channel> *out);

}  // namespace xpool::xccl
