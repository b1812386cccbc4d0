#include "plugin_loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>

#include "errors.h"
#include "logging.h"

namespace xpool {
namespace {

namespace fs = std::filesystem;
constexpr const char *kPrefix = "libxpool_backend_";
constexpr const char *kSuffix = ".so";

std::vector<std::string> split(const std::string &text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, separator)) {
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

// The plugin folder of the install (or build tree) this library lives in.
std::string installedPluginDir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void *>(&installedPluginDir), &info) == 0 ||
      info.dli_fname == nullptr) {
    return {};
  }
  std::error_code error;
  fs::path dir = fs::path(info.dli_fname).parent_path() / XPOOL_PLUGIN_RELATIVE_DIR;
  fs::path canonical = fs::weakly_canonical(dir, error);  // "bin/../lib" reads badly in smi
  return (error ? dir : canonical).string();
}

std::vector<std::string> searchDirs() {
  std::vector<std::string> dirs;
  if (const char *path = std::getenv("XPOOL_BACKEND_PATH")) dirs = split(path, ':');
  if (std::string installed = installedPluginDir(); !installed.empty()) dirs.push_back(installed);
  return dirs;
}

// Names of every plugin in the folders, in folder order, first one wins.
std::vector<std::string> discoverNames(const std::vector<std::string> &dirs) {
  std::vector<std::string> names;
  for (const auto &dir : dirs) {
    std::error_code error;
    std::vector<std::string> here;
    for (const auto &entry : fs::directory_iterator(dir, error)) {
      std::string file = entry.path().filename().string();
      if (file.starts_with(kPrefix) && file.ends_with(kSuffix)) {
        here.push_back(
            file.substr(strlen(kPrefix), file.size() - strlen(kPrefix) - strlen(kSuffix)));
      }
    }
    std::sort(here.begin(), here.end());
    for (auto &name : here) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  return names;
}

std::string findPlugin(const std::string &name, const std::vector<std::string> &dirs) {
  for (const auto &dir : dirs) {
    fs::path candidate = fs::path(dir) / (kPrefix + name + kSuffix);
    std::error_code error;
    if (fs::exists(candidate, error)) return candidate.string();
  }
  return {};
}

// The first required entry the plugin left NULL, or nullptr.
const char *missingRequiredEntry(const xpbBackend &t) {
  const std::pair<const void *, const char *> required[] = {
      {reinterpret_cast<const void *>(t.init), "init"},
      {reinterpret_cast<const void *>(t.shutdown), "shutdown"},
      {reinterpret_cast<const void *>(t.vendor_version), "vendor_version"},
      {reinterpret_cast<const void *>(t.device_count), "device_count"},
      {reinterpret_cast<const void *>(t.device_props), "device_props"},
      {reinterpret_cast<const void *>(t.mem_info), "mem_info"},
      {reinterpret_cast<const void *>(t.mem_alloc), "mem_alloc"},
      {reinterpret_cast<const void *>(t.mem_free), "mem_free"},
      {reinterpret_cast<const void *>(t.stream_create), "stream_create"},
      {reinterpret_cast<const void *>(t.stream_destroy), "stream_destroy"},
      {reinterpret_cast<const void *>(t.stream_synchronize), "stream_synchronize"},
      {reinterpret_cast<const void *>(t.stream_query), "stream_query"},
      {reinterpret_cast<const void *>(t.memcpy_async), "memcpy_async"},
      {reinterpret_cast<const void *>(t.memset_async), "memset_async"},
      {reinterpret_cast<const void *>(t.launch_host_func), "launch_host_func"},
      {reinterpret_cast<const void *>(t.event_create), "event_create"},
      {reinterpret_cast<const void *>(t.event_destroy), "event_destroy"},
      {reinterpret_cast<const void *>(t.event_record), "event_record"},
      {reinterpret_cast<const void *>(t.event_query), "event_query"},
      {reinterpret_cast<const void *>(t.event_synchronize), "event_synchronize"},
      {reinterpret_cast<const void *>(t.event_elapsed), "event_elapsed"},
      {reinterpret_cast<const void *>(t.stream_wait_event), "stream_wait_event"},
      {reinterpret_cast<const void *>(t.module_load), "module_load"},
      {reinterpret_cast<const void *>(t.module_unload), "module_unload"},
      {reinterpret_cast<const void *>(t.kernel_get), "kernel_get"},
      {reinterpret_cast<const void *>(t.kernel_launch), "kernel_launch"},
  };
  for (const auto &[entry, name] : required) {
    if (entry == nullptr) return name;
  }
  return nullptr;
}

// Opens, validates and starts one plugin; on failure fills backend.reason.
void openPlugin(Backend &backend, const xpbHostApi *host) {
  void *library = dlopen(backend.plugin_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char *why = dlerror();
    backend.reason = fmt::format("cannot load plugin {}: {}", backend.plugin_path,
                                 why != nullptr ? why : "unknown dlopen error");
    return;
  }
  backend.library = library;
  auto get_table = reinterpret_cast<xpbGetTableFn>(dlsym(library, XPB_ENTRY_POINT));
  if (get_table == nullptr) {
    backend.reason = fmt::format("{} does not export {}: not an xpool backend plugin",
                                 backend.plugin_path, XPB_ENTRY_POINT);
    return;
  }
  xpbBackend table{};
  table.struct_size = sizeof table;
  if (get_table(&table) != XP_SUCCESS) {
    backend.reason =
        fmt::format("{} refused to describe itself: {}", backend.plugin_path, lastError());
    return;
  }
  if (table.abi_major != XPB_ABI_MAJOR) {
    backend.reason = fmt::format(
        "{} speaks backend ABI {}.{}, this runtime speaks {}.{}; rebuild the plugin against "
        "this xpool or upgrade xpool",
        backend.plugin_path, table.abi_major, table.abi_minor, XPB_ABI_MAJOR, XPB_ABI_MINOR);
    return;
  }
  if (table.struct_size < offsetof(xpbBackend, host_register) || table.struct_size > sizeof table) {
    backend.reason = fmt::format("{} filled a {}-byte table; ABI {}.x needs {} to {} bytes",
                                 backend.plugin_path, table.struct_size, XPB_ABI_MAJOR,
                                 offsetof(xpbBackend, host_register), sizeof table);
    return;
  }
  // Entries past the plugin's own table read as NULL (an older plugin lacks
  // them), whatever it may have written there: cut at an entry boundary.
  {
    constexpr size_t kEntry = sizeof(void (*)());
    const size_t known = table.struct_size / kEntry * kEntry;
    std::memset(reinterpret_cast<unsigned char *>(&table) + known, 0, sizeof table - known);
  }
  if (const char *missing = missingRequiredEntry(table)) {
    backend.reason =
        fmt::format("{} leaves the required entry '{}' empty", backend.plugin_path, missing);
    return;
  }
  if (table.name == nullptr || backend.name != table.name) {
    backend.reason = fmt::format("{} calls itself '{}', expected '{}'", backend.plugin_path,
                                 table.name != nullptr ? table.name : "(null)", backend.name);
    return;
  }
  backend.table = table;
  xpClearLastError();
  if (table.init(host, &backend.context) != XP_SUCCESS) {
    backend.reason = lastError().empty() ? "init failed without a reason" : lastError();
    backend.context = nullptr;
    return;
  }
  const char *version = table.vendor_version(backend.context);
  backend.vendor_version = version != nullptr ? version : "";
  backend.device_count = std::max(0, table.device_count(backend.context));
  backend.available = true;
}

}  // namespace

std::vector<std::unique_ptr<Backend>> loadBackends(const xpbHostApi *host) {
  const std::vector<std::string> dirs = searchDirs();
  std::vector<std::string> names;
  const char *selection = std::getenv("XPOOL_BACKENDS");
  if (selection != nullptr && *selection != '\0' && std::string(selection) != "all") {
    names = split(selection, ',');
  } else {
    names = discoverNames(dirs);
  }

  std::vector<std::unique_ptr<Backend>> backends;
  std::set<std::string> seen;
  for (const auto &name : names) {
    if (!seen.insert(name).second) continue;
    auto backend = std::make_unique<Backend>();
    backend->name = name;
    backend->index = static_cast<int>(backends.size());
    backend->plugin_path = findPlugin(name, dirs);
    if (backend->plugin_path.empty()) {
      std::string searched;
      for (const auto &dir : dirs) searched += (searched.empty() ? "" : ", ") + dir;
      backend->reason = fmt::format("plugin {}{}{} not found in: {}", kPrefix, name, kSuffix,
                                    searched.empty() ? "(no folders)" : searched);
    } else {
      openPlugin(*backend, host);
    }
    if (backend->available) {
      logger("runtime")->info("backend {}: {} device(s), {} ({})", name, backend->device_count,
                              backend->vendor_version, backend->plugin_path);
    } else {
      logger("runtime")->info("backend {} not available: {}", name, backend->reason);
    }
    backends.push_back(std::move(backend));
  }
  xpClearLastError();
  return backends;
}

void unloadBackend(Backend &backend) {
  if (backend.context != nullptr) backend.table.shutdown(backend.context);
  backend.context = nullptr;
  backend.available = false;
  // Plugins stay mapped: vendor libraries often register atexit handlers or
  // threads that would run unmapped code after dlclose.
}

}  // namespace xpool
