// The `xpool smi` renderers and the text table, driven by made-up snapshots
// of a mixed-vendor machine: no runtime calls.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "smi_collect.h"
#include "smi_render.h"
#include "table.h"

namespace xpool::cli {
namespace {

using nlohmann::json;

DeviceInfo MakeDevice(int ordinal, const std::string &backend, int backend_index,
                      const std::string &name, const std::string &pci, int numa) {
  DeviceInfo device;
  device.device = ordinal;
  device.backend_index = backend_index;
  device.backend_device = ordinal;
  device.backend = backend;
  device.vendor = backend == "cuda" ? "NVIDIA Corporation" : "AuthenticAMD";
  device.name = name;
  for (size_t i = 0; i < device.uuid.size(); ++i) {
    device.uuid[i] = static_cast<uint8_t>(0xa0 + i + static_cast<size_t>(ordinal));
  }
  device.stable_id = backend + ":" + device.uuid_hex();
  device.memory_total = 80ull << 30;
  device.memory_free = 79ull << 30;
  device.compute_units = 132;
  device.pci_bus_id = pci;
  device.numa_node = numa;
  device.host_addressable = backend == "cpu";
  return device;
}

// One CPU, two GPUs on two NUMA nodes, and a backend that cannot serve.
Snapshot MixedSnapshot() {
  Snapshot snapshot;
  snapshot.initialized = true;
  snapshot.host = {true, "node17", 2, 2, 64, 128, 512ull << 30};
  snapshot.backends = {
      {0, "cpu", true, 1, 0, "", "/opt/xpool/lib/xpool/backends/libxpool_backend_cpu.so",
       "hwloc 2.9.0", 1, 0},
      {1, "cuda", true, 2, 1, "", "/opt/xpool/lib/xpool/backends/libxpool_backend_cuda.so",
       "CUDA 12.4, driver 550.54.15", 1, 0},
      {2, "hip", false, 0, -1, "libamdhip64.so not found (is ROCm installed?)",
       "/opt/xpool/lib/xpool/backends/libxpool_backend_hip.so", "", 1, 0},
  };
  snapshot.devices = {
      MakeDevice(0, "cpu", 0, "AMD EPYC 9654 96-Core Processor", "", -1),
      MakeDevice(1, "cuda", 1, "NVIDIA H100 80GB HBM3", "0000:41:00.0", 0),
      MakeDevice(2, "cuda", 1, "NVIDIA H100 80GB HBM3", "0000:c1:00.0", 1),
  };
  snapshot.affinity = {
      {XP_AFFINITY_SAME_DEVICE, XP_AFFINITY_SAME_NUMA_NODE, XP_AFFINITY_SAME_HOST},
      {XP_AFFINITY_SAME_NUMA_NODE, XP_AFFINITY_SAME_DEVICE, kAffinityUnknown},
      {XP_AFFINITY_SAME_HOST, kAffinityUnknown, XP_AFFINITY_SAME_DEVICE},
  };
  return snapshot;
}

std::vector<std::string> Lines(const std::string &text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

bool IsTableLine(const std::string &line) {
  return !line.empty() && (line.front() == '+' || line.front() == '|');
}

// Every line of one boxed table has the same width.
void ExpectTablesAligned(const std::string &text) {
  size_t width = 0;
  for (const auto &line : Lines(text)) {
    if (!IsTableLine(line)) {
      width = 0;
      continue;
    }
    if (width == 0) width = DisplayWidth(line);
    EXPECT_EQ(DisplayWidth(line), width) << "misaligned: " << line << "\nin:\n" << text;
    EXPECT_EQ(line.back(), line.front() == '+' ? '+' : '|') << line;
  }
}

TEST(SmiText, WideShowsEveryDeviceAndBackend) {
  const std::string text = RenderSmiText(MixedSnapshot(), {});
  ExpectTablesAligned(text);
  for (const char *expected :
       {"node17", "512.0 GiB", "AMD EPYC 9654 96-Core Processor", "NVIDIA H100 80GB HBM3",
        "0000:41:00.0", "0000:c1:00.0", "CUDA 12.4, driver 550.54.15", "not available",
        "libamdhip64.so not found (is ROCm installed?)", "1.0 / 80.0 GiB", "1-2"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << " not in:\n" << text;
  }
  for (const auto &device : MixedSnapshot().devices) {
    EXPECT_NE(text.find(device.stable_id), std::string::npos) << device.stable_id;
  }
  EXPECT_EQ(text.find('\033'), std::string::npos) << "colour without asking";
}

TEST(SmiText, NarrowTerminalFitsAndKeepsAlignment) {
  for (const size_t width : {140u, 120u, 100u}) {
    SCOPED_TRACE(width);
    const std::string text = RenderSmiText(MixedSnapshot(), {false, width});
    ExpectTablesAligned(text);
    for (const auto &line : Lines(text)) {
      if (IsTableLine(line)) {
        EXPECT_LE(DisplayWidth(line), width) << line;
      }
    }
    // The device table switched to two lines per device.
    EXPECT_NE(text.find("Stable id"), std::string::npos);
  }
}

TEST(SmiText, ColourOnlyWhenAsked) {
  const std::string text = RenderSmiText(MixedSnapshot(), {true, 0});
  EXPECT_NE(text.find("\033[32mavailable\033[0m"), std::string::npos) << text;
  EXPECT_NE(text.find("\033[31mnot available\033[0m"), std::string::npos) << text;
  // Styles wrap the text, not the padding: tables stay aligned once stripped.
  std::string stripped;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\033') {
      i = text.find('m', i);
      continue;
    }
    stripped += text[i];
  }
  EXPECT_EQ(stripped, RenderSmiText(MixedSnapshot(), {false, 0}));
}

TEST(SmiText, FailedInitStillShowsTheHost) {
  Snapshot snapshot;
  snapshot.host = {true, "node17", 1, 1, 8, 16, 64ull << 30};
  snapshot.errors.push_back(
      {"xpInit", "XP_ERROR_NO_DEVICE", "xpInit: no backend plugin in /opt/xpool/lib"});
  const std::string text = RenderSmiText(snapshot, {});
  EXPECT_NE(text.find("node17"), std::string::npos) << text;
  EXPECT_NE(text.find("did not initialise"), std::string::npos) << text;
  EXPECT_EQ(RenderErrors(snapshot),
            "xpool: error: xpInit failed (XP_ERROR_NO_DEVICE): xpInit: no backend plugin in "
            "/opt/xpool/lib\n");

  snapshot.host = {};
  EXPECT_NE(RenderSmiText(snapshot, {}).find("xpHostGetTopology failed"), std::string::npos);
}

TEST(SmiJson, HasEveryFieldWithCApiValues) {
  const json document = json::parse(RenderSmiJson(MixedSnapshot()));
  EXPECT_EQ(document.at("initialized"), true);
  EXPECT_EQ(document.at("host").at("hostname"), "node17");
  EXPECT_EQ(document.at("host").at("memory_total"), 512ull << 30);
  ASSERT_EQ(document.at("backends").size(), 3u);
  const json &hip = document.at("backends")[2];
  EXPECT_EQ(hip.at("available"), false);
  EXPECT_EQ(hip.at("first_device"), -1);
  EXPECT_EQ(hip.at("reason"), "libamdhip64.so not found (is ROCm installed?)");

  ASSERT_EQ(document.at("devices").size(), 3u);
  const json &cpu = document.at("devices")[0];
  EXPECT_EQ(cpu.at("numa_node"), -1);
  EXPECT_EQ(cpu.at("pci_bus_id"), "");
  EXPECT_EQ(cpu.at("host_addressable"), true);
  EXPECT_EQ(cpu.at("uuid"), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  EXPECT_EQ(cpu.at("stable_id"), "cpu:a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  EXPECT_EQ(cpu.at("memory_used"), 1ull << 30);
  const json &gpu = document.at("devices")[2];
  EXPECT_EQ(gpu.at("pci_bus_id"), "0000:c1:00.0");
  EXPECT_EQ(gpu.at("host_addressable"), false);
  EXPECT_TRUE(document.at("errors").empty());
}

TEST(SmiJson, FailedInitGivesNullHostAndErrors) {
  Snapshot snapshot;
  snapshot.errors.push_back({"xpInit", "XP_ERROR_NO_DEVICE", "no plugins"});
  const json document = json::parse(RenderSmiJson(snapshot));
  EXPECT_EQ(document.at("initialized"), false);
  EXPECT_TRUE(document.at("host").is_null());
  EXPECT_TRUE(document.at("devices").empty());
  ASSERT_EQ(document.at("errors").size(), 1u);
  EXPECT_EQ(document.at("errors")[0].at("call"), "xpInit");
  EXPECT_EQ(document.at("errors")[0].at("message"), "no plugins");
}

TEST(SmiJson, InvalidUtf8FromAVendorDoesNotThrow) {
  Snapshot snapshot = MixedSnapshot();
  snapshot.devices[0].name = "bad \xff\xfe name";
  const json document = json::parse(RenderSmiJson(snapshot));
  EXPECT_FALSE(document.at("devices")[0].at("name").get<std::string>().empty());
}

TEST(Topo, TextMatrixAndLegend) {
  const std::string text = RenderTopoText(MixedSnapshot(), {});
  const std::vector<std::string> lines = Lines(text);
  bool saw_header = false;
  for (const auto &line : lines) {
    if (line.find("DEV0") != std::string::npos && line.find("DEV2") != std::string::npos) {
      saw_header = true;
    }
  }
  EXPECT_TRUE(saw_header) << text;
  for (const char *expected :
       {"NODE", "SYS", "?", "Legend", "PIX", "0000:c1:00.0", "cuda: NVIDIA H100 80GB HBM3"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << " not in:\n" << text;
  }
}

TEST(Topo, JsonMatrix) {
  const json document = json::parse(RenderTopoJson(MixedSnapshot()));
  const json &matrix = document.at("matrix");
  ASSERT_EQ(matrix.size(), 3u);
  EXPECT_EQ(matrix[0], json({"X", "NODE", "SYS"}));
  EXPECT_EQ(matrix[1][2], "?");
  EXPECT_EQ(document.at("affinity")[0], json({"same_device", "same_numa_node", "same_host"}));
  EXPECT_EQ(document.at("affinity")[1][2], "unknown");
  EXPECT_EQ(document.at("devices")[1].at("numa_node"), 0);
  EXPECT_EQ(document.at("legend").size(), 4u);
}

TEST(Table, WrapKeepsWidthAndCodePoints) {
  for (const auto &line : Wrap("/opt/xpool/lib/xpool/backends/libxpool_backend_cuda.so", 16)) {
    EXPECT_LE(DisplayWidth(line), 16u) << line;
  }
  EXPECT_EQ(Wrap("plugin not found in: /opt/xpool/lib", 22),
            (std::vector<std::string>{"plugin not found in:", "/opt/xpool/lib"}));
  EXPECT_EQ(Wrap("short", 10), std::vector<std::string>{"short"});
  EXPECT_EQ(Wrap("", 10), std::vector<std::string>{""});
  // Multi-byte characters count once and are never split.
  const std::string text = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";  // five e-acute
  EXPECT_EQ(DisplayWidth(text), 5u);
  EXPECT_EQ(Wrap(text, 2),
            (std::vector<std::string>{"\xc3\xa9\xc3\xa9", "\xc3\xa9\xc3\xa9", "\xc3\xa9"}));
}

TEST(Table, BordersAlignmentAndMultiLineCells) {
  Table table({{"A"}, {"Num", Align::kRight}, {"Long", Align::kLeft, true, 4}});
  table.AddRow({Cell("x"), Cell("7"), Cell("one two three\nsecond")});
  const std::string text = table.Render({false, 0});
  EXPECT_EQ(text,
            "+---+-----+---------------+\n"
            "| A | Num | Long          |\n"
            "+---+-----+---------------+\n"
            "| x |   7 | one two three |\n"
            "|   |     | second        |\n"
            "+---+-----+---------------+\n");
  EXPECT_EQ(table.NaturalWidth({false, 0}), 27u);
  const std::string narrow = table.Render({false, 20});
  ExpectTablesAligned(narrow);
  for (const auto &line : Lines(narrow)) EXPECT_LE(DisplayWidth(line), 20u) << line;
}

TEST(Table, FormatBytes) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(2048), "2 KiB");
  EXPECT_EQ(FormatBytes(512ull << 20), "512 MiB");
  EXPECT_EQ(FormatBytes(3ull << 29), "1.5 GiB");
  EXPECT_EQ(FormatBytes(2ull << 40), "2.0 TiB");
}

}  // namespace
}  // namespace xpool::cli
