// Device choice for test programs: XPOOL_DEVICE may name a backend
// ("opencl", "cpu:1") instead of a pool ordinal, so a launcher can place
// ranks on backends without knowing the ordinals (they depend on which
// backends loaded). xccl itself only takes ordinals; this mapping is the
// test's own.
#pragma once

#include <string>

namespace xccltest {

// The pool ordinal of the `nth` device (0-based) of backend `backend`, or -1.
// Needs xpInit.
int findDevice(const std::string &backend, int nth);

// Resolves XPOOL_DEVICE for xcclCommInitFromEnv: -1 when it is unset or a
// number (xccl reads it itself), the ordinal when it names a backend
// ("opencl" or "opencl:<n>"). On failure returns -2 and sets *error.
int deviceFromEnvironment(std::string *error);

}  // namespace xccltest
