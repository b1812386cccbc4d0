#include "shm_channel.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>

#include "reduce.h"

namespace xpool::xccl {

struct ShmFifo::Header {
  alignas(64) std::atomic<uint64_t> head;  // bytes written, by the sender only
  alignas(64) std::atomic<uint64_t> tail;  // bytes consumed, by the receiver only
};

namespace {

constexpr size_t kHeaderBytes = 128;
static_assert(sizeof(ShmFifo::Header) <= kHeaderBytes);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

// The most one progress step moves before publishing it: small enough that
// the other side starts on the first bytes while the rest are written.
constexpr size_t kStepBytes = size_t{64} << 10;

size_t padded(size_t bytes) {
  return (bytes + 63) & ~size_t{63};
}

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

xcclResult_t ShmChannel::progressSend(Request &request) {
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
