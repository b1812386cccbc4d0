// Same-node channel: one single-producer single-consumer byte FIFO in POSIX
// shared memory per direction. The receiver creates its inbox, the sender
// maps it; both names are unlinked once mapped, so a crash leaves nothing
// behind in /dev/shm. A received chunk is reduced straight out of the FIFO
// into its destination (no second copy). Both sides map with MAP_POPULATE:
// a first touch costs about 10 us per 4 KiB page here, which the first
// thousand small messages through a fresh FIFO would otherwise pay.
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
  ShmChannel(std::unique_ptr<ShmFifo> inbox, std::unique_ptr<ShmFifo> outbox)
      : inbox_(std::move(inbox)), outbox_(std::move(outbox)) {}
  xcclResult_t progressSend(Request &request) override;
  xcclResult_t progressRecv(Request &request) override;
  void shutdown() override {}
  const char *name() const override { return "shm"; }

 private:
  std::unique_ptr<ShmFifo> inbox_;
  std::unique_ptr<ShmFifo> outbox_;
};

// "/xccl-<key>-<from>-<to>": the inbox of `to` for messages from `from`.
std::string shmFifoName(const uint64_t key[2], int from, int to);

}  // namespace xpool::xccl
