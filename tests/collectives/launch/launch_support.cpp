#include "launch/launch_support.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

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

}  // namespace xccltest
