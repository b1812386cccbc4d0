#include "collective.h"

#include <strings.h>
#include <algorithm>
#include <array>

namespace xccl_bench {
namespace {

constexpr std::array<const char *, 7> kNames = {
    "allreduce", "allgather", "reducescatter", "broadcast", "reduce", "alltoall", "sendrecv"};

}  // namespace

const char *collName(Coll coll) {
  return kNames[static_cast<size_t>(coll)];
}

std::optional<Coll> parseColl(const std::string &name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (strcasecmp(name.c_str(), kNames[i]) == 0) return static_cast<Coll>(i);
  }
  return std::nullopt;
}

std::vector<Coll> allColls() {
  std::vector<Coll> colls;
  for (size_t i = 0; i < kNames.size(); ++i) colls.push_back(static_cast<Coll>(i));
  return colls;
}

bool isReduction(Coll coll) {
  return coll == Coll::kAllReduce || coll == Coll::kReduceScatter || coll == Coll::kReduce;
}

bool isRooted(Coll coll) {
  return coll == Coll::kBroadcast || coll == Coll::kReduce;
}

size_t Shape::bytes(size_t type_size) const {
  return std::max(send_elems, recv_elems) * type_size;
}

Shape shapeOf(Coll coll, size_t bytes, size_t type_size, int nranks) {
  const size_t count = bytes / type_size;
  const size_t ranks = static_cast<size_t>(nranks);
  const size_t per_rank = count / ranks;
  Shape shape;
  switch (coll) {
    case Coll::kAllReduce:
    case Coll::kBroadcast:
    case Coll::kReduce:
      shape.count = shape.send_elems = shape.recv_elems = count;
      break;
    case Coll::kAllGather:  // sendbuff == recvbuff + rank * count
      shape.count = shape.send_elems = per_rank;
      shape.recv_elems = per_rank * ranks;
      shape.in_place_send_offset = per_rank;
      break;
    case Coll::kReduceScatter:  // sendbuff + rank * count == recvbuff
      shape.count = shape.recv_elems = per_rank;
      shape.send_elems = per_rank * ranks;
      shape.in_place_recv_offset = per_rank;
      break;
    case Coll::kAllToAll:
      shape.count = per_rank;
      shape.send_elems = shape.recv_elems = per_rank * ranks;
      shape.has_in_place = false;
      break;
    case Coll::kSendRecv:
      shape.count = shape.send_elems = shape.recv_elems = count;
      shape.has_in_place = false;
      break;
  }
  return shape;
}

double busBwFactor(Coll coll, int nranks) {
  const double n = nranks;
  switch (coll) {
    case Coll::kAllReduce:
      return 2.0 * (n - 1) / n;
    case Coll::kAllGather:
    case Coll::kReduceScatter:
    case Coll::kAllToAll:
      return (n - 1) / n;
    case Coll::kBroadcast:
    case Coll::kReduce:
    case Coll::kSendRecv:
      return 1.0;
  }
  return 1.0;
}

std::vector<size_t> sizeList(size_t min_bytes, size_t max_bytes, size_t step_factor) {
  std::vector<size_t> sizes;
  const size_t factor = std::max<size_t>(step_factor, 2);
  for (size_t size = std::max<size_t>(min_bytes, 1); size <= max_bytes; size *= factor) {
    sizes.push_back(size);
    if (size > max_bytes / factor) break;  // the next step would overflow
  }
  return sizes;
}

}  // namespace xccl_bench
