// Runs the built `xpool` binary (XPOOL_CLI_PATH) with the cpu backend and
// checks its output and exit codes.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "xpool/runtime.h"

namespace {

using nlohmann::json;

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `env <environment> xpool <arguments>`, capturing stdout and stderr.
Result RunXpool(const std::string &environment, const std::string &arguments) {
  static int counter = 0;
  const std::string err_path = testing::TempDir() + "xpool_cli_test_" + std::to_string(getpid()) +
                               "_" + std::to_string(counter++) + ".stderr";
  const std::string command = "env " + environment + " '" + std::string(XPOOL_CLI_PATH) + "' " +
                              arguments + " 2>'" + err_path + "'";
  Result result;
  FILE *pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed: " << command;
    return result;
  }
  char buffer[4096];
  size_t got = 0;
  while ((got = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, got);
  const int status = pclose(pipe);
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  std::ifstream err_file(err_path);
  std::stringstream err;
  err << err_file.rdbuf();
  result.err = err.str();
  std::remove(err_path.c_str());
  return result;
}

constexpr const char *kCpu2 = "XPOOL_BACKENDS=cpu XPOOL_CPU_DEVICES=2";

// Parses stdout as JSON, failing the test (not throwing) when it is not.
json ParseJson(const Result &result) {
  json document = json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(document.is_discarded()) << "stdout is not JSON:\n"
                                        << result.out << "\nstderr:\n"
                                        << result.err;
  return document;
}

const json *FindBackend(const json &document, const std::string &name) {
  for (const auto &backend : document.at("backends")) {
    if (backend.at("name") == name) return &backend;
  }
  return nullptr;
}

bool IsLowerHex(const std::string &text) {
  return text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(XpoolSmi, JsonListsCpuBackendWithTwoDevices) {
  const Result result = RunXpool(kCpu2, "smi --json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const json document = ParseJson(result);
  ASSERT_TRUE(document.is_object());

  EXPECT_EQ(document.at("initialized"), true);
  EXPECT_TRUE(document.at("errors").empty()) << document.at("errors").dump(2);

  const json &host = document.at("host");
  ASSERT_TRUE(host.is_object()) << host.dump();
  for (const char *key : {"hostname", "sockets", "numa_nodes", "cores", "pus", "memory_total"}) {
    EXPECT_TRUE(host.contains(key)) << key;
  }
  EXPECT_GT(host.at("cores").get<int>(), 0);
  EXPECT_GE(host.at("pus").get<int>(), host.at("cores").get<int>());
  EXPECT_GT(host.at("memory_total").get<uint64_t>(), 0u);

  ASSERT_EQ(document.at("backends").size(), 1u) << document.at("backends").dump(2);
  const json *cpu = FindBackend(document, "cpu");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->at("available"), true);
  EXPECT_EQ(cpu->at("device_count"), 2);
  EXPECT_EQ(cpu->at("first_device"), 0);
  EXPECT_EQ(cpu->at("reason"), "");
  EXPECT_FALSE(cpu->at("plugin_path").get<std::string>().empty());
  EXPECT_EQ(cpu->at("abi_major"), 1);
  for (const char *key : {"index", "vendor_version", "abi_minor"}) {
    EXPECT_TRUE(cpu->contains(key)) << key;
  }

  const json &devices = document.at("devices");
  ASSERT_EQ(devices.size(), 2u) << devices.dump(2);
  std::set<std::string> stable_ids;
  std::set<std::string> uuids;
  for (size_t i = 0; i < devices.size(); ++i) {
    const json &device = devices[i];
    SCOPED_TRACE(device.dump(2));
    for (const char *key : {"device",
                            "backend_index",
                            "backend_device",
                            "backend",
                            "vendor",
                            "name",
                            "uuid",
                            "stable_id",
                            "memory_total",
                            "memory_free",
                            "memory_used",
                            "memory_allocated",
                            "compute_units",
                            "max_threads_per_block",
                            "shared_mem_per_block",
                            "pci_bus_id",
                            "numa_node",
                            "host_addressable",
                            "compute_major",
                            "compute_minor"}) {
      EXPECT_TRUE(device.contains(key)) << key;
    }
    EXPECT_EQ(device.at("device"), static_cast<int>(i));
    EXPECT_EQ(device.at("backend"), "cpu");
    EXPECT_EQ(device.at("backend_index"), cpu->at("index"));
    EXPECT_EQ(device.at("backend_device"), static_cast<int>(i));
    EXPECT_FALSE(device.at("name").get<std::string>().empty());
    const auto total = device.at("memory_total").get<uint64_t>();
    const auto free = device.at("memory_free").get<uint64_t>();
    EXPECT_GT(total, 0u);
    EXPECT_LE(free, total);
    EXPECT_EQ(device.at("memory_used").get<uint64_t>(), total - free);
    EXPECT_GT(device.at("compute_units").get<int>(), 0);
    EXPECT_EQ(device.at("host_addressable"), true);
    EXPECT_GE(device.at("numa_node").get<int>(), -1);

    const auto uuid = device.at("uuid").get<std::string>();
    EXPECT_EQ(uuid.size(), 32u);
    EXPECT_TRUE(IsLowerHex(uuid)) << uuid;
    const auto stable_id = device.at("stable_id").get<std::string>();
    EXPECT_EQ(stable_id.rfind("cpu:", 0), 0u) << stable_id;
    stable_ids.insert(stable_id);
    uuids.insert(uuid);
  }
  EXPECT_EQ(stable_ids.size(), devices.size()) << "stable ids are not distinct";
  EXPECT_EQ(uuids.size(), devices.size()) << "uuids are not distinct";
}

TEST(XpoolSmi, StableIdsAreTheSameOnEveryRun) {
  const json first = ParseJson(RunXpool(kCpu2, "smi --json"));
  const json second = ParseJson(RunXpool(kCpu2, "smi --json"));
  ASSERT_EQ(first.at("devices").size(), second.at("devices").size());
  for (size_t i = 0; i < first.at("devices").size(); ++i) {
    EXPECT_EQ(first.at("devices")[i].at("stable_id"), second.at("devices")[i].at("stable_id"));
  }
}

TEST(XpoolSmi, UnknownBackendIsListedUnavailableWithReason) {
  const Result result = RunXpool("XPOOL_BACKENDS=cpu,nosuch XPOOL_CPU_DEVICES=2", "smi --json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const json document = ParseJson(result);
  ASSERT_TRUE(document.is_object());

  const json *nosuch = FindBackend(document, "nosuch");
  ASSERT_NE(nosuch, nullptr) << document.at("backends").dump(2);
  EXPECT_EQ(nosuch->at("available"), false);
  EXPECT_EQ(nosuch->at("device_count"), 0);
  EXPECT_FALSE(nosuch->at("reason").get<std::string>().empty());

  const json *cpu = FindBackend(document, "cpu");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->at("available"), true);
  EXPECT_EQ(document.at("devices").size(), 2u);

  // The text view shows the backend as unavailable with its reason.
  const Result text = RunXpool("XPOOL_BACKENDS=cpu,nosuch XPOOL_CPU_DEVICES=2", "smi");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("nosuch"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("not available"), std::string::npos) << text.out;
  // Not a terminal: nothing is wrapped, so the reason appears whole.
  const auto reason = nosuch->at("reason").get<std::string>();
  EXPECT_NE(text.out.find(reason), std::string::npos) << reason << " not in:\n" << text.out;
}

TEST(XpoolSmi, NoUsableBackendStillPrintsValidJson) {
  // Whether the runtime initialises with an empty pool or refuses, smi must
  // print a document and say so through its exit code.
  const Result result = RunXpool("XPOOL_BACKENDS=nosuch", "smi --json");
  const json document = ParseJson(result);
  ASSERT_TRUE(document.is_object());
  EXPECT_TRUE(document.contains("host"));
  EXPECT_TRUE(document.at("devices").empty());
  if (result.exit_code == 0) {
    EXPECT_EQ(document.at("initialized"), true);
    EXPECT_TRUE(document.at("errors").empty());
  } else {
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_FALSE(document.at("errors").empty());
    EXPECT_NE(result.err.find("xpool: error:"), std::string::npos) << result.err;
  }
}

TEST(XpoolSmi, TextShowsHostBackendsAndDeviceNames) {
  const json document = ParseJson(RunXpool(kCpu2, "smi --json"));
  ASSERT_TRUE(document.is_object());
  const Result result = RunXpool(kCpu2, "smi");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Host"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("Backends"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("Devices"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("available"), std::string::npos) << result.out;
  for (const auto &device : document.at("devices")) {
    const auto name = device.at("name").get<std::string>();
    const auto stable_id = device.at("stable_id").get<std::string>();
    EXPECT_NE(result.out.find(name), std::string::npos) << name << " not in:\n" << result.out;
    EXPECT_NE(result.out.find(stable_id), std::string::npos) << stable_id;
  }
  // Not a terminal: no colour codes.
  EXPECT_EQ(result.out.find('\033'), std::string::npos);
}

TEST(XpoolSmiTopo, JsonHasSquareMatrixWithSameDeviceOnDiagonal) {
  const Result result = RunXpool(kCpu2, "smi topo --json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const json document = ParseJson(result);
  ASSERT_TRUE(document.is_object());
  EXPECT_TRUE(document.at("host").is_object());
  const size_t n = document.at("devices").size();
  ASSERT_EQ(n, 2u);
  const json &matrix = document.at("matrix");
  const json &affinity = document.at("affinity");
  ASSERT_EQ(matrix.size(), n);
  ASSERT_EQ(affinity.size(), n);
  const std::set<std::string> known = {"X", "PIX", "NODE", "SYS"};
  for (size_t a = 0; a < n; ++a) {
    ASSERT_EQ(matrix[a].size(), n);
    EXPECT_EQ(matrix[a][a], "X");
    EXPECT_EQ(affinity[a][a], "same_device");
    for (size_t b = 0; b < n; ++b) {
      EXPECT_TRUE(known.count(matrix[a][b].get<std::string>())) << matrix[a][b];
      EXPECT_EQ(matrix[a][b], matrix[b][a]) << "affinity is not symmetric";
      if (a != b) {
        EXPECT_NE(matrix[a][b], "X");
      }
    }
  }
  for (const auto &abbrev : known) EXPECT_TRUE(document.at("legend").contains(abbrev)) << abbrev;
}

TEST(XpoolSmiTopo, TextHasMatrixAndLegend) {
  const Result result = RunXpool(kCpu2, "smi topo");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (const char *text : {"DEV0", "DEV1", "NUMA node", "Legend", "X", "SYS"}) {
    EXPECT_NE(result.out.find(text), std::string::npos) << text << " not in:\n" << result.out;
  }
}

TEST(XpoolCli, UnknownCommandExitsTwoWithMessage) {
  const Result result = RunXpool(kCpu2, "bogus");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("bogus"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("unknown command"), std::string::npos) << result.err;
  EXPECT_TRUE(result.out.empty()) << result.out;
}

TEST(XpoolCli, UnknownFlagExitsTwoWithMessage) {
  for (const char *arguments : {"--bogus", "smi --bogus", "smi topo --bogus", "smi bogus"}) {
    SCOPED_TRACE(arguments);
    const Result result = RunXpool(kCpu2, arguments);
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find("bogus"), std::string::npos) << result.err;
  }
}

// `xpool sim` is served by xpool-sim next to xpool: the same arguments reach
// it, and its reports land where it is told.
TEST(XpoolSim, ReplaysTheExampleTraceThroughXpoolSim) {
  const std::string out = testing::TempDir() + "xpool_sim_" + std::to_string(getpid());
  const Result result = RunXpool("", std::string("sim --cluster '") + XPOOL_SIM_EXAMPLES +
                                         "/cluster.json' --trace '" + XPOOL_SIM_EXAMPLES +
                                         "/trace.csv' --policy xpool --out '" + out + "'");
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  std::ifstream summary(out + "/summary.json");
  EXPECT_TRUE(summary.good()) << "no " << out << "/summary.json";
  EXPECT_TRUE(std::ifstream(out + "/utilization.svg").good());

  const Result bad = RunXpool("", "sim --cluster /nonexistent/cluster.json --trace x.csv");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("/nonexistent/cluster.json"), std::string::npos) << bad.err;
}

TEST(XpoolCli, HelpAndVersion) {
  Result result = RunXpool("", "--help");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("smi"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("sim"), std::string::npos) << result.out;

  result = RunXpool("", "smi --help");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("--json"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("topo"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("XPOOL_BACKENDS"), std::string::npos) << result.out;

  result = RunXpool("", "--version");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const std::string expected = "xpool " + std::to_string(XP_VERSION_MAJOR) + "." +
                               std::to_string(XP_VERSION_MINOR) + "." +
                               std::to_string(XP_VERSION_PATCH);
  EXPECT_NE(result.out.find(expected), std::string::npos) << result.out;
}

}  // namespace
