// main() of the conformance executables. Parameters are generated from the
// pool, so the runtime is initialised before gtest registers its tests; the
// matching xpShutdown runs in the global environment's TearDown.
//
// The executables set their environment defaults here (as well as through
// ctest's ENVIRONMENT) so that gtest_discover_tests, which lists the tests
// outside ctest's test environment, sees the same devices the run will:
//  XPOOL_CONFORMANCE_BACKENDS      default for XPOOL_BACKENDS (kept if already set)
//  XPOOL_CONFORMANCE_CPU_DEVICES   forces XPOOL_CPU_DEVICES
//  XPOOL_CONFORMANCE_POCL_DEVICES  forces POCL_DEVICES
#include <cstdio>
#include <cstdlib>
#include <string>

#include "conformance.h"

namespace {

class RuntimeEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (conformance::InitStatus() == XP_SUCCESS) {
      const xpStatus status = xpShutdown();
      if (status != XP_SUCCESS)
        std::fprintf(stderr, "xpShutdown failed: %s: %s\n", xpStatusName(status), xpGetLastError());
    }
  }
};

}  // namespace

int main(int argc, char **argv) {
#ifdef XPOOL_CONFORMANCE_BACKENDS
  setenv("XPOOL_BACKENDS", XPOOL_CONFORMANCE_BACKENDS, 0);
#endif
#ifdef XPOOL_CONFORMANCE_CPU_DEVICES
  setenv("XPOOL_CPU_DEVICES", XPOOL_CONFORMANCE_CPU_DEVICES, 1);
#endif
#ifdef XPOOL_CONFORMANCE_POCL_DEVICES
  setenv("POCL_DEVICES", XPOOL_CONFORMANCE_POCL_DEVICES, 1);
#endif
  const xpStatus status = xpInit();
  conformance::RecordInit(status, status == XP_SUCCESS ? std::string() : xpGetLastError());
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new RuntimeEnvironment);
  return RUN_ALL_TESTS();
}
