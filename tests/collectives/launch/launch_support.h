// What the launcher tests share: the environments they start ranks with and
// how they judge a finished job.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "launch/launcher.h"

namespace xccltest {

// Path of xccl_rank (from the build).
std::string rankProgram();

// XPOOL_BACKENDS=cpu with `devices` cpu devices, and deadlines: xccl gives up
// after XCCL_TIMEOUT_MS=60 s, well inside the launcher's own deadline, so a
// stuck collective fails with xccl's message rather than being killed.
Environment cpuEnvironment(int devices);

// Whether this machine has an opencl device (PoCL in CI), asked through the
// runtime with XPOOL_BACKENDS=cpu,opencl.
bool openclAvailable();

// Waits for the job (up to `limit`) and adds a gtest failure naming every
// process that hung, was killed or exited with another code than
// expected[i], followed by every process's log.
void expectExitCodes(Job &job, const std::vector<int> &expected, std::chrono::seconds limit);

// Prints every process's log when XCCL_TEST_SHOW_LOGS=1 (for a person
// looking at a passing run: timings, the messages of expected errors).
void showLogsIfAsked(const Job &job);

// Runs `nranks` xccl_rank processes and expects all to exit 0 within `limit`.
void runRanks(int nranks, const std::vector<std::string> &args, const Environment &common,
              const std::function<Environment(int)> &per_rank, std::chrono::seconds limit);

// The killed-peer scenario: `nranks` ranks loop over large AllReduces,
// rank `dead` is killed with SIGKILL once it is looping, and every other
// rank must exit with kExitSawPeerError (an error naming the dead rank)
// within XCCL_TIMEOUT_MS (3 s, set here) + 5 s of the kill.
void expectSurvivorsNameTheKilledRank(int nranks, int dead, Environment environment,
                                      const std::function<Environment(int)> &per_rank);

}  // namespace xccltest
