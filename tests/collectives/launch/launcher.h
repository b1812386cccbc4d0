// Starting and watching the processes of a multi-process test: each one
// fork/exec'd with its own environment, its stdout and stderr in a log file,
// in its own process group (so a hung mpirun goes down with its children),
// and killed with SIGKILL if the test process dies. Every wait has a
// deadline; whatever still runs at the deadline is killed and reported hung.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace xccltest {

// Environment overrides: a name mapped to its value.
using Environment = std::map<std::string, std::string>;

struct ProcessSpec {
  std::string label;              // "rank 1", "mpirun": for messages
  std::vector<std::string> argv;  // argv[0] is the program's path
  Environment environment;        // on top of this process's environment
};

struct ProcessOutcome {
  std::string label;
  pid_t pid = -1;
  bool finished = false;  // exited or was killed by a signal
  bool hung = false;      // still running at the deadline, then killed
  int exit_code = -1;     // when it exited
  int signal = 0;         // when a signal ended it
  std::chrono::steady_clock::time_point ended;
  std::string log_path;
  // "exited with code 3", "killed by signal 9 (Killed)", "hung: killed after 120 s".
  std::string describe() const;
};

class Job {
 public:
  // Starts every process; logs go to a fresh folder under $TMPDIR (or /tmp),
  // removed by the destructor unless keep_logs() was called.
  explicit Job(const std::vector<ProcessSpec> &specs);
  ~Job();
  Job(const Job &) = delete;
  Job &operator=(const Job &) = delete;

  // "" when every process started, else why not.
  const std::string &startError() const { return start_error_; }
  const std::string &logDir() const { return log_dir_; }
  std::chrono::steady_clock::time_point started() const { return started_; }
  size_t size() const { return outcomes_.size(); }
  const ProcessOutcome &outcome(size_t i) const { return outcomes_[i]; }

  // Reaps whatever has ended, without blocking.
  void poll();
  // Polls until `done()` or `limit` passed; returns whether done() held.
  bool waitUntil(const std::function<bool()> &done, std::chrono::milliseconds limit);
  // Waits for every process until `limit` from now; kills the rest (SIGKILL
  // to their process groups) and marks them hung. Returns whether all ended
  // by themselves.
  bool waitAll(std::chrono::milliseconds limit);
  // SIGKILL to process i (and its group).
  void kill(size_t i);
  bool finished(size_t i) const { return outcomes_[i].finished; }

  // Every process's log (the last `tail_bytes` of each), labelled, for a
  // failure message.
  std::string logs(size_t tail_bytes = 12000) const;
  void keepLogs() { keep_logs_ = true; }

 private:
  std::vector<ProcessOutcome> outcomes_;
  std::string log_dir_;
  std::string start_error_;
  std::chrono::steady_clock::time_point started_;
  bool keep_logs_ = false;
};

// A folder under $TMPDIR (or /tmp) for files a test shares with its
// processes, removed with everything in it at the end of its scope.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const std::string &path() const { return path_; }

 private:
  std::string path_;
};

// A TCP port that was free a moment ago on 127.0.0.1 (bind port 0, read it
// back, close). Another process could take it before the test uses it; the
// kernel hands out ports in a rotating order, which makes that rare.
int freeTcpPort();

// One xccl_rank per rank with the launcher variables of xcclCommInitFromEnv:
// XPOOL_RANK, XPOOL_WORLD_SIZE, XPOOL_MASTER_ADDR=127.0.0.1, XPOOL_MASTER_PORT
// (a free port), plus `common` and per_rank(rank) (may be empty).
std::vector<ProcessSpec> rankSpecs(const std::string &program, int nranks,
                                   const std::vector<std::string> &args, const Environment &common,
                                   const std::function<Environment(int)> &per_rank = {});

}  // namespace xccltest
