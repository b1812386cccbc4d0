// --np N: a program runs N copies of itself on this host, one rank each,
// with the environment a launcher would give them (XPOOL_RANK,
// XPOOL_LOCAL_RANK, XPOOL_WORLD_SIZE), waits for all of them under a
// deadline, and fails when any of them fails. No MPI needed.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace xccl_bench {

// A TCP port on 127.0.0.1 that was free a moment ago: bound to port 0, read
// back, closed. Another process may take it before the ranks do; rare.
int freePort();

// The running program's own path, for re-running it.
std::string selfPath();

// argv (from argv[1]) without `option VALUE` and `option=VALUE`, so that
// the copies do not launch copies themselves.
std::vector<std::string> argsWithout(int argc, char **argv, const std::string &option);

struct LaunchPlan {
  std::string tool;               // names the ranks in messages
  std::vector<std::string> argv;  // argv[0] is the program to run
  int nranks = 1;
  std::vector<std::pair<std::string, std::string>> env;  // set in every rank
  // > 0: the ranks pose as this many nodes (XCCL_HOSTNAME <host>-node<k>,
  // consecutive ranks on one node), so that xccl treats them as separate
  // machines: TCP between them, hierarchical algorithms across them.
  int nodes = 0;
  int timeout_s = 1800;
};

// Runs the ranks and waits. When one fails, the others get a grace period to
// fail on their own (their peer is gone), then are killed; at the deadline
// all still running are killed. Returns 0 when every rank exited 0, else
// the first failure's exit code (2 for a signal or the deadline), having
// said on stderr which rank failed and how.
int launchRanks(const LaunchPlan &plan);

}  // namespace xccl_bench
