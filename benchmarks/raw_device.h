// The "raw" peer of an xpool device: the API underneath its backend (plain
// host code for cpu devices, OpenCL for opencl devices) driven directly, so
// that every xpool figure can be set against what the hardware and vendor
// stack give without xpool in between. Every call is synchronous and throws
// std::runtime_error on failure.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace membench {

// The two device buffers every benchmarked device holds ("a" and "b").
enum class Buf { kA = 0, kB = 1 };

class RawDevice {
 public:
  virtual ~RawDevice() = default;

  // What "raw" means for this device, for the table header.
  virtual std::string describe() const = 0;
  // Ways of doing a copy (e.g. one thread and two threads); each raw copy is
  // measured with every variant and the fastest one is compared against.
  virtual std::vector<std::string> copyVariants() const { return {"raw"}; }
  // Whether allocate() takes memory of its own (false: it reuses xpool's).
  virtual bool ownsBuffers() const = 0;
  // Makes buffers a and b of `bytes` each and touches them once.
  virtual void allocate(size_t bytes) = 0;

  virtual void toDevice(int variant, Buf dst, const void *src, size_t bytes) = 0;
  virtual void toHost(int variant, void *dst, Buf src, size_t bytes) = 0;
  virtual void deviceToDevice(int variant, Buf dst, Buf src, size_t bytes) = 0;
  virtual void fill(Buf dst, int value, size_t bytes) = 0;

  // The empty kernel: launch() starts one (or runs it), synchronize() waits
  // for every launch so far.
  virtual void launch() = 0;
  virtual void synchronize() = 0;
  // A lower bound printed beside the launch rows and never compared against
  // (e.g. a direct call of a cpu kernel function: no queue, no other
  // thread). An empty name: none.
  virtual std::string launchFloorName() const { return {}; }
  virtual void launchFloor() {}
};

}  // namespace membench
