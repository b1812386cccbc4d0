#include "launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <chrono>
#include <thread>

extern char **environ;

namespace xccl_bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kGraceAfterFailure = std::chrono::seconds(10);
constexpr auto kGraceAfterTerm = std::chrono::seconds(2);
constexpr auto kPoll = std::chrono::milliseconds(10);

struct Child {
  int rank = 0;
  pid_t pid = -1;
  bool done = false;
  int code = 0;  // exit code, or 2 after a signal
};

bool overridden(const std::string &entry,
                const std::vector<std::pair<std::string, std::string>> &env) {
  for (const auto &[key, value] : env) {
    if (entry.compare(0, key.size() + 1, key + "=") == 0) return true;
  }
  return false;
}

// The parent's environment with the plan's and this rank's variables set.
// Open MPI's rank variables are dropped: xccl reads them too, and a copy
// started from inside mpirun must not look like the mpirun rank.
std::vector<std::string> rankEnvironment(const LaunchPlan &plan, int rank) {
  std::vector<std::pair<std::string, std::string>> env = plan.env;
  env.emplace_back("XPOOL_RANK", std::to_string(rank));
  env.emplace_back("XPOOL_LOCAL_RANK", std::to_string(rank));
  env.emplace_back("XPOOL_WORLD_SIZE", std::to_string(plan.nranks));
  if (plan.nodes > 0) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "host");
    const long node = static_cast<long>(rank) * plan.nodes / plan.nranks;
    env.emplace_back("XCCL_HOSTNAME", std::string(host) + "-node" + std::to_string(node));
  }
  std::vector<std::string> out;
  for (char **entry = environ; *entry != nullptr; ++entry) {
    const std::string text = *entry;
    if (text.rfind("OMPI_COMM_WORLD_", 0) == 0 || overridden(text, env)) continue;
    out.push_back(text);
  }
  for (const auto &[key, value] : env) out.push_back(key + "=" + value);
  return out;
}

std::vector<char *> pointers(std::vector<std::string> &strings) {
  std::vector<char *> out;
  for (std::string &s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

pid_t spawn(const LaunchPlan &plan, int rank) {
  std::vector<std::string> args = plan.argv;
  std::vector<std::string> env = rankEnvironment(plan, rank);
  std::vector<char *> argv = pointers(args), envp = pointers(env);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // A rank must not outlive its launcher (killed by ctest's timeout, say).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(2);
    execve(argv[0], argv.data(), envp.data());
    std::fprintf(stderr, "%s: cannot run %s: %s\n", plan.tool.c_str(), argv[0],
                 std::strerror(errno));
    _exit(2);
  }
  return pid;
}

void describe(const LaunchPlan &plan, const Child &child, int status) {
  if (WIFEXITED(status)) {
    std::fprintf(stderr, "%s: rank %d (pid %d) exited with status %d\n", plan.tool.c_str(),
                 child.rank, static_cast<int>(child.pid), WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    std::fprintf(stderr, "%s: rank %d (pid %d) was killed by signal %d (%s)\n", plan.tool.c_str(),
                 child.rank, static_cast<int>(child.pid), WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
  }
}

// Reaps the ranks that have ended; returns how many are still running.
int reap(const LaunchPlan &plan, std::vector<Child> &children, int *first_failure) {
  int running = 0;
  for (Child &child : children) {
    if (child.done) continue;
    int status = 0;
    const pid_t got = waitpid(child.pid, &status, WNOHANG);
    if (got == 0 || (got < 0 && errno == EINTR)) {
      ++running;
      continue;
    }
    child.done = true;
    child.code = got < 0 ? 2 : WIFEXITED(status) ? WEXITSTATUS(status) : 2;
    if (child.code != 0) {
      describe(plan, child, status);
      if (*first_failure == 0) *first_failure = child.code;
    }
  }
  return running;
}

void signalAll(std::vector<Child> &children, int signal) {
  for (const Child &child : children) {
    if (!child.done) kill(child.pid, signal);
  }
}

}  // namespace

int freePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  const bool ok = bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0;
  const int error = errno;
  close(fd);
  if (!ok) throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + std::strerror(error));
  return ntohs(addr.sin_port);
}

std::string selfPath() {
  char path[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0)
    throw std::runtime_error(std::string("readlink /proc/self/exe: ") + std::strerror(errno));
  return std::string(path, static_cast<size_t>(n));
}

std::vector<std::string> argsWithout(int argc, char **argv, const std::string &option) {
  std::vector<std::string> out;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == option) {
      ++i;  // and its value
    } else if (arg.rfind(option + "=", 0) != 0) {
      out.push_back(arg);
    }
  }
  return out;
}

int launchRanks(const LaunchPlan &plan) {
  std::vector<Child> children;
  int first_failure = 0;
  for (int rank = 0; rank < plan.nranks; ++rank) {
    try {
      children.push_back(Child{rank, spawn(plan, rank)});
    } catch (const std::exception &error) {
      std::fprintf(stderr, "%s: rank %d: %s\n", plan.tool.c_str(), rank, error.what());
      signalAll(children, SIGKILL);
      reap(plan, children, &first_failure);
      return 2;
    }
  }
  // Running, then (after a failure or at the deadline) a grace period for
  // the others to end on their own, then SIGTERM, then SIGKILL.
  enum class Phase { kRunning, kGrace, kTerminated } phase = Phase::kRunning;
  const auto deadline = Clock::now() + std::chrono::seconds(plan.timeout_s);
  auto next_step = Clock::time_point::max();
  while (reap(plan, children, &first_failure) > 0) {
    const auto now = Clock::now();
    if (phase == Phase::kRunning && now >= deadline) {
      std::fprintf(stderr, "%s: ranks still running after --timeout %d s; stopping them\n",
                   plan.tool.c_str(), plan.timeout_s);
      if (first_failure == 0) first_failure = 2;
      phase = Phase::kGrace;
      next_step = now;
    } else if (phase == Phase::kRunning && first_failure != 0) {
      phase = Phase::kGrace;
      next_step = now + kGraceAfterFailure;
    }
    if (phase == Phase::kGrace && now >= next_step) {
      signalAll(children, SIGTERM);
      phase = Phase::kTerminated;
      next_step = now + kGraceAfterTerm;
    } else if (phase == Phase::kTerminated && now >= next_step) {
      signalAll(children, SIGKILL);
    }
    std::this_thread::sleep_for(kPoll);
  }
  return first_failure;
}

}  // namespace xccl_bench
