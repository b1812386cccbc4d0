#include "report.h"

#include <cstdio>
#include <fstream>

namespace membench {

namespace {

constexpr const char *kMarker = "<<";

std::string format(const char *fmt, double value) {
  char text[64];
  std::snprintf(text, sizeof text, fmt, value);
  return text;
}

std::string orNa(const std::optional<double> &value, const char *fmt) {
  return value ? format(fmt, *value) : "n/a";
}

std::string jsonString(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string jsonNumber(const std::optional<double> &value) {
  return value ? format("%.6g", *value) : "null";
}

std::string copyJson(const CopySection &section, const std::string &indent) {
  std::string out = indent + "{\"section\": " + jsonString(section.key) +
                    ", \"title\": " + jsonString(section.title) +
                    ", \"src_device\": " + std::to_string(section.src_device) +
                    ", \"dst_device\": " + std::to_string(section.dst_device) +
                    ", \"raw\": " + jsonString(section.raw_note) + ", \"rows\": [";
  for (size_t i = 0; i < section.rows.size(); ++i) {
    const CopyRow &row = section.rows[i];
    out += i == 0 ? "\n" : ",\n";
    out += indent + "  {\"bytes\": " + std::to_string(row.bytes) +
           ", \"xpool_gbps\": " + jsonNumber(row.xpool_gbps) +
           ", \"raw_gbps\": " + jsonNumber(row.raw()) + ", \"ratio\": " + jsonNumber(row.ratio()) +
           ", \"below_target\": " + (row.belowTarget() ? "true" : "false") +
           ", \"raw_variants\": {";
    for (size_t v = 0; v < row.raw_variants.size(); ++v) {
      out += (v == 0 ? "" : ", ") + jsonString(row.raw_variants[v].first) + ": " +
             jsonNumber(row.raw_variants[v].second);
    }
    out += "}}";
  }
  return out + "]}";
}

}  // namespace

std::optional<double> CopyRow::raw() const {
  std::optional<double> best;
  for (const auto &[name, gbps] : raw_variants) {
    if (!best || gbps > *best) best = gbps;
  }
  return best;
}

std::optional<double> CopyRow::ratio() const {
  auto r = raw();
  if (!r || *r <= 0) return std::nullopt;
  return xpool_gbps / *r;
}

bool CopyRow::belowTarget() const {
  auto r = ratio();
  return bytes >= kCopyTargetFromBytes && r && *r < kCopyTargetRatio;
}

std::optional<double> LaunchRow::ratio() const {
  if (!raw_us || *raw_us <= 0) return std::nullopt;
  return xpool_us / *raw_us;
}

bool LaunchRow::belowTarget() const {
  auto r = ratio();
  return r && *r > kLaunchTargetRatio;
}

std::string sizeLabel(size_t bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  size_t value = bytes;
  while (value >= 1024 && value % 1024 == 0 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return std::to_string(value) + " " + units[unit];
}

void printHeader(const RunInfo &info) {
  std::printf("%s -- memory and launch benchmark\n", info.version.c_str());
  std::printf("command: %s\n", info.command_line.c_str());
  std::printf("host: %s\n", info.host.c_str());
  std::printf("backends:\n");
  for (const std::string &line : info.backends) std::printf("  %s\n", line.c_str());
  std::printf(
      "method: one warm-up, then the median of repetitions timed with steady_clock (about %s\n"
      "  per measurement); tiny operations are timed in batches. GB/s with GB = 1e9 bytes.\n"
      "  Host memory is pinned (xpMallocHost), every buffer is allocated and touched once and\n"
      "  reused; xpool copies are synchronous xpMemcpy calls. device->device counts the bytes\n"
      "  copied once (the memory traffic, read + write, is twice that). Every copy's result is\n"
      "  checked once per size.\n"
      "ratio = xpool / raw: for bandwidth higher is better, for latency lower is better.\n"
      "targets: copies >= %s within 3%% of raw (ratio >= %.2f); launch within 15%% of raw\n"
      "  (ratio <= %.2f). %s marks a measurement below its target.\n",
      info.quick ? "0.02 s" : "0.2 s", sizeLabel(kCopyTargetFromBytes).c_str(), kCopyTargetRatio,
      kLaunchTargetRatio, kMarker);
  std::fflush(stdout);
}

void printDeviceHeader(const DeviceReport &device) {
  std::printf("\n== device %d: %s (%s backend)\n   raw: %s\n", device.device, device.name.c_str(),
              device.backend.c_str(), device.raw.c_str());
  std::fflush(stdout);
}

void printCopyHeader(const CopySection &section, bool variants) {
  std::printf("\n  -- %s\n", section.title.c_str());
  if (!section.raw_note.empty()) std::printf("     raw: %s\n", section.raw_note.c_str());
  std::printf("  %10s %12s %12s %8s   %s\n", "size", "xpool GB/s", "raw GB/s", "ratio",
              variants ? "raw variants (GB/s)" : "");
  std::fflush(stdout);
}

void printCopyRow(const CopyRow &row, bool variants) {
  std::string detail;
  if (variants) {
    for (const auto &[name, gbps] : row.raw_variants) {
      detail += (detail.empty() ? "" : ", ") + name + " " + format("%.2f", gbps);
    }
  }
  std::printf("  %10s %12.2f %12s %8s %-2s %s\n", sizeLabel(row.bytes).c_str(), row.xpool_gbps,
              orNa(row.raw(), "%.2f").c_str(), orNa(row.ratio(), "%.3f").c_str(),
              row.belowTarget() ? kMarker : "", detail.c_str());
  std::fflush(stdout);
}

void printLaunchSection(const LaunchSection &section) {
  std::printf("\n  -- empty kernel launch\n");
  if (!section.note.empty()) std::printf("     raw: %s\n", section.note.c_str());
  if (section.rows.empty()) return;
  std::printf("  %-40s %12s %12s %8s\n", "", "xpool", "raw", "ratio");
  for (const LaunchRow &row : section.rows) {
    std::printf("  %-40s %12.3f %12s %8s %s\n", row.title.c_str(), row.xpool_us,
                orNa(row.raw_us, "%.3f").c_str(), orNa(row.ratio(), "%.3f").c_str(),
                row.belowTarget() ? kMarker : "");
  }
  std::fflush(stdout);
}

void printNote(const std::string &note) {
  std::printf("     note: %s\n", note.c_str());
  std::fflush(stdout);
}

int printSummary(const Report &report) {
  std::vector<std::string> misses;
  auto copies = [&](const std::string &where, const CopySection &section) {
    for (const CopyRow &row : section.rows) {
      if (!row.belowTarget()) continue;
      misses.push_back(where + section.title + ", " + sizeLabel(row.bytes) + ": xpool " +
                       format("%.2f", row.xpool_gbps) + " GB/s vs raw " +
                       format("%.2f", *row.raw()) + " GB/s (ratio " + format("%.3f", *row.ratio()) +
                       ", target >= " + format("%.2f", kCopyTargetRatio) + ")");
    }
  };
  for (const DeviceReport &device : report.devices) {
    const std::string where =
        "device " + std::to_string(device.device) + " (" + device.backend + ") ";
    for (const CopySection &section : device.copies) copies(where, section);
    if (!device.launch) continue;
    for (const LaunchRow &row : device.launch->rows) {
      if (!row.belowTarget()) continue;
      misses.push_back(where + row.title + ": xpool " + format("%.3f", row.xpool_us) +
                       " us vs raw " + format("%.3f", *row.raw_us) + " us (ratio " +
                       format("%.3f", *row.ratio()) +
                       ", target <= " + format("%.2f", kLaunchTargetRatio) + ")");
    }
  }
  for (const CopySection &section : report.cross) copies("", section);

  std::printf("\n== summary\n");
  for (const std::string &note : report.notes) std::printf("  note: %s\n", note.c_str());
  if (misses.empty()) {
    std::printf("  every measurement with a target meets it\n");
  } else {
    std::printf("  %zu measurement(s) below target (reported, not failed):\n", misses.size());
    for (const std::string &miss : misses) std::printf("  %s %s\n", kMarker, miss.c_str());
  }
  std::fflush(stdout);
  return static_cast<int>(misses.size());
}

bool writeJson(const Report &report, const std::string &path) {
  std::string out =
      "{\n  \"tool\": \"xpool-membench\",\n  \"version\": " + jsonString(report.info.version) +
      ",\n  \"command_line\": " + jsonString(report.info.command_line) +
      ",\n  \"quick\": " + (report.info.quick ? "true" : "false") +
      ",\n  \"max_size\": " + std::to_string(report.info.max_size) +
      ",\n  \"host\": " + jsonString(report.info.host) +
      ",\n  \"units\": {\"bandwidth\": \"GB/s, GB = 1e9 bytes, d2d counts bytes "
      "copied once\", \"latency\": \"microseconds\", \"ratio\": \"xpool / raw\"}" +
      ",\n  \"targets\": {\"copy_min_ratio\": " + jsonNumber(kCopyTargetRatio) +
      ", \"copy_from_bytes\": " + std::to_string(kCopyTargetFromBytes) +
      ", \"launch_max_ratio\": " + jsonNumber(kLaunchTargetRatio) + "}" + ",\n  \"backends\": [";
  for (size_t i = 0; i < report.info.backends.size(); ++i) {
    out += (i == 0 ? "" : ", ") + jsonString(report.info.backends[i]);
  }
  out += "],\n  \"devices\": [";
  for (size_t d = 0; d < report.devices.size(); ++d) {
    const DeviceReport &device = report.devices[d];
    out += d == 0 ? "\n" : ",\n";
    out += "    {\"device\": " + std::to_string(device.device) +
           ", \"backend\": " + jsonString(device.backend) +
           ", \"name\": " + jsonString(device.name) + ", \"raw\": " + jsonString(device.raw) +
           ",\n     \"copies\": [";
    for (size_t s = 0; s < device.copies.size(); ++s) {
      out += (s == 0 ? "\n" : ",\n") + copyJson(device.copies[s], "       ");
    }
    out += "],\n     \"launch\": ";
    if (!device.launch) {
      out += "null}";
      continue;
    }
    out += "{\"raw\": " + jsonString(device.launch->note) + ", \"rows\": [";
    for (size_t r = 0; r < device.launch->rows.size(); ++r) {
      const LaunchRow &row = device.launch->rows[r];
      out += (r == 0 ? "" : ", ") + std::string("{\"measure\": ") + jsonString(row.key) +
             ", \"xpool_us\": " + jsonNumber(row.xpool_us) +
             ", \"raw_us\": " + jsonNumber(row.raw_us) + ", \"ratio\": " + jsonNumber(row.ratio()) +
             ", \"below_target\": " + (row.belowTarget() ? "true" : "false") + "}";
    }
    out += "]}}";
  }
  out += "],\n  \"cross_backend\": [";
  for (size_t s = 0; s < report.cross.size(); ++s) {
    out += (s == 0 ? "\n" : ",\n") + copyJson(report.cross[s], "    ");
  }
  out += "],\n  \"notes\": [";
  for (size_t i = 0; i < report.notes.size(); ++i) {
    out += (i == 0 ? "" : ", ") + jsonString(report.notes[i]);
  }
  out += "]\n}\n";
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << out;
  file.close();
  if (!file) {
    std::fprintf(stderr, "xpool-membench: cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

}  // namespace membench
