#include "ucx_connect.h"

#include <filesystem>

#include "communicator.h"
#include "logging.h"
#include "tcp_channel.h"
#include "ucx_transport.h"

namespace xpool::xccl {
namespace {

// What a rank sends each UCX peer on the control connection, followed by
// its worker address (`address_length` bytes, none when UCX did not open)
// and `reason_length` bytes saying why UCX did not open or why this rank
// declines it for `auto` pairs.
struct UcxHello {
  uint32_t magic = 0x41584355;  // "UCXA"
  uint32_t opened = 0;
  uint32_t auto_ok = 0;  // takes UCX for XCCL_TRANSPORT=auto pairs
  uint32_t address_length = 0;
  uint32_t reason_length = 0;
};
constexpr uint32_t kMaxHelloBytes = 1u << 20;

struct UcxOffer {
  bool opened = false;
  bool auto_ok = false;
  std::string address;
  std::string reason;
};

bool is(const PeerInfo &info, TransportChoice choice) {
  return info.transport == static_cast<uint32_t>(choice);
}

// InfiniBand and RoCE devices both appear here; without one, UCX between
// nodes runs over its TCP transport, which measured slower than xccl's own
// (docs/benchmarks.md), so `auto` keeps TCP.
bool hasRdmaDevice() {
  std::error_code error;
  std::filesystem::directory_iterator devices("/sys/class/infiniband", error);
  return !error && devices != std::filesystem::directory_iterator();
}

xcclResult_t sendOffer(const Peer &peer, const UcxOffer &offer, Deadline deadline) {
  UcxHello hello;
  hello.opened = offer.opened ? 1 : 0;
  hello.auto_ok = offer.auto_ok ? 1 : 0;
  hello.address_length = static_cast<uint32_t>(offer.address.size());
  hello.reason_length = static_cast<uint32_t>(offer.reason.size());
  XCCL_RETURN_IF_ERROR(sendAll(peer.control, &hello, sizeof hello, deadline, peer.label));
  XCCL_RETURN_IF_ERROR(
      sendAll(peer.control, offer.address.data(), offer.address.size(), deadline, peer.label));
  return sendAll(peer.control, offer.reason.data(), offer.reason.size(), deadline, peer.label);
}

xcclResult_t receiveOffer(const Peer &peer, Deadline deadline, UcxOffer *offer) {
  UcxHello hello;
  hello.magic = 0;
  XCCL_RETURN_IF_ERROR(recvAll(peer.control, &hello, sizeof hello, deadline, peer.label));
  if (hello.magic != UcxHello{}.magic || hello.address_length > kMaxHelloBytes ||
      hello.reason_length > kMaxHelloBytes) {
    return fail(xcclInternalError,
                "UCX setup: {} sent a malformed offer (magic 0x{:x}, {}-byte address, {}-byte "
                "reason)",
                peer.label, hello.magic, hello.address_length, hello.reason_length);
  }
  offer->opened = hello.opened != 0;
  offer->auto_ok = hello.auto_ok != 0;
  offer->address.resize(hello.address_length);
  offer->reason.resize(hello.reason_length);
  XCCL_RETURN_IF_ERROR(
      recvAll(peer.control, offer->address.data(), offer->address.size(), deadline, peer.label));
  return recvAll(peer.control, offer->reason.data(), offer->reason.size(), deadline, peer.label);
}

// Opens UCX when a pair needs it or `auto` may take it; says why not.
std::shared_ptr<UcxWorker> openIfWanted(const xcclComm &comm, bool forced, UcxOffer *mine) {
  const UcxAuto policy = comm.config.ucx_auto;
  std::string declined;
  if (policy == UcxAuto::kNever) {
    declined = fmt::format("rank {} sets XCCL_UCX_AUTO=never", comm.rank);
  } else if (policy == UcxAuto::kRdma && !hasRdmaDevice()) {
    declined = fmt::format(
        "rank {} has no RDMA device (/sys/class/infiniband is empty; over TCP, UCX is slower "
        "than xccl's own TCP; XCCL_UCX_AUTO=always takes it anyway)",
        comm.rank);
  }
  std::shared_ptr<UcxWorker> worker;
  if (forced || declined.empty()) {
    std::string why;
    worker = openUcx(comm.rank, &why);
    if (worker == nullptr) {
      mine->reason = fmt::format("rank {}: {}", comm.rank, why);
      logger()->info("rank {}: UCX is not available here: {}", comm.rank, why);
    }
  }
  mine->opened = worker != nullptr;
  mine->auto_ok = mine->opened && declined.empty();
  if (mine->opened) {
    const std::vector<char> address = ucxAddress(*worker);
    mine->address.assign(address.begin(), address.end());
    mine->reason = declined;
  } else if (mine->reason.empty()) {
    mine->reason = declined;
  }
  return worker;
}

}  // namespace

PairPath pairPath(const PeerInfo &a, const PeerInfo &b) {
  if (is(a, TransportChoice::kTcp) || is(b, TransportChoice::kTcp)) return PairPath::kTcp;
  if (is(a, TransportChoice::kUcx) || is(b, TransportChoice::kUcx)) return PairPath::kUcx;
  if (a.host_id != b.host_id) return PairPath::kUcxElseTcp;
  return PairPath::kShm;
}

xcclResult_t connectUcxPeers(xcclComm &comm, const std::vector<int> &peers,
                             std::vector<std::vector<Socket>> &data, Deadline deadline) {
  if (peers.empty()) return xcclSuccess;
  const PeerInfo &me = comm.infos[static_cast<size_t>(comm.rank)];
  bool forced = false;
  for (int p : peers) forced |= pairPath(me, comm.infos[static_cast<size_t>(p)]) == PairPath::kUcx;
  UcxOffer mine;
  const std::shared_ptr<UcxWorker> worker = openIfWanted(comm, forced, &mine);
  // Every rank sends to all its UCX peers before reading from any, and all
  // ranks do this step at the same point of the setup: no cycle of waits.
  for (int p : peers) {
    XCCL_RETURN_IF_ERROR(sendOffer(comm.peers[static_cast<size_t>(p)], mine, deadline));
  }
  for (int p : peers) {
    Peer &peer = comm.peers[static_cast<size_t>(p)];
    const PeerInfo &info = comm.infos[static_cast<size_t>(p)];
    UcxOffer theirs;
    XCCL_RETURN_IF_ERROR(receiveOffer(peer, deadline, &theirs));
    const bool is_forced = pairPath(me, info) == PairPath::kUcx;
    const bool use_ucx =
        mine.opened && theirs.opened && (is_forced || (mine.auto_ok && theirs.auto_ok));
    if (use_ucx) {
      const bool same_node = me.host_id == info.host_id;
      XCCL_RETURN_IF_ERROR(
          makeUcxChannel(worker, std::vector<char>(theirs.address.begin(), theirs.address.end()),
                         comm.rank, p, same_node, comm.config.timeout_ms, &peer.channel));
      continue;
    }
    // This rank's reason first, then the peer's.
    const bool mine_lacking = is_forced ? !mine.opened : !mine.auto_ok;
    const std::string &why = mine_lacking ? mine.reason : theirs.reason;
    if (is_forced) {
      return fail(xcclSystemError,
                  "XCCL_TRANSPORT=ucx between rank {} and rank {}, but UCX is not available on "
                  "{}",
                  comm.rank, p, why);
    }
    logger()->info("rank {}: TCP to rank {} instead of UCX: {}", comm.rank, p, why);
    peer.channel = std::make_unique<TcpChannel>(std::move(data[static_cast<size_t>(p)]));
  }
  return xcclSuccess;
}

}  // namespace xpool::xccl
