#include "launch/launch_support.h"

#include <gtest/gtest.h>

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/device_select.h"
#include "xpool/runtime.h"

namespace xccltest {

std::string rankProgram() {
  return XCCL_RANK_PROGRAM;
}

Environment cpuEnvironment(int devices) {
  return {{"XPOOL_BACKENDS", "cpu"},
          {"XPOOL_CPU_DEVICES", std::to_string(devices)},
          {"XCCL_TIMEOUT_MS", "60000"},
          {"XPOOL_TIMEOUT_MS", "120000"}};
}

bool openclAvailable() {
  setenv("XPOOL_BACKENDS", "cpu,opencl", 1);
  if (xpInit() != XP_SUCCESS) return false;
  const bool found = findDevice("opencl", 0) >= 0;
  xpShutdown();
  return found;
}

void expectExitCodes(Job &job, const std::vector<int> &expected, std::chrono::seconds limit) {
  ASSERT_EQ(job.startError(), "");
  job.waitAll(limit);
  std::string problems;
  for (size_t i = 0; i < job.size(); ++i) {
    const ProcessOutcome &outcome = job.outcome(i);
    const int want = i < expected.size() ? expected[i] : 0;
    if (outcome.hung) {
      problems += outcome.label + " hung: still running after " + std::to_string(limit.count()) +
                  " s, killed\n";
    } else if (outcome.signal != 0 || outcome.exit_code != want) {
      problems += outcome.label + " " + outcome.describe() + ", expected exit code " +
                  std::to_string(want) + "\n";
    }
  }
  if (!problems.empty()) {
    job.keepLogs();
    ADD_FAILURE() << problems << job.logs();
  } else {
    showLogsIfAsked(job);
  }
}

void showLogsIfAsked(const Job &job) {
  const char *show = std::getenv("XCCL_TEST_SHOW_LOGS");
  if (show != nullptr && std::string(show) == "1") std::printf("%s", job.logs().c_str());
}

void runRanks(int nranks, const std::vector<std::string> &args, const Environment &common,
              const std::function<Environment(int)> &per_rank, std::chrono::seconds limit) {
  Job job(rankSpecs(rankProgram(), nranks, args, common, per_rank));
  expectExitCodes(job, std::vector<int>(static_cast<size_t>(nranks), 0), limit);
}

void expectSurvivorsNameTheKilledRank(int nranks, int dead, Environment environment,
                                      const std::function<Environment(int)> &per_rank) {
  using std::chrono::seconds;
  constexpr int kTimeoutMs = 3000;
  const size_t victim = static_cast<size_t>(dead);
  const std::string name = "rank " + std::to_string(dead);
  TempDir markers;
  ASSERT_FALSE(markers.path().empty());
  environment["XCCL_TIMEOUT_MS"] = std::to_string(kTimeoutMs);
  environment["XCCL_TEST_MARKER_DIR"] = markers.path();
  Job job(rankSpecs(rankProgram(), nranks, {"killed-peer", "--dead-rank", std::to_string(dead)},
                    environment, per_rank));
  ASSERT_EQ(job.startError(), "");

  // Kill once the victim is inside the loop (so the kill lands in the
  // middle of collectives, not in start-up), 300 ms into it.
  const std::string marker = markers.path() + "/rank" + std::to_string(dead) + ".looping";
  const bool looping = job.waitUntil(
      [&] { return std::filesystem::exists(marker) || job.finished(victim); }, seconds(60));
  if (!looping || job.finished(victim)) {
    job.waitAll(seconds(1));
    job.keepLogs();
    FAIL() << name << " never started its loop within 60 s (or ended first)\n" << job.logs();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  job.kill(victim);
  const auto killed_at = std::chrono::steady_clock::now();

  const auto allowed = std::chrono::milliseconds(kTimeoutMs + 5000);
  job.waitAll(std::chrono::duration_cast<seconds>(allowed) + seconds(10));
  std::string problems;
  if (job.outcome(victim).signal != SIGKILL) {
    problems += name + " " + job.outcome(victim).describe() + ", expected killed by SIGKILL\n";
  }
  for (size_t survivor = 0; survivor < job.size(); ++survivor) {
    if (survivor == victim) continue;
    const ProcessOutcome &outcome = job.outcome(survivor);
    const double after_kill_s = std::chrono::duration<double>(outcome.ended - killed_at).count();
    if (outcome.hung) {
      problems += outcome.label + " hung: still running 18 s after " + name + " was killed\n";
    } else if (outcome.signal != 0 || outcome.exit_code != 3) {
      problems += outcome.label + " " + outcome.describe() +
                  ", expected exit code 3 (saw xcclRemoteError or xcclTimeout naming " + name +
                  "); 4 means the message did not name " + name + "\n";
    } else if (after_kill_s > std::chrono::duration<double>(allowed).count()) {
      problems += outcome.label + " reported the error " + std::to_string(after_kill_s) +
                  " s after the kill, more than XCCL_TIMEOUT_MS + 5 s\n";
    }
  }
  if (!problems.empty()) {
    job.keepLogs();
    ADD_FAILURE() << problems << job.logs();
  } else {
    showLogsIfAsked(job);
  }
}

}  // namespace xccltest
