// The ways Gloo offers to run the collectives xccl-gloo-peer measures: its
// newer option-based calls (gloo::allreduce with each algorithm,
// gloo::allgather, gloo::broadcast) and its older algorithm classes
// (AllreduceRing, AllreduceRingChunked, AllreduceHalvingDoubling,
// AllgatherRing, BroadcastOneToAll), the latter also on a context in sync
// busy-poll mode (Gloo's lowest-latency setting, as its own benchmark's
// --sync --busy-poll; the newer calls need the default async mode). Each
// is one section of the table.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collective.h"

namespace gloo {
class Context;
}

namespace xccl_bench {

// One call shape on this rank's buffers. In place, the input is where
// nccl-tests puts it in `recv` (Shape::in_place_send_offset), and every
// variant leaves its output at the start of `recv`.
struct GlooCall {
  std::shared_ptr<gloo::Context> context;
  float *send;
  float *recv;
  Shape shape;
  int root;
  bool in_place;
};

struct GlooVariant {
  Coll coll;
  std::string name;             // e.g. "gloo::allreduce ring", "AllreduceRingChunked"
  bool out_of_place, in_place;  // the forms it has; the others print N/A
  bool busy_poll;               // runs on the sync busy-poll context
  // Builds what one call needs (the older classes bind their buffers when
  // constructed), outside the timing; returns the call itself.
  std::function<std::function<void()>(const GlooCall &)> prepare;
};

std::vector<GlooVariant> glooVariants();

}  // namespace xccl_bench
