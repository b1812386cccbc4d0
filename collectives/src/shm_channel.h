// Same-node channel: one single-producer single-consumer byte FIFO in POSIX
// shared memory per direction. The receiver creates its inbox, the sender
// maps it; both names are unlinked once mapped, so a crash leaves nothing
// behind in /dev/shm. A received chunk is reduced straight out of the FIFO
// into its destination (no second copy). Both sides map with MAP_POPULATE:
// a first touch costs about 10 us per 4 KiB page here, which the first
// thousand small messages through a fresh FIFO would otherwise pay.
//
// Large messages take one copy instead of two: the sender puts a 64-byte
// descriptor (its buffer's address and size) in the FIFO, the receiver reads
// the buffer straight from the sender's memory with process_vm_readv (Linux
// cross-memory attach) and counts it in the FIFO header, and the sender's
// send completes when the count reaches it. At setup the receiver proves it
// may read the sender's memory (same user, no ptrace restriction) and
// publishes the size from which both sides use it; 0 keeps every message in
// the FIFO.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "channel.h"

namespace xpool::xccl {

// A mapped FIFO segment: header (head and tail counters on their own cache
// lines) then `capacity` bytes of data.
class ShmFifo {
 public:
  static xcclResult_t create(const std::string &name, size_t capacity,
                             std::unique_ptr<ShmFifo> *out);
  static xcclResult_t open(const std::string &name, size_t capacity, std::unique_ptr<ShmFifo> *out);
  ~ShmFifo();
  ShmFifo(const ShmFifo &) = delete;
  ShmFifo &operator=(const ShmFifo &) = delete;

  struct Header;
  Header *header() const { return header_; }
  char *data() const { return data_; }
  size_t capacity() const { return capacity_; }
  const std::string &name() const { return name_; }
  void unlink();

 private:
  ShmFifo() = default;
  std::string name_;
  void *mapping_ = nullptr;
  size_t mapping_bytes_ = 0;
  Header *header_ = nullptr;
  char *data_ = nullptr;
  size_t capacity_ = 0;
  bool linked_ = false;
};

class ShmChannel final : public Channel {
 public:
  // `peer_pid`: the process the single-copy reads come from. Publishes, in the
  // outbox, where the receiver may probe this process's memory.
  ShmChannel(std::unique_ptr<ShmFifo> inbox, std::unique_ptr<ShmFifo> outbox, int peer_pid);
  // Setup, once both sides have mapped both FIFOs: the receiver side tries a
  // read of the peer's probe and publishes `wanted` (or 0, with the reason in
  // *why, when the read fails) as the single-copy threshold of its inbox...
  void probeSingleCopy(size_t wanted, std::string *why);
  // ...and, once every peer has probed, the sender side adopts the threshold
  // its peer published for the outbox.
  void adoptSingleCopy();
  size_t singleCopyMinBytes() const { return send_single_copy_min_; }

  xcclResult_t progressSend(Request &request) override;
  xcclResult_t progressRecv(Request &request) override;
  void shutdown() override {}
  const char *name() const override { return "shm"; }

 private:
  xcclResult_t sendSingleCopy(Request &request);
  xcclResult_t recvSingleCopy(Request &request);

  std::unique_ptr<ShmFifo> inbox_;
  std::unique_ptr<ShmFifo> outbox_;
  int peer_pid_ = 0;
  size_t send_single_copy_min_ = 0;  // 0: off
  size_t recv_single_copy_min_ = 0;
  uint64_t single_copies_sent_ = 0;
  std::unique_ptr<char[]> scratch_;  // single-copy reads to be reduced
};

// "/xccl-<key>-<from>-<to>": the inbox of `to` for messages from `from`.
std::string shmFifoName(const uint64_t key[2], int from, int to);

}  // namespace xpool::xccl
