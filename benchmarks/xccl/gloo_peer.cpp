// xccl-gloo-peer: Gloo's allreduce (every algorithm it offers), allgather and
// broadcast over TCP on 127.0.0.1, in xccl-perf's sizes and table, so that
// xccl's TCP transport is compared with Gloo's (compare-gloo.sh runs both).
//
// It launches its own ranks (--np N), which meet through a gloo FileStore
// in a fresh temporary folder. float32 and sum only. Buffers are host
// memory, allocated and touched once.
// Exit codes: 0 measured, 1 some result was wrong, 2 a call or a rank failed.
#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/config.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/transport/tcp/device.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "gloo_variants.h"
#include "host_buffer.h"
#include "launcher.h"
#include "memcpy_ceiling.h"
#include "options.h"
#include "report.h"
#include "sweep.h"
#include "timing.h"
#include "verify.h"

namespace {

using namespace xccl_bench;

constexpr size_t kLineBytes = 256;
// Gloo's own default is 30 s; a 256 MiB call over loopback TCP on a busy
// machine can come close.
constexpr std::chrono::seconds kGlooTimeout(300);

int envInt(const char *name) {
  const char *text = std::getenv(name);
  if (text == nullptr) throw std::runtime_error(std::string(name) + " is not set");
  return std::atoi(text);
}

// A full mesh of TCP pairs on 127.0.0.1. `name` keeps two contexts' keys
// apart in the one store; `busy_poll` puts every pair in sync mode with
// busy polling, where the calling thread itself spins on the socket.
std::shared_ptr<gloo::Context> connect(gloo::rendezvous::Store &store, const std::string &name,
                                       bool busy_poll) {
  const int rank = envInt("XPOOL_RANK"), size = envInt("XPOOL_WORLD_SIZE");
  gloo::transport::tcp::attr attr;
  attr.hostname = "127.0.0.1";
  attr.ai_family = AF_INET;
  auto device = gloo::transport::tcp::CreateDevice(attr);
  gloo::rendezvous::PrefixStore prefixed(name, store);
  auto context = std::make_shared<gloo::rendezvous::Context>(rank, size);
  context->setTimeout(kGlooTimeout);
  context->connectFullMesh(prefixed, device);
  if (busy_poll) {
    for (int peer = 0; peer < size; ++peer) {
      if (peer != rank) context->getPair(peer)->setSync(true, true);
    }
  }
  return context;
}

class GlooRank {
 public:
  GlooRank(const Options &options, const std::string &store_dir)
      : options_(options), store_(store_dir) {
    context_ = connect(store_, "async", false);
    busy_poll_context_ = connect(store_, "busy-poll", true);
  }
  int rank() const { return context_->rank; }
  int nranks() const { return context_->size; }

  void allocate(size_t bytes) {
    send_ = touchedBuffer(bytes);
    recv_ = touchedBuffer(bytes);
  }

  void barrier() {
    gloo::BarrierOptions options(context_);
    gloo::barrier(options);
  }

  std::vector<std::string> rankLines() {
    std::vector<char> mine(kLineBytes, 0), all(kLineBytes * static_cast<size_t>(nranks()), 0);
    std::strncpy(mine.data(), rankLine(rank(), "-", "host memory, gloo tcp 127.0.0.1").c_str(),
                 kLineBytes - 1);
    gloo::AllgatherOptions options(context_);
    options.setInput(mine.data(), kLineBytes);
    options.setOutput(all.data(), all.size());
    gloo::allgather(options);
    std::vector<std::string> lines;
    for (int r = 0; r < nranks(); ++r)
      lines.emplace_back(all.data() + kLineBytes * static_cast<size_t>(r));
    return lines;
  }

  Measurement measure(const GlooVariant &variant, const Shape &shape, bool in_place) {
    if (!(in_place ? variant.in_place : variant.out_of_place)) return Measurement{};
    const GlooCall call{context_,
                        reinterpret_cast<float *>(send_.get()),
                        reinterpret_cast<float *>(recv_.get()),
                        shape,
                        options_.root,
                        in_place};
    // The older algorithm classes register their buffers with the transport
    // when constructed, and a peer's data may land in them from then on:
    // poison and fill before `prepare`, and count before anyone goes on.
    const CheckSpec spec{variant.coll, DataType::kFloat32, RedOp::kSum, options_.root,
                         rank(),       nranks(),           shape};
    if (options_.check) {
      std::memset(recv_.get(), kPoison, shape.bytes(sizeof(float)));
      fillInput(spec, in_place ? recv_.get() + shape.in_place_send_offset *
                                                   static_cast<size_t>(rank()) * sizeof(float)
                               : send_.get());
    }
    const std::function<void()> launch = variant.prepare(call);
    long wrong = -1;
    if (options_.check) {
      launch();
      wrong = static_cast<long>(countWrong(spec, recv_.get()));
      barrier();
    }
    const double us = timeCalls(
        options_.warmup, options_.iters, launch, [] {}, [&] { barrier(); });
    double sums[2] = {us, wrong < 0 ? 0.0 : static_cast<double>(wrong)};
    gloo::AllreduceOptions reduce(context_);
    reduce.setOutput(sums, 2);
    reduce.setReduceFunction(
        static_cast<void (*)(void *, const void *, const void *, size_t)>(&gloo::sum<double>));
    gloo::allreduce(reduce);
    return measurement(sums[0] / nranks(), shape.bytes(sizeof(float)),
                       busBwFactor(variant.coll, nranks()),
                       wrong < 0 ? -1 : static_cast<long>(sums[1]));
  }

 private:
  const Options &options_;
  gloo::rendezvous::FileStore store_;
  // Barriers, sums and the newer calls use the default (async) context.
  std::shared_ptr<gloo::Context> context_, busy_poll_context_;
  HostBuffer send_, recv_;
};

int runRank(const Options &options, const std::string &store_dir) {
  GlooRank rank(options, store_dir);
  if (options.root >= rank.nranks()) {
    throw std::runtime_error("--root " + std::to_string(options.root) + " is not a rank of " +
                             std::to_string(rank.nranks()));
  }
  const std::string library = "gloo " + std::to_string(GLOO_VERSION_MAJOR) + "." +
                              std::to_string(GLOO_VERSION_MINOR) + "." +
                              std::to_string(GLOO_VERSION_PATCH) + ", tcp transport";
  Report report("xccl-gloo-peer", library, rank.rank() == 0);
  const std::vector<std::string> lines = rank.rankLines();
  MemcpyCeiling ceiling;  // rank 0 alone, the others waiting in the barrier
  if (rank.rank() == 0) ceiling = measureMemcpy(rowBytes(options, rank.nranks()));
  rank.barrier();
  report.preamble(options, rank.nranks(), 1, lines,
                  {memcpyNote(),
                   "gloo: one section per algorithm; the older algorithm classes work in "
                   "place only (AllgatherRing out of place only); \"sync busy-poll\": on a "
                   "context whose pairs spin in the calling thread."});
  rank.allocate(options.max_bytes);
  for (Coll coll : options.colls) {
    for (const GlooVariant &variant : glooVariants()) {
      if (variant.coll != coll) continue;
      sweep(options, coll, variant.name, rank.nranks(), report, ceiling,
            [&](const Shape &shape, bool in_place) {
              return rank.measure(variant, shape, in_place);
            });
    }
  }
  report.finish();
  report.writeJson(options);
  return report.wrongTotal() > 0 ? 1 : 0;
}

// --np N: N ranks of ourselves meeting in a fresh store folder.
int launch(const Options &options, int argc, char **argv) {
  std::string dir = (std::filesystem::temp_directory_path() / "xccl-gloo-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + dir + ": " + std::strerror(errno));
  }
  LaunchPlan plan;
  plan.tool = "xccl-gloo-peer";
  plan.argv.push_back(selfPath());
  for (std::string &arg : argsWithout(argc, argv, "--np")) plan.argv.push_back(std::move(arg));
  plan.argv.insert(plan.argv.end(), {"--store", dir});
  plan.nranks = options.np;
  plan.timeout_s = options.timeout_s;
  const int code = launchRanks(plan);
  std::error_code ignored;  // a leftover folder in /tmp is not worth failing for
  std::filesystem::remove_all(dir, ignored);
  return code;
}

}  // namespace

int main(int argc, char **argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  CLI::App app{"xccl-gloo-peer: Gloo collectives over TCP in xccl-perf's format"};
  Options options;
  std::string store_dir;
  addCommonOptions(app, options,
                   Choices{{Coll::kAllReduce, Coll::kAllGather, Coll::kBroadcast},
                           {DataType::kFloat32},
                           {RedOp::kSum},
                           true});
  // Set by --np for the ranks it starts; not for people.
  app.add_option("--store", store_dir, "Rendezvous folder (set by --np)")->group("");
  try {
    app.parse(argc, argv);
    finishOptions(options, argc, argv);
    if (options.np == 0 && store_dir.empty()) {
      throw CLI::ValidationError("--np", "is required: xccl-gloo-peer launches its own ranks");
    }
  } catch (const CLI::ParseError &error) {
    return app.exit(error) == 0 ? 0 : 2;  // --help is not an error
  }
  if (options.max_bytes / sizeof(float) > static_cast<size_t>(INT32_MAX)) {
    std::fprintf(stderr, "xccl-gloo-peer: --max-bytes is too large for Gloo's int counts\n");
    return 2;
  }
  try {
    if (options.np > 0) return launch(options, argc, argv);
    return runRank(options, store_dir);
  } catch (const std::exception &error) {
    std::fprintf(stderr, "xccl-gloo-peer: rank %s: %s\n",
                 std::getenv("XPOOL_RANK") ? std::getenv("XPOOL_RANK") : "?", error.what());
    return 2;
  }
}
