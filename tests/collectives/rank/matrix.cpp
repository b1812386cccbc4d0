// The matrix scenario: every collective x every type x every op (where it
// reduces) x sizes 0, 1, 7 (odd), 1000, 65537 (odd, past a 512 KiB chunk for
// 8-byte types) and a large size (--max-bytes), out of place and in place,
// every root (--roots ends: the first and the last). Buffers are device
// memory of the rank's device, filled and read with xpMemcpy so that
// non-host-addressable devices work too. Each result is checked against a
// host reference computed from every rank's deterministic input, and guard
// bytes around every buffer catch writes outside it.
#include <algorithm>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/types.h"
#include "common/values.h"
#include "rank/scenario.h"

namespace xccltest {
namespace {

enum class Coll {
  kAllReduce,
  kBroadcast,
  kReduce,
  kAllGather,
  kReduceScatter,
  kAllToAll,
  kSendRecv,  // a ring inside a group: send to rank+1, receive from rank-1
  kOneWay,    // outside a group: even ranks send to rank+1, odd ranks receive
};

struct CollInfo {
  Coll coll;
  const char *name;  // as --collectives takes it
  bool reduces;
  bool rooted;
  bool in_place;  // has an in-place form
};

constexpr CollInfo kColls[] = {
    {Coll::kAllReduce, "allreduce", true, false, true},
    {Coll::kBroadcast, "broadcast", false, true, true},
    {Coll::kReduce, "reduce", true, true, true},
    {Coll::kAllGather, "allgather", false, false, true},
    {Coll::kReduceScatter, "reducescatter", true, false, true},
    {Coll::kAllToAll, "alltoall", false, false, false},
    {Coll::kSendRecv, "sendrecv", false, false, false},
    {Coll::kOneWay, "oneway", false, false, false},
};

struct Case {
  const CollInfo *info = nullptr;
  xcclDataType_t type = xcclFloat32;
  xcclRedOp_t op = xcclSum;
  int root = -1;
  size_t count = 0;  // the count argument (per rank for gather/scatter/all-to-all)
  bool in_place = false;
  size_t offset = 0;  // extra bytes before both buffers: a pointer not aligned to the type
  uint64_t seed = 0;
};

// Element counts of one case's buffers. In place, both live in one buffer of
// `buffer` elements, at send_at and recv_at.
struct Layout {
  size_t send = 0, recv = 0;
  size_t buffer = 0, send_at = 0, recv_at = 0;
};

// A run of the result region with one kind of expectation: elements
// [begin, end) are copies of rank `rank`'s input from `index` on (kCopy), or
// the reduction of every rank's input from `index` on (kReduce). Elements in
// no segment are not part of the contract.
struct Segment {
  enum Kind { kCopy, kReduce } kind;
  size_t begin, end;
  int rank;
  size_t index;
};

constexpr size_t kGuardBefore = 128;  // keeps the buffers at PoCL's 128-byte alignment
constexpr size_t kGuardAfter = 64;
constexpr uint8_t kSentinel = 0xa5;

class Matrix {
 public:
  explicit Matrix(Context &ctx) : ctx_(ctx), n_(ctx.nranks), rank_(ctx.rank) {}
  int run();

 private:
  std::vector<Case> plan() const;
  Layout layout(const Case &c) const;
  std::vector<Segment> segments(const Case &c) const;
  std::string describe(const Case &c) const;
  bool call(const Case &c, const void *send, void *recv, xpStream stream);
  template <class T>
  bool runCase(const Case &c);
  template <class T>
  void fillInitial(const Case &c, const Layout &l, Reference<T> &ref, uint8_t *send_image,
                   uint8_t *buffer_image);
  template <class T>
  void checkElements(const Case &c, Reference<T> &ref, const uint8_t *region, size_t elements);
  void checkGuards(const Case &c, const std::vector<uint8_t> &image, size_t pre, size_t bytes,
                   const char *what);
  bool barrierTiming();
  bool sameBitsOnEveryRank();

  Context &ctx_;
  const int n_;
  const int rank_;
  void *send_dev_ = nullptr;
  void *recv_dev_ = nullptr;
  std::vector<uint8_t> send_image_, recv_image_, readback_;
  double in_collectives_ = 0;  // seconds from each call to its synchronize's return
  // A hash of every AllReduce result, to check that all ranks got the same
  // bits (docs/xccl.md promises it, also where a tolerance allows either).
  std::vector<uint64_t> result_hashes_;
  std::vector<std::string> hashed_cases_;
};

std::string Matrix::describe(const Case &c) const {
  std::string text = std::string(c.info->name) + " " + typeName(c.type);
  if (c.info->reduces) text += " " + opName(c.op);
  text += " count=" + std::to_string(c.count);
  if (c.info->rooted) text += " root=" + std::to_string(c.root);
  text += c.in_place ? " in-place" : " out-of-place";
  if (c.offset != 0) text += " offset=" + std::to_string(c.offset);
  text += " nranks=" + std::to_string(n_) + " seed=" + std::to_string(c.seed);
  return text;
}

Layout Matrix::layout(const Case &c) const {
  Layout l;
  const size_t n = static_cast<size_t>(n_);
  switch (c.info->coll) {
    case Coll::kAllGather:
      l.send = c.count, l.recv = n * c.count;
      break;
    case Coll::kReduceScatter:
      l.send = n * c.count, l.recv = c.count;
      break;
    case Coll::kAllToAll:
      l.send = l.recv = n * c.count;
      break;
    case Coll::kSendRecv:
    case Coll::kOneWay:
      l.send = l.recv = c.count + c.count / 2;
      break;
    default:
      l.send = l.recv = c.count;
      break;
  }
  l.buffer = std::max(l.send, l.recv);
  if (c.info->coll == Coll::kAllGather) l.send_at = static_cast<size_t>(rank_) * c.count;
  if (c.info->coll == Coll::kReduceScatter) l.recv_at = static_cast<size_t>(rank_) * c.count;
  return l;
}

// The result region: recvbuff out of place, the whole buffer in place.
std::vector<Segment> Matrix::segments(const Case &c) const {
  const size_t count = c.count;
  const size_t mine = static_cast<size_t>(rank_);
  std::vector<Segment> out;
  switch (c.info->coll) {
    case Coll::kAllReduce:
      out.push_back({Segment::kReduce, 0, count, 0, 0});
      break;
    case Coll::kBroadcast:
      out.push_back({Segment::kCopy, 0, count, c.root, 0});
      break;
    case Coll::kReduce:
      // recvbuff of the other ranks is not part of the contract.
      if (rank_ == c.root) out.push_back({Segment::kReduce, 0, count, 0, 0});
      break;
    case Coll::kAllGather:
      for (int q = 0; q < n_; ++q) {
        const size_t at = static_cast<size_t>(q) * count;
        out.push_back({Segment::kCopy, at, at + count, q, 0});
      }
      break;
    case Coll::kReduceScatter:
      // In place, only this rank's block is defined.
      if (c.in_place)
        out.push_back({Segment::kReduce, mine * count, (mine + 1) * count, 0, mine * count});
      else
        out.push_back({Segment::kReduce, 0, count, 0, mine * count});
      break;
    case Coll::kAllToAll:
      for (int q = 0; q < n_; ++q) {
        const size_t at = static_cast<size_t>(q) * count;
        out.push_back({Segment::kCopy, at, at + count, q, mine * count});
      }
      break;
    case Coll::kSendRecv:
      out.push_back({Segment::kCopy, 0, count + count / 2, (rank_ + n_ - 1) % n_, 0});
      break;
    case Coll::kOneWay:
      if (rank_ % 2 == 1) out.push_back({Segment::kCopy, 0, count + count / 2, rank_ - 1, 0});
      break;
  }
  return out;
}

std::vector<Case> Matrix::plan() const {
  const Options &o = ctx_.options;
  auto wanted = [&](const char *name) {
    return o.collectives.empty() ||
           std::find(o.collectives.begin(), o.collectives.end(), name) != o.collectives.end();
  };
  const std::vector<xcclDataType_t> types =
      o.types.empty() ? std::vector<xcclDataType_t>(std::begin(kAllTypes), std::end(kAllTypes))
                      : o.types;
  const std::vector<xcclRedOp_t> ops =
      o.ops.empty() ? std::vector<xcclRedOp_t>(std::begin(kAllOps), std::end(kAllOps)) : o.ops;
  std::vector<int> all_roots;
  for (int r = 0; r < n_; ++r) {
    if (o.all_roots || r == 0 || r == n_ - 1) all_roots.push_back(r);
  }

  std::vector<Case> cases;
  for (const CollInfo &info : kColls) {
    if (!wanted(info.name)) continue;
    const bool per_rank = info.coll == Coll::kAllGather || info.coll == Coll::kReduceScatter ||
                          info.coll == Coll::kAllToAll || info.coll == Coll::kSendRecv ||
                          info.coll == Coll::kOneWay;
    for (xcclDataType_t type : types) {
      // "large": --max-bytes for the whole buffer of the collective.
      size_t large = o.max_bytes / typeSize(type);
      if (per_rank) large /= static_cast<size_t>(n_);
      std::vector<size_t> counts;
      if (o.sizes.empty()) {
        counts = {0, 1, 7, 1000, 65537};
        if (large > 65537) counts.push_back(large);
      } else {
        for (const std::string &size : o.sizes) {
          counts.push_back(size == "large" ? large : std::stoull(size));
        }
      }
      const std::vector<xcclRedOp_t> case_ops =
          info.reduces ? ops : std::vector<xcclRedOp_t>{xcclSum};
      const std::vector<int> roots = info.rooted ? all_roots : std::vector<int>{-1};
      for (size_t count : counts) {
        for (xcclRedOp_t op : case_ops) {
          for (int root : roots) {
            for (int in_place = 0; in_place <= (info.in_place ? 1 : 0); ++in_place) {
              cases.push_back({&info, type, op, root, count, in_place == 1, 0, 0});
            }
          }
        }
      }
    }
  }
  // Pointers that are not aligned to the element size or to a cache line:
  // user buffers can be anywhere inside an allocation.
  for (const Case &misaligned : {Case{&kColls[0], xcclInt8, xcclSum, -1, 1000, false, 3, 0},
                                 Case{&kColls[0], xcclFloat32, xcclSum, -1, 65537, false, 4, 0},
                                 Case{&kColls[0], xcclFloat64, xcclMax, -1, 1001, true, 12, 0},
                                 Case{&kColls[3], xcclUint8, xcclSum, -1, 1001, false, 1, 0}}) {
    if (wanted(misaligned.info->name) &&
        (o.types.empty() || std::count(types.begin(), types.end(), misaligned.type) > 0)) {
      cases.push_back(misaligned);
    }
  }
  // A different seed per case, so data left over from an earlier case
  // never passes for a result.
  for (size_t i = 0; i < cases.size(); ++i) cases[i].seed = o.seed * 1000003 + i;
  return cases;
}

// Initial contents: out of place, the send image holds this rank's input; in
// place, the single buffer holds what the in-place layout puts there.
template <class T>
void Matrix::fillInitial(const Case &c, const Layout &l, Reference<T> &ref, uint8_t *send_image,
                         uint8_t *buffer_image) {
  using S = typename T::S;
  // Elements [0, length) of this rank's input, from the period-long table,
  // one period-sized copy at a time.
  const std::vector<S> &inputs = ref.inputs(rank_);
  auto fill = [&](uint8_t *at, size_t length) {
    for (size_t done = 0; done < length;) {
      const size_t run = std::min(length - done, inputs.size());
      std::memcpy(at + done * sizeof(S), inputs.data(), run * sizeof(S));
      done += run;
    }
  };
  if (!c.in_place) {
    fill(send_image, l.send);
    return;
  }
  switch (c.info->coll) {
    case Coll::kBroadcast:
      if (rank_ == c.root) fill(buffer_image, l.buffer);  // receivers keep the sentinel
      return;
    case Coll::kAllGather:
      fill(buffer_image + l.send_at * sizeof(S), c.count);
      return;
    default:
      fill(buffer_image, l.buffer);
      return;
  }
}

template <class T>
void Matrix::checkElements(const Case &c, Reference<T> &ref, const uint8_t *region,
                           size_t elements) {
  using S = typename T::S;
  size_t wrong = 0;
  std::string first;
  for (const Segment &seg : segments(c)) {
    // Tables stand for every index modulo kPeriod; `slot` follows the
    // index without a division per element.
    size_t slot = seg.index % kPeriod;
    if (seg.kind == Segment::kCopy) {
      const std::vector<S> &inputs = ref.inputs(seg.rank);
      for (size_t j = seg.begin; j < seg.end; ++j, slot = slot + 1 == kPeriod ? 0 : slot + 1) {
        S got;
        std::memcpy(&got, region + j * sizeof(S), sizeof(S));
        if (sameBits<T>(inputs[slot], got)) continue;
        if (wrong++ == 0) {
          first = "index " + std::to_string(j) + ": expected " + format<T>(inputs[slot]) +
                  " (rank " + std::to_string(seg.rank) + "'s element " +
                  std::to_string(seg.index + (j - seg.begin)) + "), got " + format<T>(got);
        }
      }
    } else {
      const std::vector<Expected<T>> &reduced = ref.reduced();
      for (size_t j = seg.begin; j < seg.end; ++j, slot = slot + 1 == kPeriod ? 0 : slot + 1) {
        S got;
        std::memcpy(&got, region + j * sizeof(S), sizeof(S));
        if (matches<T>(reduced[slot], got)) continue;
        if (wrong++ == 0) {
          first = "index " + std::to_string(j) + ": expected " + format<T>(reduced[slot]) +
                  " (reduction of element " + std::to_string(seg.index + (j - seg.begin)) +
                  "), got " + format<T>(got);
        }
      }
    }
  }
  if (wrong > 0) {
    fail(ctx_, describe(c) + ": " + std::to_string(wrong) + " of " + std::to_string(elements) +
                   " elements wrong; first wrong " + first);
  }
}

void Matrix::checkGuards(const Case &c, const std::vector<uint8_t> &image, size_t pre, size_t bytes,
                         const char *what) {
  for (size_t i = 0; i < image.size(); ++i) {
    if (i >= pre && i < pre + bytes) {
      i = pre + bytes - 1;
      continue;
    }
    if (image[i] != kSentinel) {
      const bool before = i < pre;
      char value[8];
      std::snprintf(value, sizeof value, "0x%02x", image[i]);
      fail(ctx_, describe(c) + ": wrote outside " + what + ": the byte " +
                     std::to_string(before ? pre - i : i - (pre + bytes) + 1) +
                     (before ? " before its start" : " after its end") + " is " + value +
                     ", was 0xa5");
      return;
    }
  }
}

bool Matrix::call(const Case &c, const void *send, void *recv, xpStream stream) {
  const std::string what = describe(c);
  xcclComm_t comm = ctx_.comm;
  switch (c.info->coll) {
    case Coll::kAllReduce:
      return xcclOk(ctx_, xcclAllReduce(send, recv, c.count, c.type, c.op, comm, stream),
                    "xcclAllReduce " + what);
    case Coll::kBroadcast:
      return xcclOk(ctx_, xcclBroadcast(send, recv, c.count, c.type, c.root, comm, stream),
                    "xcclBroadcast " + what);
    case Coll::kReduce:
      return xcclOk(ctx_, xcclReduce(send, recv, c.count, c.type, c.op, c.root, comm, stream),
                    "xcclReduce " + what);
    case Coll::kAllGather:
      return xcclOk(ctx_, xcclAllGather(send, recv, c.count, c.type, comm, stream),
                    "xcclAllGather " + what);
    case Coll::kReduceScatter:
      return xcclOk(ctx_, xcclReduceScatter(send, recv, c.count, c.type, c.op, comm, stream),
                    "xcclReduceScatter " + what);
    case Coll::kAllToAll:
      return xcclOk(ctx_, xcclAllToAll(send, recv, c.count, c.type, comm, stream),
                    "xcclAllToAll " + what);
    case Coll::kSendRecv: {
      // Two messages to the same peer: they must match in call order. Half
      // the ranks post receives first, to show the group makes order moot.
      const int next = (rank_ + 1) % n_, prev = (rank_ + n_ - 1) % n_;
      const size_t second = c.count / 2, es = typeSize(c.type);
      const auto *s = static_cast<const uint8_t *>(send);
      auto *r = static_cast<uint8_t *>(recv);
      bool ok = xcclOk(ctx_, xcclGroupStart(), "xcclGroupStart " + what);
      auto sends = [&] {
        ok &= xcclOk(ctx_, xcclSend(s, c.count, c.type, next, comm, stream), "xcclSend " + what);
        ok &= xcclOk(ctx_, xcclSend(s + c.count * es, second, c.type, next, comm, stream),
                     "second xcclSend " + what);
      };
      auto recvs = [&] {
        ok &= xcclOk(ctx_, xcclRecv(r, c.count, c.type, prev, comm, stream), "xcclRecv " + what);
        ok &= xcclOk(ctx_, xcclRecv(r + c.count * es, second, c.type, prev, comm, stream),
                     "second xcclRecv " + what);
      };
      if (rank_ % 2 == 0)
        sends(), recvs();
      else
        recvs(), sends();
      ok &= xcclOk(ctx_, xcclGroupEnd(), "xcclGroupEnd " + what);
      return ok;
    }
    case Coll::kOneWay: {
      const size_t total = c.count + c.count / 2;
      if (rank_ % 2 == 0 && rank_ + 1 < n_) {
        return xcclOk(ctx_, xcclSend(send, total, c.type, rank_ + 1, comm, stream),
                      "xcclSend " + what);
      }
      if (rank_ % 2 == 1) {
        return xcclOk(ctx_, xcclRecv(recv, total, c.type, rank_ - 1, comm, stream),
                      "xcclRecv " + what);
      }
      return true;
    }
  }
  return false;
}

template <class T>
bool Matrix::runCase(const Case &c) {
  const size_t es = sizeof(typename T::S);
  const Layout l = layout(c);
  const size_t pre = kGuardBefore + c.offset;
  // Copies use the inputs of xcclSum (any family would do).
  Reference<T> ref(c.info->reduces ? c.op : xcclSum, n_, c.seed, std::max(l.send, l.buffer));
  auto *send_base = static_cast<uint8_t *>(send_dev_);
  auto *recv_base = static_cast<uint8_t *>(recv_dev_);
  const void *send = nullptr;
  void *recv = nullptr;
  size_t region = 0;  // bytes of the result region
  if (c.in_place) {
    region = l.buffer * es;
    recv_image_.assign(pre + region + kGuardAfter, kSentinel);
    fillInitial<T>(c, l, ref, nullptr, recv_image_.data() + pre);
    send = recv_base + pre + l.send_at * es;
    recv = recv_base + pre + l.recv_at * es;
  } else {
    region = l.recv * es;
    send_image_.assign(pre + l.send * es + kGuardAfter, kSentinel);
    recv_image_.assign(pre + region + kGuardAfter, kSentinel);
    fillInitial<T>(c, l, ref, send_image_.data() + pre, nullptr);
    if (!xpOk(ctx_, xpMemcpy(send_dev_, send_image_.data(), send_image_.size()),
              "xpMemcpy of the inputs for " + describe(c))) {
      return false;
    }
    send = send_base + pre;
    recv = recv_base + pre;
  }
  if (!xpOk(ctx_, xpMemcpy(recv_dev_, recv_image_.data(), recv_image_.size()),
            "xpMemcpy of the receive buffer for " + describe(c))) {
    return false;
  }

  // Out of place runs on a stream made for the test; in place on the NULL
  // stream (the communicator's default), which only a device-wide
  // synchronize is sure to cover.
  xpStream stream = c.in_place ? nullptr : ctx_.stream;
  const auto call_start = Clock::now();
  if (!call(c, send, recv, stream)) return false;
  const xpStatus synced = stream != nullptr ? xpStreamSynchronizeTimeout(stream, kSyncTimeoutMs)
                                            : xpDeviceSynchronize(ctx_.device);
  in_collectives_ += secondsSince(call_start);
  if (!xpOk(ctx_, synced, "synchronize after " + describe(c))) return false;
  xcclResult_t async_error = xcclInternalError;
  if (!xcclOk(ctx_, xcclCommGetAsyncError(ctx_.comm, &async_error), "xcclCommGetAsyncError")) {
    return false;
  }
  if (async_error != xcclSuccess) {
    fail(ctx_, describe(c) + ": xcclCommGetAsyncError says " + resultName(async_error) +
                   " after the stream was synchronized: " + xcclGetLastError(ctx_.comm));
    return false;
  }

  readback_.resize(recv_image_.size());
  if (!xpOk(ctx_, xpMemcpy(readback_.data(), recv_dev_, readback_.size()),
            "xpMemcpy of the results of " + describe(c))) {
    return false;
  }
  checkGuards(c, readback_, pre, region, c.in_place ? "the buffer" : "recvbuff");
  checkElements<T>(c, ref, readback_.data() + pre, region / es);
  if (c.info->coll == Coll::kAllReduce) {
    uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a
    for (size_t i = 0; i < region; ++i) hash = (hash ^ readback_[pre + i]) * 0x100000001b3ull;
    result_hashes_.push_back(hash);
    hashed_cases_.push_back(describe(c));
  }
  if (!c.in_place) {
    readback_.resize(send_image_.size());
    if (!xpOk(ctx_, xpMemcpy(readback_.data(), send_dev_, readback_.size()),
              "xpMemcpy of sendbuff after " + describe(c))) {
      return false;
    }
    if (readback_ != send_image_) {
      const auto diff = std::mismatch(readback_.begin(), readback_.end(), send_image_.begin());
      fail(ctx_, describe(c) + ": the operation modified sendbuff (byte " +
                     std::to_string(diff.first - readback_.begin()) + " of the buffer)");
    }
  }
  return true;
}

// A barrier must not complete before every rank reached it: rank 0 arrives
// 400 ms late, so everyone else waits at least most of that.
bool Matrix::barrierTiming() {
  if (!xcclOk(ctx_, xcclBarrier(ctx_.comm, ctx_.stream), "xcclBarrier (first)") ||
      !xpOk(ctx_, xpStreamSynchronizeTimeout(ctx_.stream, kSyncTimeoutMs),
            "synchronize after xcclBarrier")) {
    return false;
  }
  if (rank_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const auto start = Clock::now();
  if (!xcclOk(ctx_, xcclBarrier(ctx_.comm, nullptr), "xcclBarrier (NULL stream)") ||
      !xpOk(ctx_, xpDeviceSynchronize(ctx_.device), "xpDeviceSynchronize after xcclBarrier")) {
    return false;
  }
  const double waited = secondsSince(start);
  if (rank_ != 0 && waited < 0.2) {
    fail(ctx_, "xcclBarrier completed after " + std::to_string(waited * 1000) +
                   " ms although rank 0 arrived 400 ms late (nranks=" + std::to_string(n_) + ")");
  }
  return true;
}

// The hashes of every rank's AllReduce results, compared with a max and a
// min AllReduce of uint64 (which the matrix checked exactly).
bool Matrix::sameBitsOnEveryRank() {
  const size_t count = result_hashes_.size();
  const size_t bytes = count * sizeof(uint64_t);
  std::vector<uint64_t> high(count), low(count);
  void *hashes = nullptr, *reduced = nullptr;
  bool ok =
      xpOk(ctx_, xpMalloc(ctx_.device, bytes, &hashes), "xpMalloc") &&
      xpOk(ctx_, xpMalloc(ctx_.device, bytes, &reduced), "xpMalloc") &&
      xpOk(ctx_, xpMemcpy(hashes, result_hashes_.data(), bytes), "xpMemcpy") &&
      xcclOk(ctx_,
             xcclAllReduce(hashes, reduced, count, xcclUint64, xcclMax, ctx_.comm, ctx_.stream),
             "xcclAllReduce (max) of the result hashes") &&
      xpOk(ctx_, xpStreamSynchronizeTimeout(ctx_.stream, kSyncTimeoutMs), "synchronize") &&
      xpOk(ctx_, xpMemcpy(high.data(), reduced, bytes), "xpMemcpy") &&
      xcclOk(ctx_,
             xcclAllReduce(hashes, reduced, count, xcclUint64, xcclMin, ctx_.comm, ctx_.stream),
             "xcclAllReduce (min) of the result hashes") &&
      xpOk(ctx_, xpStreamSynchronizeTimeout(ctx_.stream, kSyncTimeoutMs), "synchronize") &&
      xpOk(ctx_, xpMemcpy(low.data(), reduced, bytes), "xpMemcpy");
  if (hashes != nullptr) xpFree(hashes);
  if (reduced != nullptr) xpFree(reduced);
  if (!ok) return false;
  for (size_t i = 0; i < count; ++i) {
    if (high[i] != low[i]) {
      fail(ctx_, hashed_cases_[i] +
                     ": the ranks got different bits (each within the tolerance "
                     "perhaps, but docs/xccl.md says bit-identical)");
    }
  }
  return true;
}

int Matrix::run() {
  const std::vector<Case> cases = plan();
  size_t capacity = 0;
  for (const Case &c : cases) {
    const Layout l = layout(c);
    capacity = std::max(capacity, std::max(l.send, l.buffer) * typeSize(c.type) + c.offset);
  }
  capacity += kGuardBefore + kGuardAfter;
  if (!xpOk(ctx_, xpMalloc(ctx_.device, capacity, &send_dev_), "xpMalloc of sendbuff") ||
      !xpOk(ctx_, xpMalloc(ctx_.device, capacity, &recv_dev_), "xpMalloc of recvbuff")) {
    return kExitSetupFailed;
  }
  const auto start = Clock::now();
  bool ok = true;
  size_t done = 0;
  for (const Case &c : cases) {
    ok = withType(c.type, [&](auto tag) { return runCase<decltype(tag)>(c); });
    // A failed call may leave the communicator broken; its peers will see
    // an error too, so stop rather than pile up timeouts.
    if (!ok) break;
    ++done;
  }
  const bool want_barrier =
      ctx_.options.collectives.empty() ||
      std::count(ctx_.options.collectives.begin(), ctx_.options.collectives.end(), "barrier") > 0;
  if (ok && want_barrier) ok = barrierTiming();
  if (ok && !result_hashes_.empty()) ok = sameBitsOnEveryRank();
  note(ctx_, "matrix: " + std::to_string(done) + " of " + std::to_string(cases.size()) +
                 " cases run in " + std::to_string(secondsSince(start)) + " s (" +
                 std::to_string(in_collectives_) + " s in collectives), " +
                 std::to_string(failureCount()) + " failures");
  xpFree(send_dev_);
  xpFree(recv_dev_);
  return ok && failureCount() == 0 ? kExitOk : kExitCheckFailed;
}

}  // namespace

int runMatrix(Context &ctx) {
  return Matrix(ctx).run();
}

}  // namespace xccltest
