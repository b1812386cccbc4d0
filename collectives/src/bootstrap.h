// Bootstrap: how ranks find each other. A root (a thread of the process
// that made the unique id) collects every rank's PeerInfo and sends each
// rank the whole table; then ranks connect to each other directly (mesh).
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <vector>

#include "config.h"
#include "errors.h"
#include "socket.h"

namespace xpool::xccl {

// What one rank tells the others about itself. Plain data: it travels as
// bytes between processes of the same build.
struct PeerInfo {
  uint32_t rank = 0;
  uint32_t nranks = 0;
  int32_t pid = 0;
  int32_t device = 0;
  uint64_t host_id = 0;  // hash of host name and boot id: equal means same node
  uint32_t host_addressable = 0;
  uint32_t transport = 0;  // the rank's TransportChoice
  uint32_t sockets_per_peer = 1;
  uint32_t check = 0;  // XCCL_CHECK on this rank
  uint32_t nccl = 0;   // XCCL_NCCL on this rank (NcclChoice)
  uint8_t device_uuid[16] = {};
  char hostname[64] = {};
  char backend[32] = {};
  char device_name[64] = {};
  sockaddr_in listen{};  // this rank's listener for peer connections
};

// Inside xcclUniqueId.
struct UniqueIdContents {
  uint32_t magic = 0;
  uint32_t version = 0;
  sockaddr_in root{};
  uint64_t key[2] = {0, 0};  // random: tells this communicator's ranks apart
};

UniqueIdContents decodeId(const xcclUniqueId &id);
// The id of a root known in advance (launcher environment).
UniqueIdContents idFor(const sockaddr_in &root, const uint64_t key[2]);
xcclUniqueId encodeId(const UniqueIdContents &contents);
xcclResult_t checkId(const UniqueIdContents &contents, const char *call);

// Starts a root thread listening on `address` (port 0: any free port) and
// returns the id that names it. The thread serves one communicator and
// ends when it is formed or at the deadline. `key` NULL: a random key.
xcclResult_t startRoot(const sockaddr_in &address, uint32_t timeout_ms, const uint64_t *key,
                       UniqueIdContents *id);

// Sends `mine` to the root and receives every rank's info, in rank order.
xcclResult_t exchangeWithRoot(const UniqueIdContents &id, const PeerInfo &mine, Deadline deadline,
                              std::vector<PeerInfo> *all);

// This node's host id (host name and boot id) and name.
uint64_t hostId();
void hostName(char *out, size_t size);

// The random 128-bit key of a new id.
void randomKey(uint64_t key[2]);

}  // namespace xpool::xccl
