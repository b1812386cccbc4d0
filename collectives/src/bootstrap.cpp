#include "bootstrap.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "logging.h"

namespace xpool::xccl {
namespace {

constexpr uint32_t kIdMagic = 0x4c434358;  // "XCCL"
constexpr uint32_t kIdVersion = 1;

struct Hello {
  uint64_t key[2];
  PeerInfo info;
};

struct Reply {
  int32_t result;
  char message[512];
};

static_assert(sizeof(UniqueIdContents) <= XCCL_UNIQUE_ID_BYTES);

xcclResult_t replyAll(std::vector<Socket> &sockets, const Reply &reply,
                      const std::vector<PeerInfo> *table, Deadline deadline) {
  xcclResult_t result = xcclSuccess;
  for (size_t i = 0; i < sockets.size(); ++i) {
    const std::string who = fmt::format("rank connection {}", i);
    xcclResult_t sent = sendAll(sockets[i], &reply, sizeof reply, deadline, who);
    if (sent == xcclSuccess && table != nullptr) {
      sent = sendAll(sockets[i], table->data(), table->size() * sizeof(PeerInfo), deadline, who);
    }
    if (sent != xcclSuccess) result = sent;
  }
  return result;
}

// The root's work: one communicator's worth of hellos, then the table.
void serveRoot(Socket listener, UniqueIdContents id, uint32_t timeout_ms) {
  const Deadline deadline = Deadline::afterMs(timeout_ms);
  std::vector<Socket> sockets;
  std::vector<PeerInfo> table;
  std::vector<bool> seen;
  uint32_t nranks = 0;
  size_t joined = 0;
  Reply reply{};
  while (nranks == 0 || joined < nranks) {
    Socket socket;
    if (acceptOne(listener, deadline, "xccl bootstrap root", &socket) != xcclSuccess) {
      logger()->warn("bootstrap root on {}: {} of {} ranks joined before the deadline ({} ms)",
                     formatAddress(id.root), joined, nranks, timeout_ms);
      reply.result = xcclTimeout;
      fmt::format_to_n(reply.message, sizeof reply.message - 1,
                       "only {} of {} ranks joined the bootstrap root at {} within {} ms", joined,
                       nranks, formatAddress(id.root), timeout_ms);
      replyAll(sockets, reply, nullptr, Deadline::afterMs(1000));
      return;
    }
    Hello hello{};
    if (recvAll(socket, &hello, sizeof hello, deadline, "a joining rank") != xcclSuccess) continue;
    std::string problem;
    if (hello.key[0] != id.key[0] || hello.key[1] != id.key[1]) {
      // A stray connection (or a rank of another communicator): drop it.
      logger()->warn("bootstrap root: dropped a connection with the wrong key");
      continue;
    }
    if (nranks == 0) {
      nranks = hello.info.nranks;
      table.resize(nranks);
      seen.assign(nranks, false);
    }
    if (hello.info.nranks != nranks) {
      problem = fmt::format("rank {} says nranks={} but the ranks before it said nranks={}",
                            hello.info.rank, hello.info.nranks, nranks);
    } else if (hello.info.rank >= nranks) {
      problem = fmt::format("rank {} is not below nranks={}", hello.info.rank, nranks);
    } else if (seen[hello.info.rank]) {
      problem = fmt::format("rank {} joined twice (pids {} and {})", hello.info.rank,
                            table[hello.info.rank].pid, hello.info.pid);
    }
    sockets.push_back(std::move(socket));
    if (!problem.empty()) {
      reply.result = xcclInvalidUsage;
      fmt::format_to_n(reply.message, sizeof reply.message - 1, "bootstrap: {}", problem);
      replyAll(sockets, reply, nullptr, Deadline::afterMs(1000));
      return;
    }
    seen[hello.info.rank] = true;
    table[hello.info.rank] = hello.info;
    ++joined;
  }
  reply.result = xcclSuccess;
  replyAll(sockets, reply, &table, deadline);
}

uint64_t fnv1a(const std::string &text, uint64_t hash = 1469598103934665603ull) {
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
  return hash;
}

}  // namespace

UniqueIdContents idFor(const sockaddr_in &root, const uint64_t key[2]) {
  UniqueIdContents id;
  id.magic = kIdMagic;
  id.version = kIdVersion;
  id.root = root;
  id.key[0] = key[0];
  id.key[1] = key[1];
  return id;
}

UniqueIdContents decodeId(const xcclUniqueId &id) {
  UniqueIdContents contents;
  std::memcpy(&contents, id.internal, sizeof contents);
  return contents;
}

xcclUniqueId encodeId(const UniqueIdContents &contents) {
  xcclUniqueId id{};
  std::memcpy(id.internal, &contents, sizeof contents);
  return id;
}

xcclResult_t checkId(const UniqueIdContents &contents, const char *call) {
  if (contents.magic != kIdMagic || contents.version != kIdVersion) {
    return fail(xcclInvalidArgument,
                "{}: the unique id is not one made by xcclGetUniqueId of this xccl version "
                "(magic 0x{:x}, version {})",
                call, contents.magic, contents.version);
  }
  return xcclSuccess;
}

void randomKey(uint64_t key[2]) {
  std::random_device device;
  key[0] = (uint64_t{device()} << 32) | device();
  key[1] = (uint64_t{device()} << 32) | device();
}

xcclResult_t startRoot(const sockaddr_in &address, uint32_t timeout_ms, const uint64_t *key,
                       UniqueIdContents *id) {
  Socket listener;
  sockaddr_in bound{};
  XCCL_RETURN_IF_ERROR(listenOn(address, &listener, &bound));
  id->magic = kIdMagic;
  id->version = kIdVersion;
  id->root = bound;
  if (bound.sin_addr.s_addr == htonl(INADDR_ANY)) id->root.sin_addr = address.sin_addr;
  if (key != nullptr) {
    id->key[0] = key[0];
    id->key[1] = key[1];
  } else {
    randomKey(id->key);
  }
  std::thread(serveRoot, std::move(listener), *id, timeout_ms).detach();
  return xcclSuccess;
}

xcclResult_t exchangeWithRoot(const UniqueIdContents &id, const PeerInfo &mine, Deadline deadline,
                              std::vector<PeerInfo> *all) {
  Socket socket;
  const std::string root = fmt::format("the bootstrap root at {}", formatAddress(id.root));
  XCCL_RETURN_IF_ERROR(connectTo(id.root, deadline, "xccl bootstrap", &socket));
  Hello hello{};
  hello.key[0] = id.key[0];
  hello.key[1] = id.key[1];
  hello.info = mine;
  XCCL_RETURN_IF_ERROR(sendAll(socket, &hello, sizeof hello, deadline, root));
  Reply reply{};
  xcclResult_t result = recvAll(socket, &reply, sizeof reply, deadline, root);
  if (result == xcclTimeout) {
    return fail(xcclTimeout,
                "bootstrap: rank {} of {} waited for the other ranks at {} until the deadline; "
                "some ranks never joined",
                mine.rank, mine.nranks, formatAddress(id.root));
  }
  XCCL_RETURN_IF_ERROR(result);
  if (reply.result != xcclSuccess) {
    reply.message[sizeof reply.message - 1] = '\0';
    return fail(static_cast<xcclResult_t>(reply.result), "{}", reply.message);
  }
  all->resize(mine.nranks);
  return recvAll(socket, all->data(), all->size() * sizeof(PeerInfo), deadline, root);
}

uint64_t hostId() {
  // The same name PeerInfo.hostname carries, so that XCCL_HOSTNAME splits
  // one machine into "nodes" for the paths (shm or TCP) and the node layout
  // alike.
  char name[256] = {};
  hostName(name, sizeof name);
  std::string boot_id;
  std::ifstream("/proc/sys/kernel/random/boot_id") >> boot_id;
  return fnv1a(boot_id, fnv1a(name));
}

void hostName(char *out, size_t size) {
  std::memset(out, 0, size);
  const char *forced = std::getenv("XCCL_HOSTNAME");
  if (forced != nullptr && *forced != '\0') {
    std::strncpy(out, forced, size - 1);
  } else {
    gethostname(out, size - 1);
  }
}

}  // namespace xpool::xccl
