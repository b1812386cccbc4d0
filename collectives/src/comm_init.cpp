// Forming a communicator: the rank's device, the bootstrap exchange, the
// mesh of connections and the shared-memory FIFOs between ranks of a node.
#include <unistd.h>

#include <cstring>

#include "algorithms.h"
#include "communicator.h"
#include "logging.h"
#include "reduce.h"
#include "shm_channel.h"
#include "tcp_channel.h"
#include "ucx_connect.h"

namespace xpool::xccl {
namespace {

struct Handshake {
  uint64_t key[2];
  int32_t from;
  int32_t index;  // 0: control connection, 1..: data sockets
};

// A pair that may use UCX between nodes also gets TCP sockets: whether
// both ends can open UCX is only known after the mesh is up.
int dataSockets(const PeerInfo &a, const PeerInfo &b) {
  const PairPath path = pairPath(a, b);
  const bool tcp = path == PairPath::kTcp || path == PairPath::kUcxElseTcp;
  return tcp ? static_cast<int>(std::min(a.sockets_per_peer, b.sockets_per_peer)) : 0;
}

xcclResult_t openDevice(xcclComm &comm, int device, const char *call) {
  if (xpInit() != XP_SUCCESS) {
    return fail(xcclDeviceError, "{}: xpInit: {}", call, xpGetLastError());
  }
  int count = 0;
  xpDeviceCount(&count);
  if (device < 0 || device >= count) {
    xpShutdown();
    return fail(xcclInvalidArgument, "{}: device {} does not exist (the pool has {} devices)", call,
                device, count);
  }
  xpDeviceProps props{};
  props.struct_size = sizeof props;
  xpDeviceGetProperties(device, &props);
  comm.device = device;
  comm.device_host_addressable = props.host_addressable != 0;
  comm.device_label = fmt::format("device {} ({} {})", device, props.backend, props.name);
  if (xpStreamCreate(device, &comm.own_stream) != XP_SUCCESS ||
      xpStreamCreate(device, &comm.copy_stream) != XP_SUCCESS) {
    return fail(xcclDeviceError, "{}: creating streams on {}: {}", call, comm.device_label,
                xpGetLastError());
  }
  return xcclSuccess;
}

PeerInfo describeSelf(const xcclComm &comm, const sockaddr_in &listen) {
  PeerInfo info;
  info.rank = static_cast<uint32_t>(comm.rank);
  info.nranks = static_cast<uint32_t>(comm.nranks);
  info.pid = getpid();
  info.device = comm.device;
  info.host_id = hostId();
  info.host_addressable = comm.device_host_addressable ? 1 : 0;
  info.transport = static_cast<uint32_t>(comm.config.transport);
  info.sockets_per_peer = static_cast<uint32_t>(comm.config.sockets_per_peer);
  info.check = comm.config.check ? 1 : 0;
  info.nccl = static_cast<uint32_t>(comm.config.nccl);
  hostName(info.hostname, sizeof info.hostname);
  xpDeviceProps props{};
  props.struct_size = sizeof props;
  xpDeviceGetProperties(comm.device, &props);
  // Truncated to fit: these only label the rank in messages.
  fmt::format_to_n(info.backend, sizeof info.backend - 1, "{}", props.backend);
  fmt::format_to_n(info.device_name, sizeof info.device_name - 1, "{}", props.name);
  std::memcpy(info.device_uuid, props.uuid, sizeof info.device_uuid);
  info.listen = listen;
  return info;
}

// Every pair gets a control connection and, over TCP, data sockets. The
// higher rank connects: connections complete in the listener's backlog, so
// connecting first and accepting afterwards cannot deadlock.
xcclResult_t connectMesh(xcclComm &comm, const Socket &listener, Deadline deadline,
                         std::vector<std::vector<Socket>> *data) {
  const PeerInfo &me = comm.infos[static_cast<size_t>(comm.rank)];
  data->resize(static_cast<size_t>(comm.nranks));
  for (int p = 0; p < comm.rank; ++p) {
    const PeerInfo &peer = comm.infos[static_cast<size_t>(p)];
    const int sockets = 1 + dataSockets(me, peer);
    for (int index = 0; index < sockets; ++index) {
      Socket socket;
      XCCL_RETURN_IF_ERROR(connectTo(peer.listen, deadline, "xccl connecting to a peer", &socket));
      const Handshake hello{{comm.key[0], comm.key[1]}, comm.rank, index};
      XCCL_RETURN_IF_ERROR(sendAll(socket, &hello, sizeof hello, deadline,
                                   comm.peers[static_cast<size_t>(p)].label));
      if (index == 0) {
        comm.peers[static_cast<size_t>(p)].control = std::move(socket);
      } else {
        (*data)[static_cast<size_t>(p)].push_back(std::move(socket));
      }
    }
    (*data)[static_cast<size_t>(p)].resize(static_cast<size_t>(sockets - 1));
  }
  int expected = 0;
  for (int p = comm.rank + 1; p < comm.nranks; ++p) {
    const int sockets = 1 + dataSockets(me, comm.infos[static_cast<size_t>(p)]);
    expected += sockets;
    (*data)[static_cast<size_t>(p)].resize(static_cast<size_t>(sockets - 1));
  }
  for (int accepted = 0; accepted < expected;) {
    Socket socket;
    xcclResult_t result = acceptOne(listener, deadline, "xccl waiting for peers", &socket);
    if (result == xcclTimeout) {
      return fail(xcclTimeout,
                  "rank {}: {} of {} connections from higher ranks arrived before the deadline",
                  comm.rank, accepted, expected);
    }
    XCCL_RETURN_IF_ERROR(result);
    Handshake hello{};
    XCCL_RETURN_IF_ERROR(recvAll(socket, &hello, sizeof hello, deadline, "a connecting peer"));
    if (hello.key[0] != comm.key[0] || hello.key[1] != comm.key[1] || hello.from <= comm.rank ||
        hello.from >= comm.nranks) {
      logger()->warn("rank {}: dropped a stray connection (rank {}, wrong key or rank)", comm.rank,
                     hello.from);
      continue;
    }
    auto &sockets = (*data)[static_cast<size_t>(hello.from)];
    if (hello.index == 0) {
      comm.peers[static_cast<size_t>(hello.from)].control = std::move(socket);
    } else if (static_cast<size_t>(hello.index) <= sockets.size()) {
      sockets[static_cast<size_t>(hello.index - 1)] = std::move(socket);
    }
    ++accepted;
  }
  return xcclSuccess;
}

// One byte to and from every same-node peer over the control connection:
// the barrier between creating, mapping and unlinking the FIFOs.
xcclResult_t shmHandshake(xcclComm &comm, const std::vector<int> &peers, char token,
                          Deadline deadline) {
  for (int p : peers) {
    XCCL_RETURN_IF_ERROR(sendAll(comm.peers[static_cast<size_t>(p)].control, &token, 1, deadline,
                                 comm.peers[static_cast<size_t>(p)].label));
  }
  for (int p : peers) {
    char got = 0;
    XCCL_RETURN_IF_ERROR(recvAll(comm.peers[static_cast<size_t>(p)].control, &got, 1, deadline,
                                 comm.peers[static_cast<size_t>(p)].label));
    if (got != token) {
      return fail(xcclInternalError, "shared-memory setup: {} sent '{}' instead of '{}'",
                  comm.peers[static_cast<size_t>(p)].label, got, token);
    }
  }
  return xcclSuccess;
}

xcclResult_t buildChannels(xcclComm &comm, std::vector<std::vector<Socket>> &data,
                           Deadline deadline) {
  const PeerInfo &me = comm.infos[static_cast<size_t>(comm.rank)];
  std::vector<int> shm_peers, ucx_peers;
  for (int p = 0; p < comm.nranks; ++p) {
    if (p == comm.rank) continue;
    const PairPath path = pairPath(me, comm.infos[static_cast<size_t>(p)]);
    if (path == PairPath::kTcp) {
      comm.peers[static_cast<size_t>(p)].channel =
          std::make_unique<TcpChannel>(std::move(data[static_cast<size_t>(p)]));
    } else if (path == PairPath::kShm) {
      shm_peers.push_back(p);
    } else {
      ucx_peers.push_back(p);
    }
  }
  // Every rank takes these steps in the same order (UCX, then shared
  // memory): each step's messages on the control connections cannot wait
  // on a peer that is still in another step.
  XCCL_RETURN_IF_ERROR(connectUcxPeers(comm, ucx_peers, data, deadline));
  if (shm_peers.empty()) return xcclSuccess;
  const size_t capacity = comm.config.shm_fifo_bytes;
  std::vector<std::unique_ptr<ShmFifo>> inboxes(static_cast<size_t>(comm.nranks));
  for (int p : shm_peers) {
    XCCL_RETURN_IF_ERROR(ShmFifo::create(shmFifoName(comm.key, p, comm.rank), capacity,
                                         &inboxes[static_cast<size_t>(p)]));
  }
  XCCL_RETURN_IF_ERROR(shmHandshake(comm, shm_peers, 'C', deadline));
  std::vector<ShmChannel *> shm_channels;
  for (int p : shm_peers) {
    std::unique_ptr<ShmFifo> outbox;
    XCCL_RETURN_IF_ERROR(ShmFifo::open(shmFifoName(comm.key, comm.rank, p), capacity, &outbox));
    auto channel =
        std::make_unique<ShmChannel>(std::move(inboxes[static_cast<size_t>(p)]), std::move(outbox),
                                     comm.infos[static_cast<size_t>(p)].pid);
    shm_channels.push_back(channel.get());
    comm.peers[static_cast<size_t>(p)].channel = std::move(channel);
  }
  XCCL_RETURN_IF_ERROR(shmHandshake(comm, shm_peers, 'M', deadline));
  // Single copy: each receiver probes its peers' memory, then each sender
  // reads what its peer decided.
  for (size_t i = 0; i < shm_peers.size(); ++i) {
    std::string why;
    shm_channels[i]->probeSingleCopy(comm.config.shm_single_copy_min_bytes, &why);
    if (!why.empty()) {
      logger()->info("rank {}: messages from rank {} go through the FIFO only ({})", comm.rank,
                     shm_peers[i], why);
    }
  }
  XCCL_RETURN_IF_ERROR(shmHandshake(comm, shm_peers, 'S', deadline));
  for (ShmChannel *channel : shm_channels) channel->adoptSingleCopy();
  return xcclSuccess;
}

}  // namespace

void retain(xcclComm *comm) {
  comm->references.fetch_add(1);
}

xcclResult_t readNcclChoices(const xcclComm &comm, NcclChoices *choices) {
  *choices = NcclChoices{};
  for (const PeerInfo &info : comm.infos) {
    if (info.nccl == static_cast<uint32_t>(NcclChoice::kOn) && choices->required_by < 0) {
      choices->required_by = info.rank;
    }
    if (info.nccl == static_cast<uint32_t>(NcclChoice::kOff) && choices->refused_by < 0) {
      choices->refused_by = info.rank;
    }
  }
  if (choices->required_by >= 0 && choices->refused_by >= 0) {
    return fail(xcclInvalidUsage,
                "rank {}: XCCL_NCCL=1 on rank {} but XCCL_NCCL=0 on rank {}: the ranks of a "
                "communicator must agree",
                comm.rank, choices->required_by, choices->refused_by);
  }
  return xcclSuccess;
}

void release(xcclComm *comm) {
  if (comm->references.fetch_sub(1) != 1) return;
  // NCCL first: its watchdog thread may still reach into the communicator
  // (breakWith), so it stops while everything it touches is alive.
  comm->nccl.reset();
  // Unread input makes close() send a reset, which can destroy frames the
  // peer has not read yet (an abort's reason): drop it first.
  for (Peer &peer : comm->peers) peer.control.discardInput();
  for (xpEvent event :
       {comm->staged_in[0], comm->staged_in[1], comm->staged_out[0], comm->staged_out[1]}) {
    if (event != nullptr) xpEventDestroy(event);
  }
  if (comm->copy_out_stream != nullptr) xpStreamDestroy(comm->copy_out_stream);
  if (comm->own_stream != nullptr) xpStreamDestroy(comm->own_stream);
  if (comm->copy_stream != nullptr) xpStreamDestroy(comm->copy_stream);
  const bool had_device = comm->own_stream != nullptr;
  delete comm;
  if (had_device) xpShutdown();
}

xcclResult_t createCommunicator(int nranks, const UniqueIdContents &id, int rank, int device,
                                const char *call, xcclComm **out) {
  *out = nullptr;
  XCCL_RETURN_IF_ERROR(checkId(id, call));
  if (nranks < 1)
    return fail(xcclInvalidArgument, "{}: nranks is {}; it must be >= 1", call, nranks);
  if (rank < 0 || rank >= nranks) {
    return fail(xcclInvalidArgument, "{}: rank {} is not in 0..{} (nranks {})", call, rank,
                nranks - 1, nranks);
  }
  auto *comm = new xcclComm;
  comm->rank = rank;
  comm->nranks = nranks;
  comm->config = readConfig();
  comm->key[0] = id.key[0];
  comm->key[1] = id.key[1];
  const Deadline deadline = comm->deadline();
  auto failed = [&](xcclResult_t result) {
    const std::string message = lastError();
    release(comm);
    return fail(result, "{}", message);
  };
  xcclResult_t result = openDevice(*comm, device, call);
  if (result != xcclSuccess) {
    if (comm->own_stream == nullptr) {
      delete comm;
      return result;
    }
    return failed(result);
  }
  // Listen where the root was reached from: loopback for a local root.
  sockaddr_in listen_address{};
  listen_address.sin_family = AF_INET;
  if (id.root.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
    listen_address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else if ((result = localAddress(comm->config.socket_ifname, &listen_address.sin_addr)) !=
             xcclSuccess) {
    return failed(result);
  }
  Socket listener;
  sockaddr_in bound{};
  if ((result = listenOn(listen_address, &listener, &bound)) != xcclSuccess) return failed(result);
  const PeerInfo mine = describeSelf(*comm, bound);
  if ((result = exchangeWithRoot(id, mine, deadline, &comm->infos)) != xcclSuccess) {
    return failed(result);
  }
  comm->peers.resize(static_cast<size_t>(nranks));
  comm->layout = computeNodeLayout(comm->infos, rank);
  comm->engine.start(nranks);
  for (const PeerInfo &info : comm->infos) {
    if (info.host_addressable == 0) comm->chunk_staging = true;
  }
  for (int p = 0; p < nranks; ++p) {
    const PeerInfo &info = comm->infos[static_cast<size_t>(p)];
    comm->peers[static_cast<size_t>(p)].label =
        fmt::format("rank {} (pid {} on {}, {} device {})", p, info.pid, info.hostname,
                    info.backend, info.device);
  }
  std::vector<std::vector<Socket>> data;
  if ((result = connectMesh(*comm, listener, deadline, &data)) != xcclSuccess ||
      (result = buildChannels(*comm, data, deadline)) != xcclSuccess) {
    return failed(result);
  }
  for (int p = 0; p < nranks; ++p) {
    if (p == rank) continue;
    Peer &peer = comm->peers[static_cast<size_t>(p)];
    peer.label = fmt::format(
        "rank {} (pid {} on {}, {} device {}, {})", p, comm->infos[static_cast<size_t>(p)].pid,
        comm->infos[static_cast<size_t>(p)].hostname, comm->infos[static_cast<size_t>(p)].backend,
        comm->infos[static_cast<size_t>(p)].device, peer.channel->name());
    logger()->info("rank {} of {} on {}: path to {}", rank, nranks, comm->device_label, peer.label);
  }
  if ((result = setupNccl(*comm, deadline)) != xcclSuccess) return failed(result);
  logger()->info("rank {} of {}: reductions use {}; timeout {} ms", rank, nranks, reduceIsa(),
                 comm->config.timeout_ms);
  logLayout(*comm);
  *out = comm;
  return xcclSuccess;
}

}  // namespace xpool::xccl
