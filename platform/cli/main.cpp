// xpool: the command-line tool. This file only wires the commands; each
// command lives in its own files (smi_*.cpp, topo.cpp).
//
// Exit codes: 0 success, 1 a runtime call failed (its message on stderr),
// 2 the command line was wrong.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "external_command.h"
#include "smi_collect.h"
#include "smi_render.h"
#include "table.h"
#include "xpool/runtime.h"

namespace {

constexpr int kExitRuntimeError = 1;
constexpr int kExitUsage = 2;

std::string VersionString() {
  return "xpool " + std::to_string(XP_VERSION_MAJOR) + "." + std::to_string(XP_VERSION_MINOR) +
         "." + std::to_string(XP_VERSION_PATCH);
}

constexpr const char *kEnvironmentHelp =
    "Environment:\n"
    "  XPOOL_BACKENDS       comma-separated backends to load (default: every plugin found)\n"
    "  XPOOL_BACKEND_PATH   extra folders to search for backend plugins\n"
    "  XPOOL_CPU_DEVICES    number of devices the cpu backend exposes\n"
    "  XPOOL_LOG_LEVEL      runtime log level (trace, debug, info, warn, error)\n"
    "  NO_COLOR             set to disable colour on a terminal\n";

int RunSmi(bool json, bool topo) {
  const xpool::cli::Snapshot snapshot = xpool::cli::Collect({.affinity = topo});
  std::string out;
  if (json) {
    out = topo ? xpool::cli::RenderTopoJson(snapshot) : xpool::cli::RenderSmiJson(snapshot);
  } else {
    const xpool::cli::TextOptions options{xpool::cli::StdoutWantsColor(),
                                          xpool::cli::StdoutTerminalWidth()};
    out = topo ? xpool::cli::RenderTopoText(snapshot, options)
               : xpool::cli::RenderSmiText(snapshot, options);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  if (snapshot.ok()) return 0;
  const std::string errors = xpool::cli::RenderErrors(snapshot);
  std::fwrite(errors.data(), 1, errors.size(), stderr);
  return kExitRuntimeError;
}

// The deepest command that was selected ("xpool", "xpool smi", ...).
const CLI::App *SelectedCommand(const CLI::App &app, std::string &path) {
  path = app.get_name();
  const CLI::App *current = &app;
  for (;;) {
    const std::vector<const CLI::App *> subcommands =
        current->get_subcommands([](const CLI::App *sub) { return sub->parsed(); });
    if (subcommands.empty()) return current;
    current = subcommands.front();
    path += " " + current->get_name();
  }
}

int UsageError(const CLI::App &app, const CLI::ParseError &error) {
  std::string path;
  const CLI::App *command = SelectedCommand(app, path);
  std::string message = error.what();
  if (dynamic_cast<const CLI::ExtrasError *>(&error) != nullptr) {
    const std::vector<std::string> extras = command->remaining(true);
    const std::string first = extras.empty() ? std::string() : extras.front();
    if (!first.empty() && first.front() == '-') {
      message = "unknown option '" + first + "'";
    } else if (!first.empty()) {
      std::string known;
      for (const CLI::App *sub : command->get_subcommands({})) {
        known += (known.empty() ? "" : ", ") + sub->get_name();
      }
      if (known.empty()) {
        message = "unexpected argument '" + first + "'";
      } else {
        message = "unknown command '" + first + "' (commands: " + known + ")";
      }
    }
  }
  std::cerr << path << ": error: " << message << "\nRun '" << path << " --help' for usage.\n";
  return kExitUsage;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc > 1) {
    if (auto program = xpool::cli::ExternalProgram(argv[1])) {
      return xpool::cli::RunExternal(*program, argc, argv);
    }
  }
  CLI::App app{"xpool: one command line for every accelerator in the pool, of every vendor.",
               "xpool"};
  app.set_version_flag("--version", VersionString(), "Print the version and exit");
  app.require_subcommand(0, 1);

  // Listed for --help; main() hands it to its own program before parsing.
  app.add_subcommand("sim",
                     "Replay a job trace on a cluster through the pool scheduler (xpool-sim; "
                     "`xpool sim --help`)");
  CLI::App *smi = app.add_subcommand(
      "smi",
      "Show the host, the backends and every device of the pool (nvidia-smi for all vendors)");
  bool smi_json = false;
  smi->add_flag("--json", smi_json, "Print one JSON document instead of tables");
  smi->require_subcommand(0, 1);
  smi->footer(kEnvironmentHelp);

  CLI::App *topo = smi->add_subcommand(
      "topo", "Show the device-to-device affinity matrix (like nvidia-smi topo -m)");
  bool topo_json = false;
  topo->add_flag("--json", topo_json, "Print one JSON document instead of the matrix");
  topo->footer(kEnvironmentHelp);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &error) {
    if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(error);
    return UsageError(app, error);
  }

  if (topo->parsed()) return RunSmi(smi_json || topo_json, true);
  if (smi->parsed()) return RunSmi(smi_json, false);
  std::cout << app.help();
  return 0;
}
