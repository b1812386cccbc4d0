#include "options.h"

#include <strings.h>
#include <algorithm>

namespace xccl_bench {
namespace {

template <typename T, typename NameOf>
std::vector<std::string> spellings(const std::vector<T> &values, NameOf name_of) {
  std::vector<std::string> out;
  for (const T &value : values) out.emplace_back(name_of(value));
  return out;
}

}  // namespace

void addCommonOptions(CLI::App &app, Options &options, const Choices &choices) {
  // A later value wins, so that a script's defaults can be overridden by
  // options appended after them.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  Options::Spelled &held = options.spelled;
  held.offered = choices.colls;
  std::vector<std::string> ops = spellings(choices.colls, collName);
  ops.emplace_back("all");
  app.add_option("--op", held.ops, "Collectives to measure (comma-separated), or all")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->delimiter(',')
      ->check(CLI::IsMember(ops, CLI::ignore_case))
      ->capture_default_str();
  // AsSizeValue(false): K, M, G are powers of 1024, as in nccl-tests.
  app.add_option("-b,--min-bytes", options.min_bytes, "Smallest size (bytes, K/M/G suffixes)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  app.add_option("-e,--max-bytes", options.max_bytes, "Largest size (bytes, K/M/G suffixes)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  app.add_option("-f,--step-factor", options.step_factor, "Multiply the size by this each step")
      ->check(CLI::Range(2, 1024))
      ->capture_default_str();
  app.add_option("-n,--iters", options.iters, "Timed calls per size")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("-w,--warmup", options.warmup, "Untimed calls before each timed loop")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  app.add_option("-c,--check", options.check, "Check results (1) or not (0)")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  // xccl's names, and nccl-tests' where they differ ("float", "half").
  std::vector<std::string> types = spellings(choices.types, typeName);
  for (const std::string &alias : spellings(choices.types, ncclTestsTypeName)) {
    if (std::find(types.begin(), types.end(), alias) == types.end()) types.push_back(alias);
  }
  app.add_option("-d,--datatype", held.type, "Element type")
      ->check(CLI::IsMember(types, CLI::ignore_case))
      ->capture_default_str();
  app.add_option("-o,--redop", held.redop, "Reduction operator")
      ->check(CLI::IsMember(spellings(choices.ops, redOpName), CLI::ignore_case))
      ->capture_default_str();
  app.add_option("-r,--root", options.root, "Root rank of broadcast and reduce")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--json", options.json, "Also write the results to this JSON file");
  if (choices.self_launch) {
    app.add_option("--np", options.np, "Launch this many ranks of this program on this host")
        ->check(CLI::Range(1, 1024));
    app.add_option("--timeout", options.timeout_s,
                   "With --np: seconds before the ranks still running are killed")
        ->check(CLI::Range(1, 86400))
        ->capture_default_str();
  }
}

void finishOptions(Options &options, int argc, char **argv) {
  const Options::Spelled &held = options.spelled;
  options.colls.clear();
  for (const std::string &name : held.ops) {
    const std::vector<Coll> named =
        strcasecmp(name.c_str(), "all") == 0 ? held.offered : std::vector<Coll>{*parseColl(name)};
    for (Coll coll : named) {  // each once, in the order asked
      if (std::find(options.colls.begin(), options.colls.end(), coll) == options.colls.end()) {
        options.colls.push_back(coll);
      }
    }
  }
  options.type = *parseType(held.type);
  options.op = *parseRedOp(held.redop);
  if (options.min_bytes == 0) options.min_bytes = 1;
  if (options.min_bytes > options.max_bytes) {
    throw CLI::ValidationError(
        "--min-bytes", "must not exceed --max-bytes (" + std::to_string(options.max_bytes) + ")");
  }
  options.command_line.clear();
  for (int i = 0; i < argc; ++i) options.command_line += (i ? " " : "") + std::string(argv[i]);
}

}  // namespace xccl_bench
