// The hierarchical algorithms: ranks of this one machine pose as several
// nodes through XCCL_HOSTNAME (set per rank), so xccl connects them as it
// would separate machines (no shared memory between "nodes") and the node
// layout makes the hierarchical collectives run. XCCL_DIRECT_MAX_BYTES=4096
// sends every size from 4 KiB up through the large (ring) variants and
// smaller ones through the leader variants, so small buffers cover both.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "launch/launch_support.h"

namespace xccltest {
namespace {

using std::chrono::seconds;

// Rank r on cpu device r, on node nodes[r] ("a", "b", ...).
std::function<Environment(int)> onNodes(const std::vector<std::string> &nodes) {
  return [nodes](int rank) {
    return Environment{{"XPOOL_DEVICE", std::to_string(rank)},
                       {"XCCL_HOSTNAME", "xccl-test-node-" + nodes[static_cast<size_t>(rank)]}};
  };
}

Environment hierEnvironment(int nranks, const char *algo) {
  Environment environment = cpuEnvironment(nranks);
  environment["XCCL_ALGO"] = algo;
  environment["XCCL_DIRECT_MAX_BYTES"] = "4096";
  return environment;
}

// Every collective with a hierarchical form, every op, sizes 0, 1, odd,
// around the 4 KiB switch and past it, every root.
const std::vector<std::string> kCollectives = {"matrix", "--collectives",
                                               "allreduce,broadcast,reduce,allgather,reducescatter",
                                               "--sizes", "0,1,7,1000,1025,65537"};

std::vector<std::string> withTypes(std::vector<std::string> args, const char *types) {
  args.insert(args.end(), {"--types", types});
  return args;
}

TEST(XcclHierarchical, TwoNodesOfTwoRanks) {
  runRanks(4, withTypes(kCollectives, "int32,float32,bfloat16"), hierEnvironment(4, "hier"),
           onNodes({"a", "a", "b", "b"}), seconds(240));
}

TEST(XcclHierarchical, TwoNodesOfThreeRanks) {
  std::vector<std::string> args = withTypes(kCollectives, "int64,float16");
  args.insert(args.end(), {"--roots", "ends"});
  runRanks(6, args, hierEnvironment(6, "hier"), onNodes({"a", "a", "a", "b", "b", "b"}),
           seconds(240));
}

// Nodes of 1, 2 and 3 ranks cut the vector at different places; the ranks
// of one node are not consecutive either.
TEST(XcclHierarchical, UnevenNodesOneTwoThree) {
  std::vector<std::string> args = withTypes(kCollectives, "int8,float64");
  args.insert(args.end(), {"--roots", "ends"});
  runRanks(6, args, hierEnvironment(6, "hier"), onNodes({"c", "b", "c", "a", "c", "b"}),
           seconds(240));
}

TEST(XcclHierarchical, FourNodesOfTwoRanks) {
  runRanks(8,
           {"matrix", "--collectives", "allreduce,broadcast", "--types", "uint8,float32", "--ops",
            "sum,max,avg", "--sizes", "1,7,1025,65537", "--roots", "ends"},
           hierEnvironment(8, "hier"), onNodes({"a", "a", "b", "b", "c", "c", "d", "d"}),
           seconds(240));
}

// auto with the hierarchical threshold at 8 KiB: the same job runs flat
// algorithms below it and hierarchical ones above, up to 4 MiB; the nodes
// interleave (a b a b), so the node-ordered rings differ from rank order.
TEST(XcclHierarchical, AutoAcrossTheThreshold) {
  Environment environment = hierEnvironment(4, "auto");
  environment["XCCL_HIER_MIN_BYTES"] = "8192";
  runRanks(4,
           {"matrix", "--collectives", "allreduce,broadcast,reduce,allgather", "--types",
            "float32,uint64", "--ops", "sum,prod,avg", "--sizes", "1,1000,4097,large",
            "--max-bytes", "4M", "--roots", "ends"},
           environment, onNodes({"a", "b", "a", "b"}), seconds(240));
}

// XCCL_ALGO=hier on one rank per node: nothing to go through first, so the
// flat algorithms run, and XCCL_DEBUG=INFO says so.
TEST(XcclHierarchical, OneRankPerNodeFallsBackToFlat) {
  Environment environment = hierEnvironment(3, "hier");
  environment["XCCL_DEBUG"] = "INFO";
  Job job(
      rankSpecs(rankProgram(), 3,
                {"matrix", "--collectives", "allreduce", "--types", "int32", "--sizes", "1,65537"},
                environment, onNodes({"a", "b", "c"})));
  expectExitCodes(job, {0, 0, 0}, seconds(120));
  const std::string logs = job.logs(1 << 20);
  EXPECT_NE(logs.find("XCCL_ALGO=hier but the communicator has 3 node(s) with at most 1"),
            std::string::npos)
      << logs;
}

// A rank killed in the middle of hierarchical all-reduces of 8 MiB: the
// others, on its node and on the other, fail within the timeout naming it.
TEST(XcclHierarchical, KilledRankIsNamedBySurvivors) {
  Environment environment = cpuEnvironment(4);
  environment["XCCL_ALGO"] = "hier";
  expectSurvivorsNameTheKilledRank(4, 1, environment, onNodes({"a", "a", "b", "b"}));
}

}  // namespace
}  // namespace xccltest
