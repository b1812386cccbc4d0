// The collectives the benchmarks measure and nccl-tests' conventions for
// each: how a size on the command line becomes counts and buffer extents,
// where the in-place variant puts its buffers, and the bus-bandwidth factor
// (nccl-tests doc/PERFORMANCE.md). Every program uses these, so that xccl,
// MPI and Gloo rows of the same size mean the same thing.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace xccl_bench {

enum class Coll {
  kAllReduce,
  kAllGather,
  kReduceScatter,
  kBroadcast,
  kReduce,
  kAllToAll,
  kSendRecv
};

const char *collName(Coll coll);  // "allreduce", as on the command line
std::optional<Coll> parseColl(const std::string &name);
std::vector<Coll> allColls();
bool isReduction(Coll coll);  // takes a reduction operator
bool isRooted(Coll coll);     // takes a root

// One size of one collective, in elements (see nccl-tests' GetCollByteCount).
struct Shape {
  size_t count = 0;       // the count argument of the call
  size_t send_elems = 0;  // elements each rank sends from
  size_t recv_elems = 0;  // elements each rank receives into
  // In place, the call reads from recv + in_place_send_offset and writes to
  // recv + in_place_recv_offset (elements, multiplied by the caller's rank).
  size_t in_place_send_offset = 0;
  size_t in_place_recv_offset = 0;
  bool has_in_place = true;  // alltoall and sendrecv have no in-place form
  // nccl-tests' "size" column: bytes per rank, the larger of send and receive.
  size_t bytes(size_t type_size) const;
};

// `bytes` from the size list: count = bytes / type_size, divided among the
// ranks for allgather, reducescatter and alltoall (rounded down).
Shape shapeOf(Coll coll, size_t bytes, size_t type_size, int nranks);

// busbw = algbw * factor: 2(n-1)/n for allreduce; (n-1)/n for allgather,
// reducescatter and alltoall; 1 for broadcast, reduce and sendrecv.
double busBwFactor(Coll coll, int nranks);

// The sizes min, min*factor, ... up to max (nccl-tests' -b -e -f).
std::vector<size_t> sizeList(size_t min_bytes, size_t max_bytes, size_t step_factor);

}  // namespace xccl_bench
