// The command line the three programs share (nccl-tests' -b -e -f -n -w -c
// -d -o -r plus --op, --json, and --np/--timeout for those that launch
// their own ranks), so that one set of arguments drives all of them.
#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "collective.h"
#include "datatypes.h"

namespace xccl_bench {

struct Options {
  std::vector<Coll> colls;  // --op (a comma-separated list), "all" expanded
  size_t min_bytes = 8;
  size_t max_bytes = size_t{256} << 20;
  size_t step_factor = 2;
  int iters = 20;
  int warmup = 5;  // untimed calls before each timed loop
  int check = 1;   // 0: no result check
  DataType type = DataType::kFloat32;
  RedOp op = RedOp::kSum;
  int root = 0;
  std::string json;  // also write the results here
  int np = 0;        // > 0: launch this many ranks of ourselves
  int timeout_s = 1800;
  std::string command_line;

  // As spelled on the command line, until finishOptions turns them into the
  // enums above.
  struct Spelled {
    std::vector<std::string> ops{"all"};
    std::string type = "float32", redop = "sum";
    std::vector<Coll> offered;  // what "all" means for this program
  } spelled;
};

// What a program supports; the options accept nothing else.
struct Choices {
  std::vector<Coll> colls;
  std::vector<DataType> types;
  std::vector<RedOp> ops;
  bool self_launch = false;  // offers --np and --timeout
};

// Adds the shared options to `app`, writing into `options`. Call
// finishOptions after app.parse.
void addCommonOptions(CLI::App &app, Options &options, const Choices &choices);
// Turns the parsed names into enums, checks the sizes, records argv. Throws
// CLI::ValidationError when the combination is wrong.
void finishOptions(Options &options, int argc, char **argv);

}  // namespace xccl_bench
