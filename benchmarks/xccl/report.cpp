#include "report.h"

#include <nlohmann/json.hpp>

#include <unistd.h>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace xccl_bench {
namespace {

// nccl-tests' time column: fewer decimals as the time grows.
std::string timeText(double us) {
  char text[32];
  std::snprintf(text, sizeof text, us >= 10000.0 ? "%7.0f" : us >= 100.0 ? "%7.1f" : "%7.2f", us);
  return text;
}

std::string wrongText(long wrong) {
  return wrong < 0 ? "N/A" : std::to_string(wrong);
}

nlohmann::ordered_json toJson(const Measurement &m) {
  if (!m.measured) return nullptr;
  nlohmann::ordered_json out = {
      {"time_us", m.time_us}, {"algbw_gbps", m.algbw}, {"busbw_gbps", m.busbw}};
  out["wrong"] = m.wrong < 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(m.wrong);
  return out;
}

std::string hostName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "unknown";
  return host;
}

// Other processes skew every figure: say how busy the host was.
std::string hostNote() {
  std::ifstream file("/proc/loadavg");
  std::string one, five, fifteen;
  file >> one >> five >> fifteen;
  return "host " + hostName() + ": " + std::to_string(std::thread::hardware_concurrency()) +
         " CPUs, load average " + (one.empty() ? "unknown" : one + " " + five + " " + fifteen) +
         " at start";
}

}  // namespace

Measurement measurement(double time_us, size_t bytes, double busbw_factor, long wrong) {
  Measurement m;
  m.measured = true;
  m.time_us = time_us;
  m.algbw = time_us > 0 ? static_cast<double>(bytes) / 1e3 / time_us : 0;  // bytes/us/1e3 = GB/s
  m.busbw = m.algbw * busbw_factor;
  m.wrong = wrong;
  return m;
}

std::string rankLine(int rank, const std::string &device, const std::string &what) {
  char line[512];
  std::snprintf(line, sizeof line, "#  Rank %2d Group  0 Pid %6d on %10s device %2s [%s]", rank,
                static_cast<int>(getpid()), hostName().c_str(), device.c_str(), what.c_str());
  return line;
}

Report::Report(std::string tool, std::string library, bool printing)
    : tool_(std::move(tool)), library_(std::move(library)), printing_(printing) {}

void Report::preamble(const Options &options, int nranks, int threads,
                      const std::vector<std::string> &rank_lines,
                      const std::vector<std::string> &notes) {
  nranks_ = nranks;
  rank_lines_ = rank_lines;
  notes_ = notes;
  notes_.insert(notes_.begin(), hostNote());
  if (!printing_) return;
  std::printf("# %s: %s, %d ranks\n", tool_.c_str(), library_.c_str(), nranks);
  // nccl-tests' first line, with its fields, for tools that parse it.
  std::printf(
      "# nThread %d nGpus 1 minBytes %zu maxBytes %zu step: %zu(factor) warmup iters: %d "
      "iters: %d agg iters: 1 validation: %d graph: 0\n",
      threads, options.min_bytes, options.max_bytes, options.step_factor, options.warmup,
      options.iters, options.check);
  std::printf("#\n# Using devices\n");
  for (const std::string &line : rank_lines) std::printf("%s\n", line.c_str());
  std::printf("#\n");
  for (const std::string &note : notes_) std::printf("# %s\n", note.c_str());
  std::fflush(stdout);
}

void Report::beginSection(Coll coll, const std::string &variant) {
  sections_.push_back(Section{collName(coll), variant, {}});
  if (!printing_) return;
  if (variant.empty()) {
    std::printf("#\n# Collective: %s\n", collName(coll));
  } else {
    std::printf("#\n# Collective: %s (%s)\n", collName(coll), variant.c_str());
  }
  std::printf("# %10s  %12s  %8s  %6s  %6s           out-of-place                       in-place\n",
              "", "", "", "", "");
  std::printf("# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s %6s  %7s  %6s  %6s %6s  %7s\n", "size",
              "count", "type", "redop", "root", "time", "algbw", "busbw", "#wrong", "time", "algbw",
              "busbw", "#wrong", "memcpy");
  std::printf("# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %5s  %7s  %6s  %6s  %5s  %7s\n", "(B)",
              "(elements)", "", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(GB/s)", "(GB/s)",
              "", "(GB/s)");
  std::fflush(stdout);
}

void Report::addRow(const Row &row) {
  sections_.back().rows.push_back(row);
  for (const Measurement *m : {&row.out_of_place, &row.in_place}) {
    if (!m->measured) continue;
    if (m->wrong > 0) wrong_total_ += m->wrong;
    busbw_sum_ += m->busbw;
    ++busbw_count_;
  }
  if (!printing_) return;
  std::printf("%12zu  %12zu  %8s  %6s  %6i", row.bytes, row.count, row.type.c_str(),
              row.redop.c_str(), row.root);
  for (const Measurement *m : {&row.out_of_place, &row.in_place}) {
    if (m->measured) {
      std::printf("  %7s  %6.2f  %6.2f  %5s", timeText(m->time_us).c_str(), m->algbw, m->busbw,
                  wrongText(m->wrong).c_str());
    } else {
      std::printf("  %7s  %6s  %6s  %5s", "N/A", "N/A", "N/A", "N/A");
    }
  }
  std::printf("  %7.2f\n", row.memcpy_gbps);
  std::fflush(stdout);
}

void Report::finish() {
  if (!printing_) return;
  std::printf("# Out of bounds values : %ld %s\n", wrong_total_, wrong_total_ ? "FAILED" : "OK");
  std::printf("# Avg bus bandwidth    : %g\n#\n", busbw_count_ ? busbw_sum_ / busbw_count_ : 0.0);
  std::fflush(stdout);
}

void Report::writeJson(const Options &options) const {
  if (!printing_ || options.json.empty()) return;
  nlohmann::ordered_json sections = nlohmann::ordered_json::array();
  for (const Section &section : sections_) {
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const Row &row : section.rows) {
      rows.push_back({{"bytes", row.bytes},
                      {"count", row.count},
                      {"type", row.type},
                      {"redop", row.redop},
                      {"root", row.root},
                      {"out_of_place", toJson(row.out_of_place)},
                      {"in_place", toJson(row.in_place)},
                      {"memcpy_gbps", row.memcpy_gbps}});
    }
    sections.push_back(
        {{"collective", section.collective}, {"variant", section.variant}, {"rows", rows}});
  }
  const nlohmann::ordered_json doc = {
      {"tool", tool_},
      {"library", library_},
      {"command_line", options.command_line},
      {"nranks", nranks_},
      {"iters", options.iters},
      {"warmup", options.warmup},
      {"check", options.check != 0},
      {"ranks", rank_lines_},
      {"notes", notes_},
      {"sections", sections},
      {"wrong_total", wrong_total_},
      {"avg_busbw_gbps", busbw_count_ ? busbw_sum_ / busbw_count_ : 0.0}};
  std::ofstream file(options.json);
  file << doc.dump(2) << "\n";
  if (!file) throw std::runtime_error("cannot write " + options.json);
}

}  // namespace xccl_bench
