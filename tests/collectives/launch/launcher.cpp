#include "launch/launcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char **environ;

namespace xccltest {
namespace {

using Clock = std::chrono::steady_clock;

// The child's environment: this process's, with the overrides applied.
std::vector<std::string> mergedEnvironment(const Environment &overrides) {
  std::vector<std::string> merged;
  for (char **entry = environ; *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const std::string name = text.substr(0, text.find('='));
    if (overrides.count(name) == 0) merged.push_back(text);
  }
  for (const auto &[name, value] : overrides) merged.push_back(name + "=" + value);
  return merged;
}

std::vector<char *> pointers(std::vector<std::string> &strings) {
  std::vector<char *> out;
  for (std::string &s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string readTail(const std::string &path, size_t tail_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (text.size() > tail_bytes) {
    text = "[... " + std::to_string(text.size() - tail_bytes) + " bytes before]\n" +
           text.substr(text.size() - tail_bytes);
  }
  return text;
}

std::string makeTempDir() {
  const char *tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/xccl-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

}  // namespace

TempDir::TempDir() : path_(makeTempDir()) {}

TempDir::~TempDir() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

std::string ProcessOutcome::describe() const {
  if (hung) return "hung: still running at the deadline, killed";
  if (!finished) return "still running";
  if (signal != 0) {
    return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  }
  return "exited with code " + std::to_string(exit_code);
}

Job::Job(const std::vector<ProcessSpec> &specs) {
  log_dir_ = makeTempDir();
  if (log_dir_.empty()) {
    start_error_ = std::string("mkdtemp for the logs: ") + std::strerror(errno);
    return;
  }
  started_ = Clock::now();
  for (size_t i = 0; i < specs.size(); ++i) {
    const ProcessSpec &spec = specs[i];
    ProcessOutcome outcome;
    outcome.label = spec.label;
    outcome.log_path = log_dir_ + "/" + std::to_string(i) + ".log";
    // Everything the child needs is built before fork: after it, only
    // async-signal-safe calls.
    std::vector<std::string> argv = spec.argv;
    std::vector<std::string> envp = mergedEnvironment(spec.environment);
    std::vector<char *> argv_ptrs = pointers(argv);
    std::vector<char *> envp_ptrs = pointers(envp);
    const int log = open(outcome.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log < 0) {
      start_error_ = "open(" + outcome.log_path + "): " + std::strerror(errno);
      break;
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      setpgid(0, 0);
      // Dies with the test process, so a crashed test leaves no rank behind
      // holding a port or shared memory.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(126);
      const int null_in = open("/dev/null", O_RDONLY);
      if (null_in >= 0) dup2(null_in, STDIN_FILENO);
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
      execve(argv_ptrs[0], argv_ptrs.data(), envp_ptrs.data());
      const char message[] = "xccl launcher: execve failed\n";
      (void)!write(STDERR_FILENO, message, sizeof message - 1);
      _exit(127);
    }
    close(log);
    if (pid < 0) {
      start_error_ = std::string("fork: ") + std::strerror(errno);
      break;
    }
    setpgid(pid, pid);  // also here, so that kill(-pid) works even before the child ran
    outcome.pid = pid;
    outcomes_.push_back(outcome);
  }
}

Job::~Job() {
  for (size_t i = 0; i < outcomes_.size(); ++i) {
    if (!outcomes_[i].finished) {
      kill(i);
      int status = 0;
      waitpid(outcomes_[i].pid, &status, 0);
    }
  }
  if (!keep_logs_ && !log_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(log_dir_, ignored);
  }
}

void Job::poll() {
  for (ProcessOutcome &outcome : outcomes_) {
    if (outcome.finished) continue;
    int status = 0;
    const pid_t got = waitpid(outcome.pid, &status, WNOHANG);
    if (got != outcome.pid) continue;
    outcome.finished = true;
    outcome.ended = Clock::now();
    if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
  }
}

bool Job::waitUntil(const std::function<bool()> &done, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    poll();
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool Job::waitAll(std::chrono::milliseconds limit) {
  const bool all = waitUntil(
      [&] {
        for (const ProcessOutcome &outcome : outcomes_) {
          if (!outcome.finished) return false;
        }
        return true;
      },
      limit);
  if (all) return true;
  for (size_t i = 0; i < outcomes_.size(); ++i) {
    ProcessOutcome &outcome = outcomes_[i];
    if (outcome.finished) continue;
    kill(i);
    int status = 0;
    waitpid(outcome.pid, &status, 0);
    outcome.finished = true;
    outcome.hung = true;
    outcome.ended = Clock::now();
  }
  return false;
}

void Job::kill(size_t i) {
  // The group first (mpirun's children), then the process itself in case it
  // left its group.
  ::kill(-outcomes_[i].pid, SIGKILL);
  ::kill(outcomes_[i].pid, SIGKILL);
}

std::string Job::logs(size_t tail_bytes) const {
  std::string text = "logs in " + log_dir_ + ":\n";
  for (const ProcessOutcome &outcome : outcomes_) {
    text += "----- " + outcome.label + " (" + outcome.describe() + ") -----\n";
    text += readTail(outcome.log_path, tail_bytes);
  }
  return text;
}

int freeTcpPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

std::vector<ProcessSpec> rankSpecs(const std::string &program, int nranks,
                                   const std::vector<std::string> &args, const Environment &common,
                                   const std::function<Environment(int)> &per_rank) {
  const std::string port = std::to_string(freeTcpPort());
  std::vector<ProcessSpec> specs;
  for (int rank = 0; rank < nranks; ++rank) {
    ProcessSpec spec;
    spec.label = "rank " + std::to_string(rank);
    spec.argv.push_back(program);
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.environment = common;
    spec.environment["XPOOL_RANK"] = std::to_string(rank);
    spec.environment["XPOOL_WORLD_SIZE"] = std::to_string(nranks);
    spec.environment["XPOOL_MASTER_ADDR"] = "127.0.0.1";
    spec.environment["XPOOL_MASTER_PORT"] = port;
    if (per_rank) {
      for (const auto &[name, value] : per_rank(rank)) spec.environment[name] = value;
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace xccltest
