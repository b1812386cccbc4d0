// xccl-nccl-peer: the same collectives, sizes and table as xccl-perf, through
// NCCL called directly, on the same kind of buffers (xpool device memory of
// one CUDA device) and the same stream (an xpool stream's CUstream), so that
// compare-nccl.sh shows what xccl's NCCL path costs over NCCL itself: the
// dispatch (stream lookup, pointer checks, polling, its completion event).
//
// One rank: the project's GPU machines have one GPU, and NCCL takes one rank
// per GPU. float32 and sum. NCCL is opened like xccl opens it
// (XCCL_NCCL_LIBRARY, default libnccl.so.2).
// Exit codes: 0 measured, 1 some result was wrong, 2 a call failed.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "nccl_api.h"
#include "options.h"
#include "report.h"
#include "sweep.h"
#include "timing.h"
#include "verify.h"
#include "xpool/runtime.h"

namespace {

using namespace xccl_bench;

void xpCheck(xpStatus status, const char *call) {
  if (status != XP_SUCCESS) throw std::runtime_error(std::string(call) + ": " + xpGetLastError());
}

class NcclRank {
 public:
  NcclRank(const Options &options, int device) : options_(options) {
    xpCheck(xpInit(), "xpInit");
    device_ = cudaDevice(device);
    xpCheck(xpStreamCreate(device_, &stream_), "xpStreamCreate");
    xpNativeStream native{};
    native.struct_size = sizeof native;
    xpCheck(xpStreamGetNative(stream_, &native), "xpStreamGetNative");
    cuda_stream_ = static_cast<cudaStream_t>(native.stream);
    xpCheck(xpDeviceMakeCurrent(device_), "xpDeviceMakeCurrent");
    const char *library = std::getenv("XCCL_NCCL_LIBRARY");
    std::string why;
    api_ =
        xpool::xccl::ncclApi(library != nullptr && *library != 0 ? library : "libnccl.so.2", &why);
    if (api_ == nullptr) throw std::runtime_error("NCCL: " + why);
    ncclUniqueId id{};
    ncclCheck(api_->get_unique_id(&id), "ncclGetUniqueId");
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 1;
    ncclCheck(api_->comm_init_rank_config(&comm_, 1, id, 0, &config), "ncclCommInitRankConfig");
  }
  ~NcclRank() {
    if (stream_ != nullptr) xpStreamSynchronize(stream_);
    if (comm_ != nullptr) {
      api_->comm_finalize(comm_);
      api_->comm_destroy(comm_);
    }
    if (send_ != nullptr) xpFree(send_);
    if (recv_ != nullptr) xpFree(recv_);
    if (stream_ != nullptr) xpStreamDestroy(stream_);
    xpShutdown();
  }
  NcclRank(const NcclRank &) = delete;
  NcclRank &operator=(const NcclRank &) = delete;

  std::string version() const {
    return "NCCL " + std::to_string(api_->version) + " (" + api_->library + ")";
  }
  std::string rankLineText() const { return rankLine(0, std::to_string(device_), name_); }

  void allocate(size_t bytes) {
    bytes_ = std::max<size_t>(bytes, 4);
    xpCheck(xpMalloc(device_, bytes_, reinterpret_cast<void **>(&send_)), "xpMalloc");
    xpCheck(xpMalloc(device_, bytes_, reinterpret_cast<void **>(&recv_)), "xpMalloc");
    host_.resize(bytes_);
  }

  Measurement measure(Coll coll, const Shape &shape, bool in_place) {
    long wrong = -1;
    if (options_.check) wrong = static_cast<long>(check(coll, shape, in_place));
    const double us = timeCalls(
        options_.warmup, options_.iters, [&] { issue(coll, shape, in_place); },
        [&] { xpCheck(xpStreamSynchronize(stream_), "xpStreamSynchronize"); }, [] {});
    return measurement(us, shape.bytes(sizeof(float)), busBwFactor(coll, 1), wrong);
  }

 private:
  // `wanted` (an xpool ordinal), or the first cuda device when it is -1.
  int cudaDevice(int wanted) {
    int count = 0;
    xpCheck(xpDeviceCount(&count), "xpDeviceCount");
    for (int device = 0; device < count; ++device) {
      xpDeviceProps props{};
      props.struct_size = sizeof props;
      xpCheck(xpDeviceGetProperties(device, &props), "xpDeviceGetProperties");
      if (std::strcmp(props.backend, "cuda") != 0) continue;
      if (wanted >= 0 && device != wanted) continue;
      name_ = std::string("[cuda] ") + props.name;
      return device;
    }
    throw std::runtime_error("no cuda device among xpool's " + std::to_string(count) +
                             " devices (see `xpool smi`)");
  }

  void ncclCheck(ncclResult_t result, const char *call) const {
    if (result == ncclSuccess) return;
    const char *detail = api_->get_last_error(comm_);
    throw std::runtime_error(std::string(call) + ": " + api_->get_error_string(result) + " (" +
                             (detail != nullptr ? detail : "") + ")");
  }

  // In place, a rank reads and writes at the shape's offsets times its rank
  // (collective.h); this peer is rank 0 of one, so both are recv_ itself.
  static constexpr size_t kRank = 0;

  char *inputOf(const Shape &shape, bool in_place) {
    return in_place ? recv_ + shape.in_place_send_offset * kRank * sizeof(float) : send_;
  }

  void issue(Coll coll, const Shape &shape, bool in_place) {
    const char *send = inputOf(shape, in_place);
    char *recv = recv_ + (in_place ? shape.in_place_recv_offset * kRank * sizeof(float) : 0);
    const size_t count = shape.count;
    switch (coll) {
      case Coll::kAllReduce:
        ncclCheck(api_->all_reduce(send, recv, count, ncclFloat32, ncclSum, comm_, cuda_stream_),
                  "ncclAllReduce");
        return;
      case Coll::kAllGather:
        ncclCheck(api_->all_gather(send, recv, count, ncclFloat32, comm_, cuda_stream_),
                  "ncclAllGather");
        return;
      case Coll::kReduceScatter:
        ncclCheck(
            api_->reduce_scatter(send, recv, count, ncclFloat32, ncclSum, comm_, cuda_stream_),
            "ncclReduceScatter");
        return;
      case Coll::kBroadcast:
        ncclCheck(api_->broadcast(send, recv, count, ncclFloat32, 0, comm_, cuda_stream_),
                  "ncclBroadcast");
        return;
      case Coll::kReduce:
        ncclCheck(api_->reduce(send, recv, count, ncclFloat32, ncclSum, 0, comm_, cuda_stream_),
                  "ncclReduce");
        return;
      default:
        throw std::logic_error(std::string("xccl-nccl-peer does not offer ") + collName(coll));
    }
  }

  size_t check(Coll coll, const Shape &shape, bool in_place) {
    const CheckSpec spec{coll, DataType::kFloat32, RedOp::kSum, 0, 0, 1, shape};
    const size_t out_bytes = shape.bytes(sizeof(float));
    std::memset(host_.data(), kPoison, out_bytes);
    xpCheck(xpMemcpy(recv_, host_.data(), out_bytes), "xpMemcpy");
    fillInput(spec, host_.data());
    xpCheck(xpMemcpy(inputOf(shape, in_place), host_.data(), shape.send_elems * sizeof(float)),
            "xpMemcpy");
    issue(coll, shape, in_place);
    xpCheck(xpStreamSynchronize(stream_), "xpStreamSynchronize");
    xpCheck(xpMemcpy(host_.data(), recv_, out_bytes), "xpMemcpy");
    return countWrong(spec, host_.data());
  }

  const Options &options_;
  int device_ = -1;
  std::string name_;
  xpStream stream_ = nullptr;
  cudaStream_t cuda_stream_ = nullptr;
  const xpool::xccl::NcclApi *api_ = nullptr;
  ncclComm_t comm_ = nullptr;
  char *send_ = nullptr, *recv_ = nullptr;
  size_t bytes_ = 0;
  std::vector<char> host_;
};

int run(const Options &options, int device) {
  NcclRank rank(options, device);
  Report report("xccl-nccl-peer", rank.version(), true);
  report.preamble(options, 1, 1, {rank.rankLineText()},
                  {"NCCL called directly on xpool device memory and an xpool stream's CUstream."});
  rank.allocate(options.max_bytes);
  MemcpyCeiling ceiling;  // device memory: a host memcpy says nothing here
  const long wrong =
      sweepAll(options, 1, report, ceiling, [&](Coll coll, const Shape &shape, bool in_place) {
        return rank.measure(coll, shape, in_place);
      });
  return wrong > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char **argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  CLI::App app{"xccl-nccl-peer: NCCL called directly, in xccl-perf's format (one CUDA rank)"};
  Options options;
  addCommonOptions(app, options,
                   Choices{{Coll::kAllReduce, Coll::kAllGather, Coll::kReduceScatter,
                            Coll::kBroadcast, Coll::kReduce},
                           {DataType::kFloat32},
                           {RedOp::kSum},
                           false});
  int device = -1;
  app.add_option("--device", device, "xpool device (a cuda one; -1: the first cuda device)")
      ->check(CLI::Range(-1, 1 << 20));
  try {
    app.parse(argc, argv);
    finishOptions(options, argc, argv);
  } catch (const CLI::ParseError &error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  try {
    return run(options, device);
  } catch (const std::exception &error) {
    std::fprintf(stderr, "xccl-nccl-peer: %s\n", error.what());
    return 2;
  }
}
