#include "xccl_rank.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "memcpy_ceiling.h"
#include "report.h"
#include "sweep.h"
#include "timing.h"
#include "verify.h"
#include "xccl_calls.h"

namespace xccl_bench {
namespace {

constexpr size_t kLineBytes = 256;  // one rank's preamble line, gathered to rank 0

// This rank's stream and buffers; the communicator stays the caller's to end.
class Rank {
 public:
  Rank(const Options &options, xcclComm_t comm) : options_(options), comm_(comm) {
    xcclCheck(xcclCommUserRank(comm, &rank_), "xcclCommUserRank", comm);
    xcclCheck(xcclCommCount(comm, &nranks_), "xcclCommCount", comm);
    xcclCheck(xcclCommDevice(comm, &device_), "xcclCommDevice", comm);
    xpCheck(xpStreamCreate(device_, &stream_), "xpStreamCreate");
    // Pinned host memory for the small exchanges (rank lines, per-row sums).
    control_bytes_ = kLineBytes * (static_cast<size_t>(nranks_) + 1);
    xpCheck(xpMallocHost(control_bytes_, &control_), "xpMallocHost");
  }

  ~Rank() {
    // Errors here cannot change the results any more; the communicator is
    // destroyed (or aborted) by the caller afterwards.
    if (send_) xpFree(send_);
    if (recv_) xpFree(recv_);
    if (control_) xpFreeHost(control_);
    if (stream_) xpStreamDestroy(stream_);
  }

  Rank(const Rank &) = delete;
  Rank &operator=(const Rank &) = delete;

  int rank() const { return rank_; }
  int nranks() const { return nranks_; }

  // Waits for this rank's work and surfaces an error of work that ran
  // asynchronously, which a stream synchronize alone may not report.
  void wait() {
    xpCheck(xpStreamSynchronize(stream_), "xpStreamSynchronize");
    xcclResult_t async_error = xcclSuccess;
    xcclCheck(xcclCommGetAsyncError(comm_, &async_error), "xcclCommGetAsyncError", comm_);
    if (async_error != xcclSuccess && async_error != xcclInProgress) {
      xcclCheck(async_error, "xcclCommGetAsyncError (asynchronous failure)", comm_);
    }
  }

  void barrier() {
    xcclCheck(xcclBarrier(comm_, stream_), "xcclBarrier", comm_);
    wait();
  }

  // Every rank's "#  Rank ..." line, in rank order (gathered with xccl).
  std::vector<std::string> rankLines() {
    xpDeviceProps props{};
    props.struct_size = sizeof props;
    xpCheck(xpDeviceGetProperties(device_, &props), "xpDeviceGetProperties");
    const std::string line =
        rankLine(rank_, std::to_string(device_), std::string(props.backend) + " " + props.name);
    char *mine = static_cast<char *>(control_);
    std::memset(mine, 0, control_bytes_);
    std::strncpy(mine, line.c_str(), kLineBytes - 1);
    xcclCheck(xcclAllGather(mine, mine + kLineBytes, kLineBytes, xcclUint8, comm_, stream_),
              "xcclAllGather (rank lines)", comm_);
    wait();
    std::vector<std::string> lines;
    for (int r = 0; r < nranks_; ++r) {
      const char *text = mine + kLineBytes * (static_cast<size_t>(r) + 1);
      lines.emplace_back(text, strnlen(text, kLineBytes));
    }
    return lines;
  }

  // The sum over ranks of two values (time and wrong count of one row).
  std::pair<double, double> sumOverRanks(double a, double b) {
    double *sums = static_cast<double *>(control_);
    sums[0] = a;
    sums[1] = b;
    xcclCheck(xcclAllReduce(sums, sums, 2, xcclFloat64, xcclSum, comm_, stream_),
              "xcclAllReduce (per-rank times)", comm_);
    wait();
    return {sums[0], sums[1]};
  }

  void allocate(size_t bytes) {
    capacity_ = std::max<size_t>(bytes, 64);
    xpCheck(xpMalloc(device_, capacity_, &send_), "xpMalloc (send buffer)");
    xpCheck(xpMalloc(device_, capacity_, &recv_), "xpMalloc (receive buffer)");
    // Touched once here, so that no timed call pays first-touch page faults.
    xpCheck(xpMemset(send_, 0, capacity_), "xpMemset");
    xpCheck(xpMemset(recv_, 0, capacity_), "xpMemset");
    if (options_.check) host_.resize(capacity_);
  }

  Measurement measure(Coll coll, const Shape &shape, bool in_place) {
    const size_t type_size = typeSize(options_.type);
    char *recv_base = static_cast<char *>(recv_);
    const size_t rank = static_cast<size_t>(rank_);
    Call call{coll,          send_, recv_,   shape.count, options_.type, options_.op,
              options_.root, rank_, nranks_, comm_,       stream_};
    if (in_place) {
      call.send = recv_base + shape.in_place_send_offset * rank * type_size;
      call.recv = recv_base + shape.in_place_recv_offset * rank * type_size;
    }
    long wrong = -1;
    if (options_.check) wrong = static_cast<long>(check(call, shape, in_place));
    const double us = timeCalls(
        options_.warmup, options_.iters, [&] { issue(call); }, [&] { wait(); }, [&] { barrier(); });
    const auto [time_sum, wrong_sum] = sumOverRanks(us, wrong < 0 ? 0.0 : wrong);
    return measurement(time_sum / nranks_, shape.bytes(type_size), busBwFactor(coll, nranks_),
                       wrong < 0 ? -1 : static_cast<long>(wrong_sum));
  }

 private:
  // One call on known inputs; the wrong elements of this rank's output.
  size_t check(const Call &call, const Shape &shape, bool in_place) {
    const size_t type_size = typeSize(options_.type);
    const CheckSpec spec{call.coll, options_.type, options_.op, options_.root,
                         rank_,     nranks_,       shape};
    xpCheck(xpMemset(recv_, kPoison, shape.bytes(type_size)), "xpMemset");
    fillInput(spec, host_.data());
    xpCheck(xpMemcpy(const_cast<void *>(call.send), host_.data(), shape.send_elems * type_size),
            "xpMemcpy (input)");
    issue(call);
    wait();
    // In place, allgather's output starts at the buffer (call.recv is
    // offset 0 for it) and reducescatter's is this rank's block.
    const void *output = in_place ? call.recv : recv_;
    xpCheck(xpMemcpy(host_.data(), output, shape.recv_elems * type_size), "xpMemcpy (output)");
    return countWrong(spec, host_.data());
  }

  const Options &options_;
  xcclComm_t comm_;
  int rank_ = 0, nranks_ = 1, device_ = 0;
  xpStream stream_ = nullptr;
  void *control_ = nullptr;
  size_t control_bytes_ = 0;
  void *send_ = nullptr, *recv_ = nullptr;
  size_t capacity_ = 0;
  std::vector<unsigned char> host_;
};

std::string libraryVersion() {
  int version = 0;
  if (xcclGetVersion(&version) != xcclSuccess) return "xccl";
  return "xccl " + std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) +
         "." + std::to_string(version % 100);
}

// The whole benchmark on this rank; the number of wrong elements.
long run(const Options &options, Rank &rank, int threads) {
  if (options.root >= rank.nranks()) {
    throw CallError("--root " + std::to_string(options.root) + " is not a rank of " +
                    std::to_string(rank.nranks()));
  }
  Report report("xccl-perf", libraryVersion(), rank.rank() == 0);
  const std::vector<std::string> lines = rank.rankLines();
  // Rank 0 alone measures memcpy while the others wait, so that it has the
  // memory to itself, as "one thread" promises.
  MemcpyCeiling ceiling;
  if (rank.rank() == 0) ceiling = measureMemcpy(rowBytes(options, rank.nranks()));
  rank.barrier();
  std::vector<std::string> notes = {memcpyNote()};
  // xccl has no send to oneself (NCCL has): one rank has no sendrecv.
  const bool skip_sendrecv = rank.nranks() == 1;
  if (skip_sendrecv && std::find(options.colls.begin(), options.colls.end(), Coll::kSendRecv) !=
                           options.colls.end()) {
    notes.push_back("sendrecv skipped: it needs 2 ranks (xccl has no send to the rank itself).");
  }
  report.preamble(options, rank.nranks(), threads, lines, notes);
  rank.allocate(options.max_bytes);
  return sweepAll(
      options, rank.nranks(), report, ceiling,
      [&](Coll coll, const Shape &shape, bool in_place) {
        return rank.measure(coll, shape, in_place);
      },
      [&](Coll coll) { return coll == Coll::kSendRecv && skip_sendrecv; });
}

}  // namespace

RankResult runRank(const Options &options, xcclComm_t comm, int threads) {
  RankResult result;
  xcclCommUserRank(comm, &result.rank);  // only for messages: -1 stays if it fails
  std::optional<Rank> rank;
  try {
    rank.emplace(options, comm);
    result.wrong = run(options, *rank, threads);
  } catch (const std::exception &error) {
    result.error = error.what();
    // Abort before freeing the stream: the peers see this rank leave and
    // fail at once, and work still queued fails instead of holding up the
    // stream's destruction until the deadline.
    xcclCommAbort(comm);
    return result;
  }
  rank.reset();
  const xcclResult_t destroyed = xcclCommDestroy(comm);
  if (destroyed != xcclSuccess) {
    result.error = std::string("xcclCommDestroy: ") + xcclGetErrorString(destroyed) + ": " +
                   xcclGetLastError(nullptr);
  }
  return result;
}

}  // namespace xccl_bench
