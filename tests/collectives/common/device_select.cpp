#include "common/device_select.h"

#include <cctype>
#include <cstdlib>

#include "xpool/runtime.h"

namespace xccltest {

int findDevice(const std::string &backend, int nth) {
  int count = 0;
  if (xpDeviceCount(&count) != XP_SUCCESS) return -1;
  int seen = 0;
  for (int d = 0; d < count; ++d) {
    xpDeviceProps props{};
    props.struct_size = sizeof props;
    if (xpDeviceGetProperties(d, &props) != XP_SUCCESS) continue;
    if (backend == props.backend && seen++ == nth) return d;
  }
  return -1;
}

int deviceFromEnvironment(std::string *error) {
  const char *text = std::getenv("XPOOL_DEVICE");
  if (text == nullptr || *text == '\0' || std::isdigit(static_cast<unsigned char>(*text))) {
    return -1;
  }
  std::string backend = text;
  int nth = 0;
  if (const size_t colon = backend.find(':'); colon != std::string::npos) {
    nth = std::atoi(backend.c_str() + colon + 1);
    backend.resize(colon);
  }
  const int device = findDevice(backend, nth);
  if (device < 0) {
    *error = "XPOOL_DEVICE=" + std::string(text) + ": no device " + std::to_string(nth) +
             " of backend '" + backend + "' (is it in XPOOL_BACKENDS, and available?)";
    return -2;
  }
  return device;
}

}  // namespace xccltest
