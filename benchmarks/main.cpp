// xpool-membench: copy bandwidth and empty-kernel launch cost of every device
// in the pool, each measured through xpool and through the raw API under its
// backend in the same run, printed side by side with the ratio xpool/raw.
//
// Exit codes: 0 measured (targets missed are reported, not failed), 1 a copy
// delivered wrong data, 2 a call failed or nothing could be measured.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "bench.h"
#include "copy_bench.h"
#include "launch_bench.h"
#include "raw_cpu.h"
#include "raw_cuda.h"
#include "raw_opencl.h"
#include "report.h"

namespace {

using namespace membench;

struct Options {
  size_t max_size = size_t{1} << 30;
  bool quick = false;
  std::string json;
};

constexpr size_t kQuickMaxSize = size_t{16} << 20;
constexpr size_t kSizes[] = {size_t{4} << 10,  size_t{64} << 10,  size_t{1} << 20,
                             size_t{16} << 20, size_t{256} << 20, size_t{1} << 30};

// Bytes the host can still give (MemAvailable), 0 when unknown.
uint64_t hostMemoryAvailable() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  uint64_t kib = 0;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

// "1.23 0.80 0.40" from /proc/loadavg: other processes skew the figures.
std::string loadAverage() {
  std::ifstream file("/proc/loadavg");
  std::string one, five, fifteen;
  file >> one >> five >> fifteen;
  return one.empty() ? "unknown" : one + " " + five + " " + fifteen;
}

std::vector<std::string> backendLines() {
  std::vector<std::string> lines;
  int count = 0;
  xpCheck(xpBackendCount(&count), "xpBackendCount");
  for (int i = 0; i < count; ++i) {
    xpBackendInfo info{};
    info.struct_size = sizeof info;
    xpCheck(xpBackendGetInfo(i, &info), "xpBackendGetInfo");
    std::string line = std::string(info.name) + ": ";
    if (info.available) {
      line += std::to_string(info.device_count) + " device(s) from " +
              std::to_string(info.first_device) + (info.vendor_version[0] ? ", " : "") +
              info.vendor_version;
    } else {
      line += std::string("unavailable: ") + info.reason;
    }
    lines.push_back(line);
  }
  return lines;
}

// OpenCL raw peers have buffers of their own (cpu ones reuse xpool's).
bool rawOwnsBuffers(const xpDeviceProps &props) {
  return std::strcmp(props.backend, "opencl") == 0;
}

// The largest size of the list measured on a device: under max_size, with
// its two buffers (four when the raw peer owns two more) in 90% of it.
size_t deviceMaxBytes(const xpDeviceProps &props, size_t max_size) {
  const uint64_t usable = props.memory_total / (rawOwnsBuffers(props) ? 4 : 2) * 9 / 10;
  size_t best = 0;
  for (size_t size : kSizes) {
    if (size <= max_size && size <= usable) best = size;
  }
  return best;
}

// Sizes up to `max_size`, without those whose buffers would not fit in 80% of
// the host's available memory all at once (cpu and PoCL devices are host
// memory too); a note says what was dropped.
std::vector<size_t> fitSizes(const std::vector<BenchDevice> &devices, size_t max_size,
                             Report &report) {
  std::vector<size_t> sizes;
  for (size_t size : kSizes) {
    if (size <= max_size) sizes.push_back(size);
  }
  auto needed = [&](size_t largest) {
    uint64_t bytes = 2 * uint64_t{largest};  // host src and dst
    for (const BenchDevice &device : devices) {
      bytes +=
          (rawOwnsBuffers(device.props) ? 4 : 2) * uint64_t{deviceMaxBytes(device.props, largest)};
    }
    return bytes;
  };
  const uint64_t available = hostMemoryAvailable();
  const size_t requested = sizes.back();
  while (available > 0 && needed(sizes.back()) > available / 10 * 8 && sizes.size() > 1) {
    sizes.pop_back();
  }
  if (sizes.back() < requested) {
    report.notes.push_back("sizes above " + sizeLabel(sizes.back()) + " skipped: all buffers (" +
                           std::to_string(needed(requested) >> 20) + " MiB at " +
                           sizeLabel(requested) + ") must fit in 80% of the available memory (" +
                           std::to_string(available >> 20) + " MiB)");
    std::printf("note: %s\n", report.notes.back().c_str());
  }
  return sizes;
}

std::unique_ptr<RawDevice> makeRaw(BenchDevice &device, std::string *note) {
  const std::string backend = device.props.backend;
  if (backend == "cpu") {
    return makeRawCpu(device.a, device.b, device.props.compute_units, XPOOL_MEMBENCH_EMPTY_KERNEL,
                      "empty");
  }
  if (backend == "opencl") {
    return makeRawOpenCL(device.props.backend_device, device.props.name, note);
  }
  if (backend == "cuda") {
    return makeRawCuda(device.props.backend_device, device.props.name, note);
  }
  *note = "n/a (xpool-membench has no raw implementation for the " + backend + " backend)";
  return nullptr;
}

// Allocates the device's buffers and its raw peer, touching all memory once
// so that no measurement pays first-touch page faults.
void prepare(BenchDevice &device, size_t max_size) {
  device.max_bytes = deviceMaxBytes(device.props, max_size);
  if (device.max_bytes == 0) return;
  xpCheck(xpMalloc(device.ordinal, device.max_bytes, &device.a), "xpMalloc");
  xpCheck(xpMalloc(device.ordinal, device.max_bytes, &device.b), "xpMalloc");
  xpCheck(xpMemset(device.a, 0, device.max_bytes), "xpMemset");
  xpCheck(xpMemset(device.b, 0, device.max_bytes), "xpMemset");
  try {  // without a raw peer the device is still measured through xpool
    device.raw = makeRaw(device, &device.raw_note);
    if (device.raw) {
      device.raw->allocate(device.max_bytes);
      device.raw_note = device.raw->describe();
    }
  } catch (const std::exception &error) {
    device.raw.reset();
    device.raw_note = std::string("n/a (") + error.what() + ")";
  }
}

RunInfo describeRun(const Options &options, const std::string &command_line) {
  RunInfo info;
  info.version = "xpool-membench (xpool " + std::to_string(XP_VERSION_MAJOR) + "." +
                 std::to_string(XP_VERSION_MINOR) + "." + std::to_string(XP_VERSION_PATCH) + ")";
  info.command_line = command_line;
  info.quick = options.quick;
  info.max_size = options.max_size;
  info.backends = backendLines();
  xpHostTopology topology{};
  topology.struct_size = sizeof topology;
  xpCheck(xpHostGetTopology(&topology), "xpHostGetTopology");
  info.host = std::string(topology.hostname) + ", " + std::to_string(topology.cores) + " cores, " +
              std::to_string(topology.memory_total >> 30) + " GiB; load average at start " +
              loadAverage();
  return info;
}

int run(const Options &options, const std::string &command_line) {
  xpCheck(xpInit(), "xpInit");
  Report report;
  report.info = describeRun(options, command_line);
  printHeader(report.info);
  int count = 0;
  xpCheck(xpDeviceCount(&count), "xpDeviceCount");
  if (count == 0) {
    std::fprintf(stderr, "xpool-membench: no devices in the pool (see the backends above)\n");
    xpShutdown();
    return 2;
  }
  std::vector<BenchDevice> devices(static_cast<size_t>(count));
  for (int d = 0; d < count; ++d) {
    BenchDevice &device = devices[static_cast<size_t>(d)];
    device.ordinal = d;
    device.props.struct_size = sizeof device.props;
    xpCheck(xpDeviceGetProperties(d, &device.props), "xpDeviceGetProperties");
  }
  const std::vector<size_t> sizes = fitSizes(devices, options.max_size, report);
  const size_t max_size = sizes.back();

  HostBuffers host;
  host.bytes = max_size;
  xpCheck(xpMallocHost(max_size, reinterpret_cast<void **>(&host.src)), "xpMallocHost");
  xpCheck(xpMallocHost(max_size, reinterpret_cast<void **>(&host.dst)), "xpMallocHost");
  fillPattern(host.src, max_size);
  std::memset(host.dst, 0, max_size);
  for (BenchDevice &device : devices) prepare(device, max_size);

  TimingPlan plan;
  if (options.quick) {
    plan.target_seconds = 0.02;
    plan.max_reps = 200;
  }
  CopyBench copies(host, plan);
  for (BenchDevice &device : devices) {
    DeviceReport entry{device.ordinal, device.props.backend, device.props.name, device.raw_note, {},
                       std::nullopt};
    printDeviceHeader(entry);
    if (device.max_bytes == 0) {
      printNote("copies skipped: the device has too little memory for the smallest size");
    } else {
      entry.copies = copies.device(device, sizes);
    }
    entry.launch = launchBench(device, options.quick, options.quick ? 100 : 1000);
    report.devices.push_back(std::move(entry));
  }

  bool header = false;
  for (BenchDevice &from : devices) {
    for (BenchDevice &to : devices) {
      if (std::strcmp(from.props.backend, to.props.backend) == 0) continue;
      if (from.max_bytes == 0 || to.max_bytes == 0) continue;
      if (!header) {
        std::printf(
            "\n== across backends: every ordered pair of devices of different backends\n"
            "   (xpool copies host-addressable memory, e.g. a cpu device's, to or from the other\n"
            "   device in one step; otherwise it stages through pinned host memory, pipelined)\n");
        header = true;
      }
      report.cross.push_back(copies.cross(from, to, sizes));
    }
  }

  report.notes.push_back("load average at the end " + loadAverage() +
                         " (other processes on these cores make every figure noisier)");
  printSummary(report);
  if (!options.json.empty()) {
    if (!writeJson(report, options.json)) return 2;
    std::printf("results written to %s\n", options.json.c_str());
  }

  for (BenchDevice &device : devices) {
    device.raw.reset();
    xpFree(device.a);
    xpFree(device.b);
  }
  xpFreeHost(host.src);
  xpFreeHost(host.dst);
  xpShutdown();
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  Options options;
  CLI::App app{
      "xpool-membench: copy bandwidth (host->device, device->host, device->device, across "
      "backends) and empty-kernel launch latency of every device in the pool, each through "
      "xpool and through the raw API underneath it, with the ratio xpool/raw."};
  app.add_option("--max-size", options.max_size,
                 "largest copy in bytes (suffixes K, M, G = KiB, MiB, GiB); sizes are 4 KiB, "
                 "64 KiB, 1 MiB, 16 MiB, 256 MiB, 1 GiB")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  app.add_flag("--quick", options.quick,
               "for CI: sizes up to 16 MiB, about 0.02 s per measurement");
  app.add_option("--json", options.json, "also write every result to this JSON file");
  app.footer(
      "Environment: XPOOL_BACKENDS=cpu,opencl selects backends, XPOOL_CPU_DEVICES=N splits the "
      "host into N cpu devices, POCL_DEVICES=\"basic basic\" gives two PoCL devices.\n"
      "Exit codes: 0 measured (targets missed are reported, not failed), 1 a copy delivered "
      "wrong data, 2 a call failed.");
  CLI11_PARSE(app, argc, argv);
  if (options.quick) options.max_size = std::min(options.max_size, kQuickMaxSize);
  if (options.max_size < kSizes[0]) {
    std::fprintf(stderr, "xpool-membench: --max-size must be at least %zu\n", kSizes[0]);
    return 2;
  }
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  try {
    return run(options, command_line);
  } catch (const VerifyError &error) {
    std::fflush(stdout);
    std::fprintf(stderr, "ERROR: %s\n", error.what());
    return 1;
  } catch (const std::exception &error) {
    std::fflush(stdout);
    std::fprintf(stderr, "ERROR: %s\n", error.what());
    return 2;
  }
}
