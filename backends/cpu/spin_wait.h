// Busy-waiting for a hand-off between threads of the cpu backend.
//
// A hand-off between two running threads takes well under a microsecond,
// but sched_yield() alone costs about as much per call (a system call and a
// pass through the scheduler), and sleeping on a condition variable costs
// 10 us or more to wake. So a waiter first spins with the CPU's pause hint,
// which leaves the core's pipeline to its sibling and costs a few dozen
// nanoseconds, then yields (in case the thread it waits for needs this core),
// and sleeps only after its spin budget.
#pragma once

#include <sched.h>

#include <cstdint>

namespace xpool::cpu {

class SpinWait {
 public:
  // One step of the wait: a pause for the first kPauses calls, then a yield.
  void once() {
    if (count_ < kPauses) {
      ++count_;
      relax();
    } else {
      sched_yield();
    }
  }

 private:
  // About 2-5 us of pausing on current x86 cores (pause is 40-140 cycles).
  static constexpr uint32_t kPauses = 128;

  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
  }

  uint32_t count_ = 0;
};

}  // namespace xpool::cpu
