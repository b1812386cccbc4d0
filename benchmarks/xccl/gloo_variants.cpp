#include "gloo_variants.h"

#include <gloo/allgather.h>
#include <gloo/allgather_ring.h>
#include <gloo/allreduce.h>
#include <gloo/allreduce_halving_doubling.h>
#include <gloo/allreduce_ring.h>
#include <gloo/allreduce_ring_chunked.h>
#include <gloo/broadcast.h>
#include <gloo/broadcast_one_to_all.h>
#include <gloo/math.h>

namespace xccl_bench {
namespace {

using Launch = std::function<void()>;

float *inputOf(const GlooCall &call) {
  if (!call.in_place) return call.send;
  return call.recv + call.shape.in_place_send_offset * static_cast<size_t>(call.context->rank);
}

// gloo::allreduce with one algorithm; in place it reduces `recv` itself.
Launch newAllreduce(const GlooCall &call, gloo::AllreduceOptions::Algorithm algorithm) {
  auto options = std::make_shared<gloo::AllreduceOptions>(call.context);
  options->setAlgorithm(algorithm);
  if (!call.in_place) options->setInput(call.send, call.shape.count);
  options->setOutput(call.recv, call.shape.count);
  options->setReduceFunction(
      static_cast<void (*)(void *, const void *, const void *, size_t)>(&gloo::sum<float>));
  return [options] { gloo::allreduce(*options); };
}

// The older classes are in place: they reduce the buffers they are given.
template <typename Algorithm>
Launch oldAllreduce(const GlooCall &call) {
  auto algorithm = std::make_shared<Algorithm>(call.context, std::vector<float *>{call.recv},
                                               static_cast<int>(call.shape.count));
  return [algorithm] { algorithm->run(); };
}

Launch newAllgather(const GlooCall &call) {
  auto options = std::make_shared<gloo::AllgatherOptions>(call.context);
  options->setInput(inputOf(call), call.shape.count);
  options->setOutput(call.recv, call.shape.recv_elems);
  return [options] { gloo::allgather(*options); };
}

Launch oldAllgather(const GlooCall &call) {
  auto algorithm = std::make_shared<gloo::AllgatherRing<float>>(
      call.context, std::vector<const float *>{call.send}, call.recv,
      static_cast<int>(call.shape.count));
  return [algorithm] { algorithm->run(); };
}

// In place, the root's output buffer is its input.
Launch newBroadcast(const GlooCall &call) {
  auto options = std::make_shared<gloo::BroadcastOptions>(call.context);
  options->setRoot(call.root);
  if (!call.in_place && call.context->rank == call.root) {
    options->setInput(call.send, call.shape.count);
  }
  options->setOutput(call.recv, call.shape.count);
  return [options] { gloo::broadcast(*options); };
}

Launch oldBroadcast(const GlooCall &call) {
  auto algorithm = std::make_shared<gloo::BroadcastOneToAll<float>>(
      call.context, std::vector<float *>{call.recv}, call.shape.count, call.root);
  return [algorithm] { algorithm->run(); };
}

}  // namespace

std::vector<GlooVariant> glooVariants() {
  using Algo = gloo::AllreduceOptions::Algorithm;
  std::vector<GlooVariant> variants = {
      {Coll::kAllReduce, "gloo::allreduce ring", true, true, false,
       [](const GlooCall &c) { return newAllreduce(c, Algo::RING); }},
      {Coll::kAllReduce, "gloo::allreduce bcube", true, true, false,
       [](const GlooCall &c) { return newAllreduce(c, Algo::BCUBE); }},
      {Coll::kAllGather, "gloo::allgather", true, true, false, newAllgather},
      {Coll::kBroadcast, "gloo::broadcast", true, true, false, newBroadcast},
  };
  for (bool busy_poll : {false, true}) {
    const std::string mode = busy_poll ? " sync busy-poll" : "";
    variants.push_back({Coll::kAllReduce, "AllreduceRing" + mode, false, true, busy_poll,
                        oldAllreduce<gloo::AllreduceRing<float>>});
    variants.push_back({Coll::kAllReduce, "AllreduceRingChunked" + mode, false, true, busy_poll,
                        oldAllreduce<gloo::AllreduceRingChunked<float>>});
    variants.push_back({Coll::kAllReduce, "AllreduceHalvingDoubling" + mode, false, true, busy_poll,
                        oldAllreduce<gloo::AllreduceHalvingDoubling<float>>});
    variants.push_back(
        {Coll::kAllGather, "AllgatherRing" + mode, true, false, busy_poll, oldAllgather});
    variants.push_back(
        {Coll::kBroadcast, "BroadcastOneToAll" + mode, false, true, busy_poll, oldBroadcast});
  }
  return variants;
}

}  // namespace xccl_bench
