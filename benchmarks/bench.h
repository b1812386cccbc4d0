// What every part of xpool-membench shares: the devices under test with their
// buffers, the pinned host buffers, the timing loop and the content check.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "raw_device.h"
#include "xpool/runtime.h"

namespace membench {

// A failed xpool call or vendor call: the run cannot go on.
struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A copy delivered wrong data: the run must fail rather than report it.
struct VerifyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws BenchError naming `call` and xpGetLastError() unless XP_SUCCESS.
void xpCheck(xpStatus status, const char *call);

// Pinned host memory (xpMallocHost): `src` holds the reference pattern,
// `dst` receives copies and stages raw cross-device copies.
struct HostBuffers {
  char *src = nullptr;
  char *dst = nullptr;
  size_t bytes = 0;
};

struct BenchDevice {
  int ordinal = 0;
  xpDeviceProps props{};
  size_t max_bytes = 0;             // largest size measured on it
  void *a = nullptr, *b = nullptr;  // xpool buffers of max_bytes
  std::unique_ptr<RawDevice> raw;   // nullptr: no raw peer
  std::string raw_note;             // what raw is, or why it is n/a
};

struct TimingPlan {
  double target_seconds = 0.2;  // rough time one measurement should take
  int min_reps = 3;             // even when one operation is slow
  int max_reps = 5000;
  // Tiny operations are timed in batches of at least this long (0: each
  // operation alone); the result is still seconds per operation.
  double min_batch_seconds = 20e-6;
};

// Median seconds per call of each op. Each op is warmed up once; then the
// ops take turns, one timed batch each per round (in rotating order), so
// that all of them see the same machine (other processes, frequency) rather
// than one seeing a quiet moment and the next a busy one.
std::vector<double> medianSeconds(const std::vector<std::function<void()>> &ops,
                                  const TimingPlan &plan);

// For operations whose helper threads outlive the call (a stream's worker
// spinning for the next launch, an OpenMP team spinning at its barrier):
// taking turns call by call would time each op while the other's threads
// still hold the cores. So the ops take long turns (in rotating order); a
// turn first calls its op untimed for `settle_seconds`, while the previous
// op's threads go idle, then times each call on its own for `turn_seconds`.
struct TurnPlan {
  int turns = 4;
  double settle_seconds = 0.02;
  double turn_seconds = 0.05;
};

// Median seconds of one call of each op, over every timed call of its turns.
std::vector<double> medianCallSeconds(const std::vector<std::function<void()>> &ops,
                                      const TurnPlan &plan);

// Writes the reference pattern: every 8-byte word differs from its neighbours.
void fillPattern(void *dst, size_t bytes);
// Throws VerifyError naming `what` and the first differing offset.
void verify(const void *expected, const void *got, size_t bytes, const std::string &what);

}  // namespace membench
