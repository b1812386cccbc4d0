#include "shm_channel.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>

#include "reduce.h"

namespace xpool::xccl {

struct ShmFifo::Header {
  alignas(64) std::atomic<uint64_t> head;    // bytes written, by the sender only
  alignas(64) std::atomic<uint64_t> tail;    // bytes consumed, by the receiver only
  alignas(64) std::atomic<uint64_t> copied;  // single-copy messages read, by the receiver
  // Written once during setup (the control-connection handshakes order them).
  alignas(64) uint64_t probe_address;  // the sender's address of probe_value
  uint64_t probe_value;
  uint64_t single_copy_min;  // by the receiver: 0 = off
};

namespace {

constexpr size_t kHeaderBytes = 256;
static_assert(sizeof(ShmFifo::Header) <= kHeaderBytes);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

// The most one progress step moves before publishing it: small enough that
// the other side starts on the first bytes while the rest are written.
constexpr size_t kStepBytes = size_t{64} << 10;

size_t padded(size_t bytes) {
  return (bytes + 63) & ~size_t{63};
}

// What a single-copy message puts in the FIFO instead of its bytes: one
// 64-byte slot (slots are 64-byte aligned, so it never wraps).
struct Descriptor {
  uint64_t address;
  uint64_t bytes;
};
constexpr size_t kDescriptorSlot = 64;

// At most this much is read per progress step, so that the other channels
// keep moving during a large read; reductions go through a buffer of the same
// size, small enough to stay in cache between the read and the reduction.
constexpr size_t kReadStepBytes = size_t{256} << 10;

}  // namespace

std::string shmFifoName(const uint64_t key[2], int from, int to) {
  return fmt::format("/xccl-{:016x}{:016x}-{}-{}", key[0], key[1], from, to);
}

xcclResult_t ShmFifo::create(const std::string &name, size_t capacity,
                             std::unique_ptr<ShmFifo> *out) {
  const int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fail(xcclSystemError, "shm_open({}) to create a {}-byte FIFO: {}", name, capacity,
                std::strerror(errno));
  }
  std::unique_ptr<ShmFifo> fifo(new ShmFifo);
  fifo->name_ = name;
  fifo->linked_ = true;
  fifo->capacity_ = capacity;
  fifo->mapping_bytes_ = kHeaderBytes + capacity;
  if (ftruncate(fd, static_cast<off_t>(fifo->mapping_bytes_)) != 0) {
    const int error = errno;
    close(fd);
    return fail(xcclSystemError,
                "ftruncate of shared memory {} to {} bytes: {} (is /dev/shm large enough? "
                "XCCL_SHM_FIFO_BYTES sets the FIFO size)",
                name, fifo->mapping_bytes_, std::strerror(error));
  }
  fifo->mapping_ =
      mmap(nullptr, fifo->mapping_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  close(fd);
  if (fifo->mapping_ == MAP_FAILED) {
    fifo->mapping_ = nullptr;
    return fail(xcclSystemError, "mmap of shared memory {} ({} bytes): {}", name,
                fifo->mapping_bytes_, std::strerror(errno));
  }
  fifo->header_ = new (fifo->mapping_) Header{};
  fifo->data_ = static_cast<char *>(fifo->mapping_) + kHeaderBytes;
  *out = std::move(fifo);
  return xcclSuccess;
}

xcclResult_t ShmFifo::open(const std::string &name, size_t capacity,
                           std::unique_ptr<ShmFifo> *out) {
  const int fd = shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fail(xcclSystemError, "shm_open({}) of a peer's FIFO: {}", name, std::strerror(errno));
  }
  std::unique_ptr<ShmFifo> fifo(new ShmFifo);
  fifo->name_ = name;
  fifo->capacity_ = capacity;
  fifo->mapping_bytes_ = kHeaderBytes + capacity;
  struct stat info {};
  if (fstat(fd, &info) != 0 || static_cast<size_t>(info.st_size) != fifo->mapping_bytes_) {
    close(fd);
    return fail(xcclInvalidUsage,
                "shared memory {} holds {} bytes, not the {} this rank expects: ranks disagree "
                "on XCCL_SHM_FIFO_BYTES",
                name, static_cast<long long>(info.st_size), fifo->mapping_bytes_);
  }
  fifo->mapping_ =
      mmap(nullptr, fifo->mapping_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  close(fd);
  if (fifo->mapping_ == MAP_FAILED) {
    fifo->mapping_ = nullptr;
    return fail(xcclSystemError, "mmap of shared memory {}: {}", name, std::strerror(errno));
  }
  fifo->header_ = static_cast<Header *>(fifo->mapping_);
  fifo->data_ = static_cast<char *>(fifo->mapping_) + kHeaderBytes;
  *out = std::move(fifo);
  return xcclSuccess;
}

void ShmFifo::unlink() {
  if (linked_) shm_unlink(name_.c_str());
  linked_ = false;
}

ShmFifo::~ShmFifo() {
  unlink();
  if (mapping_ != nullptr) munmap(mapping_, mapping_bytes_);
}

ShmChannel::ShmChannel(std::unique_ptr<ShmFifo> inbox, std::unique_ptr<ShmFifo> outbox,
                       int peer_pid)
    : inbox_(std::move(inbox)), outbox_(std::move(outbox)), peer_pid_(peer_pid) {
  ShmFifo::Header &out = *outbox_->header();
  out.probe_value = reinterpret_cast<uint64_t>(&out) ^ 0x78636c6c70726f62u;
  out.probe_address = reinterpret_cast<uint64_t>(&out.probe_value);
}

void ShmChannel::probeSingleCopy(size_t wanted, std::string *why) {
  ShmFifo::Header &in = *inbox_->header();
  in.single_copy_min = 0;
  recv_single_copy_min_ = 0;
  if (wanted == 0) {
    *why = "XCCL_SHM_SINGLE_COPY_MIN_BYTES=0";
    return;
  }
  uint64_t seen = 0;
  iovec local{&seen, sizeof seen};
  iovec remote{reinterpret_cast<void *>(in.probe_address), sizeof seen};
  const ssize_t got = process_vm_readv(peer_pid_, &local, 1, &remote, 1, 0);
  if (got != static_cast<ssize_t>(sizeof seen)) {
    *why = fmt::format("process_vm_readv from pid {}: {}", peer_pid_,
                       got < 0 ? std::strerror(errno) : "short read");
    return;
  }
  if (seen != in.probe_value) {
    *why = fmt::format("pid {} is not the process that mapped the FIFO", peer_pid_);
    return;
  }
  in.single_copy_min = wanted;
  recv_single_copy_min_ = wanted;
  scratch_.reset(new char[kReadStepBytes]);
}

void ShmChannel::adoptSingleCopy() {
  send_single_copy_min_ = outbox_->header()->single_copy_min;
}

xcclResult_t ShmChannel::sendSingleCopy(Request &request) {
  ShmFifo::Header &header = *outbox_->header();
  if (request.sequence == 0) {
    const uint64_t head = header.head.load(std::memory_order_relaxed);
    const uint64_t tail = header.tail.load(std::memory_order_acquire);
    if (outbox_->capacity() - static_cast<size_t>(head - tail) < kDescriptorSlot) {
      return xcclSuccess;
    }
    const Descriptor descriptor{reinterpret_cast<uint64_t>(request.src), request.bytes};
    std::memcpy(outbox_->data() + head % outbox_->capacity(), &descriptor, sizeof descriptor);
    header.head.store(head + kDescriptorSlot, std::memory_order_release);
    request.sequence = ++single_copies_sent_;
  }
  // The buffer must stay as it is until the receiver has read it.
  if (header.copied.load(std::memory_order_acquire) >= request.sequence) {
    request.done = request.bytes;
    request.complete = true;
  }
  return xcclSuccess;
}

xcclResult_t ShmChannel::recvSingleCopy(Request &request) {
  ShmFifo::Header &header = *inbox_->header();
  if (request.sequence == 0) {
    const uint64_t tail = header.tail.load(std::memory_order_relaxed);
    const uint64_t head = header.head.load(std::memory_order_acquire);
    if (head == tail) return xcclSuccess;
    Descriptor descriptor{};
    std::memcpy(&descriptor, inbox_->data() + tail % inbox_->capacity(), sizeof descriptor);
    header.tail.store(tail + kDescriptorSlot, std::memory_order_release);
    if (descriptor.bytes != request.bytes) {
      return fail(xcclInvalidUsage,
                  "the peer sent {} bytes where this rank expects {} (do both ranks run the same "
                  "operation with the same count and type? XCCL_CHECK=1 compares them)",
                  descriptor.bytes, request.bytes);
    }
    request.peer_address = descriptor.address;
    request.sequence = 1;
  }
  const size_t element = request.kind == Request::Kind::kRecvReduce ? typeSize(request.type) : 1;
  while (request.done < request.bytes) {
    const size_t step = std::min(request.bytes - request.done, kReadStepBytes);
    char *into = request.kind == Request::Kind::kRecv ? request.dst + request.done : scratch_.get();
    iovec local{into, step};
    iovec remote{reinterpret_cast<void *>(request.peer_address + request.done), step};
    const ssize_t got = process_vm_readv(peer_pid_, &local, 1, &remote, 1, 0);
    if (got <= 0) {
      if (got < 0 && errno == EINTR) return xcclSuccess;
      return fail(xcclSystemError, "process_vm_readv of {} bytes at {:#x} from pid {}: {}", step,
                  request.peer_address + request.done, peer_pid_,
                  got < 0 ? std::strerror(errno) : "nothing read");
    }
    // A short read (the kernel stops at a fault) is taken whole elements at a
    // time; the rest is read again.
    const size_t usable = static_cast<size_t>(got) / element * element;
    if (request.kind == Request::Kind::kRecvReduce) {
      reduce(request.dst + request.done, request.local + request.done, scratch_.get(),
             usable / element, request.type, request.op);
    }
    request.done += usable;
    if (usable < step) return xcclSuccess;  // let the others move, then go on
  }
  header.copied.store(header.copied.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  request.complete = true;
  return xcclSuccess;
}

xcclResult_t ShmChannel::progressSend(Request &request) {
  if (send_single_copy_min_ != 0 && request.bytes >= send_single_copy_min_) {
    return sendSingleCopy(request);
  }
  ShmFifo::Header &header = *outbox_->header();
  const size_t capacity = outbox_->capacity();
  const size_t total = padded(request.bytes);
  while (request.done < total) {
    const uint64_t head = header.head.load(std::memory_order_relaxed);
    const uint64_t tail = header.tail.load(std::memory_order_acquire);
    const size_t space = capacity - static_cast<size_t>(head - tail);
    if (space == 0) return xcclSuccess;
    const size_t position = static_cast<size_t>(head % capacity);
    const size_t step = std::min({space, total - request.done, capacity - position, kStepBytes});
    if (request.done < request.bytes) {
      const size_t payload = std::min(step, request.bytes - request.done);
      std::memcpy(outbox_->data() + position, request.src + request.done, payload);
    }
    header.head.store(head + step, std::memory_order_release);
    request.done += step;
  }
  request.complete = true;
  return xcclSuccess;
}

xcclResult_t ShmChannel::progressRecv(Request &request) {
  if (recv_single_copy_min_ != 0 && request.bytes >= recv_single_copy_min_) {
    return recvSingleCopy(request);
  }
  ShmFifo::Header &header = *inbox_->header();
  const size_t capacity = inbox_->capacity();
  const size_t total = padded(request.bytes);
  const size_t element = request.kind == Request::Kind::kRecvReduce ? typeSize(request.type) : 1;
  while (request.done < total) {
    const uint64_t tail = header.tail.load(std::memory_order_relaxed);
    const uint64_t head = header.head.load(std::memory_order_acquire);
    const size_t available = static_cast<size_t>(head - tail);
    if (available == 0) return xcclSuccess;
    const size_t position = static_cast<size_t>(tail % capacity);
    const size_t step =
        std::min({available, total - request.done, capacity - position, kStepBytes});
    if (request.done < request.bytes) {
      const size_t payload = std::min(step, request.bytes - request.done);
      const char *incoming = inbox_->data() + position;
      if (request.kind == Request::Kind::kRecv) {
        std::memcpy(request.dst + request.done, incoming, payload);
      } else {
        reduce(request.dst + request.done, request.local + request.done, incoming,
               payload / element, request.type, request.op);
      }
    }
    header.tail.store(tail + step, std::memory_order_release);
    request.done += step;
  }
  request.complete = true;
  return xcclSuccess;
}

}  // namespace xpool::xccl
