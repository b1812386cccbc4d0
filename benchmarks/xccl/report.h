// The results table in nccl-tests' layout (so that scripts written for
// nccl-tests read it), one section per collective, with a memcpy(GB/s)
// column added at the end; and the same results as JSON.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "options.h"

namespace xccl_bench {

struct Measurement {
  bool measured = false;  // false: this variant does not exist (printed N/A)
  double time_us = 0;     // mean over ranks of the mean time per call
  double algbw = 0;       // GB/s (1e9): size / time
  double busbw = 0;       // algbw * the collective's factor
  long wrong = -1;        // wrong elements over all ranks; -1: not checked
};

struct Row {
  size_t bytes = 0;  // nccl-tests "size": per rank, the larger of send and receive
  size_t count = 0;  // the count argument
  std::string type, redop;
  int root = -1;
  Measurement out_of_place, in_place;
  double memcpy_gbps = 0;  // one thread copying `bytes`: the memory ceiling
};

// algbw and busbw of a call that took `time_us` on average.
Measurement measurement(double time_us, size_t bytes, double busbw_factor, long wrong);

// "#  Rank  0 Group  0 Pid   1234 on       host device  0 [cpu] name": one
// line per rank in the preamble, as nccl-tests prints them.
std::string rankLine(int rank, const std::string &device, const std::string &what);

class Report {
 public:
  // Only the printing rank (0) prints and writes files; every rank may hold
  // a Report so that the measuring code need not ask.
  Report(std::string tool, std::string library, bool printing);

  void preamble(const Options &options, int nranks, int threads,
                const std::vector<std::string> &rank_lines, const std::vector<std::string> &notes);
  // "# Collective: allreduce", or "# Collective: allreduce (AllreduceRing)"
  // when a program measures several variants, then the column headers.
  void beginSection(Coll coll, const std::string &variant);
  void addRow(const Row &row);
  // nccl-tests' footer: the total of wrong elements and the mean busbw.
  void finish();
  // Writes the JSON file named by --json (nothing when empty). Throws on error.
  void writeJson(const Options &options) const;

  long wrongTotal() const { return wrong_total_; }

 private:
  struct Section {
    std::string collective, variant;
    std::vector<Row> rows;
  };
  std::string tool_, library_;
  bool printing_;
  int nranks_ = 0;
  std::vector<std::string> rank_lines_, notes_;
  std::vector<Section> sections_;
  long wrong_total_ = 0;
  double busbw_sum_ = 0;
  int busbw_count_ = 0;
};

}  // namespace xccl_bench
