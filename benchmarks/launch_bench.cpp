#include "launch_bench.h"

#include <cstdio>
#include <cstring>

#include "raw_cuda.h"
#include "raw_opencl.h"

namespace membench {

namespace {

// The empty kernel loaded through xpool on the device, or nullptr.
xpModule loadEmptyModule(const BenchDevice &device) {
  xpModule module = nullptr;
  const std::string backend = device.props.backend;
  if (backend == "cpu") {
    xpCheck(xpModuleLoadFile(device.ordinal, XP_MODULE_SHARED_OBJECT, XPOOL_MEMBENCH_EMPTY_KERNEL,
                             nullptr, &module),
            "xpModuleLoadFile (empty cpu kernel)");
  } else if (backend == "opencl") {
    xpCheck(xpModuleLoadData(device.ordinal, XP_MODULE_OPENCL_C, kOpenClEmptyKernel,
                             std::strlen(kOpenClEmptyKernel), nullptr, &module),
            "xpModuleLoadData (empty OpenCL kernel)");
  } else if (backend == "cuda") {
    xpCheck(xpModuleLoadData(device.ordinal, XP_MODULE_PTX, kCudaEmptyKernelPtx,
                             std::strlen(kCudaEmptyKernelPtx), nullptr, &module),
            "xpModuleLoadData (empty PTX kernel)");
  }
  return module;
}

}  // namespace

LaunchSection launchBench(BenchDevice &device, bool quick, int back_to_back) {
  LaunchSection section;
  section.note = device.raw ? "" : device.raw_note;
  xpModule module = loadEmptyModule(device);
  if (module == nullptr) {
    section.note = std::string("not measured: xpool-membench has no empty kernel for the ") +
                   device.props.backend + " backend";
    printLaunchSection(section);
    return section;
  }
  xpKernel kernel = nullptr;
  xpStream stream = nullptr;
  xpCheck(xpModuleGetKernel(module, "empty", &kernel), "xpModuleGetKernel");
  xpCheck(xpStreamCreate(device.ordinal, &stream), "xpStreamCreate");
  auto launch = [&] {
    xpCheck(xpLaunchKernel(kernel, {1, 1, 1}, {1, 1, 1}, 0, stream, nullptr, nullptr, 0),
            "xpLaunchKernel");
  };
  auto sync = [&] { xpCheck(xpStreamSynchronize(stream), "xpStreamSynchronize"); };

  // Every launch + synchronize, and every batch of back-to-back launches,
  // timed on its own in long turns (see TurnPlan).
  TurnPlan turns;
  if (quick) turns = TurnPlan{2, 0.002, 0.005};

  LaunchRow latency{"latency_us", "launch + synchronize latency (us, median)", 0, {}};
  LaunchRow burst{"back_to_back_us", "back-to-back: N launches + 1 sync (us each)", 0, {}};
  RawDevice *raw = device.raw.get();
  std::vector<std::function<void()>> single_ops{[&] { launch(), sync(); }};
  std::vector<std::function<void()>> burst_ops{[&] {
    for (int i = 0; i < back_to_back; ++i) launch();
    sync();
  }};
  if (raw != nullptr) {
    single_ops.push_back([raw] { raw->launch(), raw->synchronize(); });
    burst_ops.push_back([raw, back_to_back] {
      for (int i = 0; i < back_to_back; ++i) raw->launch();
      raw->synchronize();
    });
  }
  const std::vector<double> single_s = medianCallSeconds(single_ops, turns);
  const std::vector<double> burst_s = medianCallSeconds(burst_ops, turns);
  latency.xpool_us = 1e6 * single_s[0];
  burst.xpool_us = 1e6 * burst_s[0] / back_to_back;
  if (raw != nullptr) {
    latency.raw_us = 1e6 * single_s[1];
    burst.raw_us = 1e6 * burst_s[1] / back_to_back;
  }
  xpCheck(xpStreamDestroy(stream), "xpStreamDestroy");
  xpCheck(xpModuleUnload(module), "xpModuleUnload");
  std::string floor_note;
  if (raw != nullptr && !raw->launchFloorName().empty()) {
    const double floor_s = medianCallSeconds({[raw] { raw->launchFloor(); }}, turns)[0];
    char text[200];
    std::snprintf(text, sizeof text, "floor (not a target): %s, %.3f us",
                  raw->launchFloorName().c_str(), 1e6 * floor_s);
    floor_note = text;
  }

  section.rows = {latency, burst};
  printLaunchSection(section);
  char note[200];
  std::snprintf(note, sizeof note, "back-to-back (N = %d): xpool %.0f launches/s", back_to_back,
                1e6 / burst.xpool_us);
  std::string text = note;
  if (burst.raw_us) {
    std::snprintf(note, sizeof note, ", raw %.0f launches/s", 1e6 / *burst.raw_us);
    text += note;
  }
  printNote(text);
  if (!floor_note.empty()) printNote(floor_note);
  return section;
}

}  // namespace membench
