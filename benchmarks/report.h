// Results of a run, the tables printed as they come, and the JSON file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace membench {

// Targets: xpool within 3% of raw bandwidth for copies of 16 MiB and more,
// within 15% of raw launch latency.
constexpr size_t kCopyTargetFromBytes = size_t{16} << 20;
constexpr double kCopyTargetRatio = 0.97;    // xpool GB/s / raw GB/s at least
constexpr double kLaunchTargetRatio = 1.15;  // xpool us / raw us at most

struct CopyRow {
  size_t bytes = 0;
  double xpool_gbps = 0;
  // Every raw variant measured ("memcpy 1T", ...); raw = the fastest.
  std::vector<std::pair<std::string, double>> raw_variants;
  std::optional<double> raw() const;
  std::optional<double> ratio() const;  // xpool / raw
  bool belowTarget() const;
};

struct CopySection {
  std::string key;                       // "h2d", "d2h", "d2d", "cross" (JSON)
  std::string title;                     // for the table
  int src_device = -1, dst_device = -1;  // -1: host
  std::string raw_note;                  // what raw means here, or why there is none
  std::vector<CopyRow> rows;
};

struct LaunchRow {
  std::string key, title;  // "latency" / "launch + synchronize", ...
  double xpool_us = 0;
  std::optional<double> raw_us;
  std::optional<double> ratio() const;  // xpool / raw
  bool belowTarget() const;
};

struct LaunchSection {
  std::string note;  // what raw means, or why it was not measured
  std::vector<LaunchRow> rows;
};

struct DeviceReport {
  int device = 0;
  std::string backend, name, raw;
  std::vector<CopySection> copies;
  std::optional<LaunchSection> launch;
};

struct RunInfo {
  std::string version, command_line;
  bool quick = false;
  size_t max_size = 0;
  std::string host;                   // cores and load when the run started
  std::vector<std::string> backends;  // one line each
};

struct Report {
  RunInfo info;
  std::vector<DeviceReport> devices;
  std::vector<CopySection> cross;
  std::vector<std::string> notes;
};

// "4 KiB", "16 MiB", "1 GiB".
std::string sizeLabel(size_t bytes);

void printHeader(const RunInfo &info);
void printDeviceHeader(const DeviceReport &device);
// A copy table: the header (with a variants column when `variants`), then
// one row at a time as each is measured.
void printCopyHeader(const CopySection &section, bool variants);
void printCopyRow(const CopyRow &row, bool variants);
void printLaunchSection(const LaunchSection &section);
void printNote(const std::string &note);
// The measurements below target, listed; returns how many.
int printSummary(const Report &report);
// Writes the whole report; false (with a message on stderr) on failure.
bool writeJson(const Report &report, const std::string &path);

}  // namespace membench
