// Copy bandwidth, xpool against raw: host->device, device->host and
// device->device on one device, and device->device across two devices of
// different backends (raw: a D2H then an H2D through pinned memory by hand).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bench.h"
#include "report.h"

namespace membench {

class CopyBench {
 public:
  CopyBench(const HostBuffers &host, const TimingPlan &plan) : host_(host), plan_(plan) {}

  // h2d, d2h, d2d of one device, each printed as soon as measured. Leaves
  // buffer a (xpool's and raw's) holding the reference pattern.
  std::vector<CopySection> device(BenchDevice &device, const std::vector<size_t> &sizes);
  // xpMemcpy from `from`'s buffer a to `to`'s buffer b.
  CopySection cross(BenchDevice &from, BenchDevice &to, const std::vector<size_t> &sizes);

 private:
  // One way of doing a copy of the row's size: xpool, or a raw variant.
  struct Contender {
    std::string name;
    std::function<void()> copy;
    std::function<void()> clear;           // zeroes the destination
    std::function<const void *()> result;  // a host view of the destination
  };
  enum class Direction { kHostToDevice, kDeviceToHost, kDeviceToDevice };
  // xpool, then every raw variant, copying `bytes` in `direction` on `device`.
  std::vector<Contender> contenders(BenchDevice &device, Direction direction, size_t bytes);
  // Times the contenders against each other (the first is xpool), then
  // checks one copy of each: destination cleared, copied, compared.
  CopyRow row(const std::string &what, size_t bytes, const std::vector<Contender> &contenders);
  // host_.dst zeroed, then filled by `read`.
  const void *readBack(size_t bytes, const std::function<void()> &read);

  HostBuffers host_;
  TimingPlan plan_;
};

}  // namespace membench
