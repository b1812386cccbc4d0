// Scaffolding shared by the backend plugin tests (tests/backends*/): each
// loads its plugin with dlopen and drives the xpbBackend table the way the
// runtime does, through the fake runtime services below instead of
// libxpool_runtime. Nothing here asserts: the tests keep their checks and use
// these helpers to get at what they check.
//
//   LoadPlugin          dlopen a plugin and fetch its table (struct_size set)
//   Session             init and shutdown around a test body
//   kHost               a fake xpbHostApi: thread-local last error, a log sink,
//                       resolve() backed by a pool of ranges the test fills
//   RequiredEntries     the table's required entries as {name, pointer}
//   OptionalEntries     the same for the optional ones of ABI 1.0
//   InteropEntries      the native-handle entries of ABI 1.1 (optional)
//   FetchShorterTable   the table as an older runtime (a shorter table) gets it
#ifndef XPOOL_TESTS_BACKEND_HARNESS_PLUGIN_HARNESS_H
#define XPOOL_TESTS_BACKEND_HARNESS_PLUGIN_HARNESS_H

#include <dlfcn.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "xpool/backend.h"

namespace xpool::harness {

// ---- the fake runtime services ----------------------------------------------

// What the plugin last passed to set_error on this thread.
inline thread_local std::string last_error;
inline thread_local xpStatus last_status = XP_SUCCESS;

inline xpStatus SetError(xpStatus status, const char *message) {
  last_status = status;
  last_error = message != nullptr ? message : "";
  return status;
}

// Warnings and errors go to stderr; everything with XPOOL_TEST_VERBOSE set.
inline void Log(xpbLogLevel level, const char *component, const char *message) {
  if (level >= XPB_LOG_WARN || std::getenv("XPOOL_TEST_VERBOSE") != nullptr) {
    std::fprintf(stderr, "[%s %d] %s\n", component, static_cast<int>(level), message);
  }
}

// The pool addresses resolve() knows. A test whose backend's buffers are not
// addresses hands out unique fake addresses for its allocations, as the
// runtime does (AddToPool), and gives them back when it frees them; with an
// empty pool resolve() finds nothing.
struct PoolRange {
  void *buffer;
  size_t bytes;
};
inline std::mutex pool_mutex;
inline std::map<uintptr_t, PoolRange> pool;
inline uintptr_t pool_next_address = uintptr_t{0x7e0000000000};

// Reserves a fresh address range for `bytes` of `buffer`, with a gap of at
// least 1 MiB to the next, and returns its start.
inline uintptr_t AddToPool(void *buffer, size_t bytes) {
  std::lock_guard<std::mutex> lock(pool_mutex);
  const uintptr_t address = pool_next_address;
  pool_next_address += ((bytes + (1u << 20)) & ~uintptr_t{0xfffff}) + (1u << 20);
  pool[address] = PoolRange{buffer, bytes};
  return address;
}

// Forgets the range starting at `address`; returns its buffer (nullptr when
// there was none).
inline void *RemoveFromPool(uintptr_t address) {
  std::lock_guard<std::mutex> lock(pool_mutex);
  auto it = pool.find(address);
  if (it == pool.end()) return nullptr;
  void *buffer = it->second.buffer;
  pool.erase(it);
  return buffer;
}

inline int Resolve(const void *ptr, void **buffer, size_t *offset, size_t *allocation_bytes) {
  std::lock_guard<std::mutex> lock(pool_mutex);
  const auto address = reinterpret_cast<uintptr_t>(ptr);
  auto it = pool.upper_bound(address);
  if (it == pool.begin()) return -1;
  --it;
  if (address >= it->first + it->second.bytes) return -1;
  *buffer = it->second.buffer;
  *offset = address - it->first;
  *allocation_bytes = it->second.bytes;
  return 0;
}

inline const xpbHostApi kHost = {sizeof(xpbHostApi), SetError, Log, Resolve};

// ---- the plugin -------------------------------------------------------------

struct LoadedPlugin {
  void *handle = nullptr;             // never dlclosed: the vendor stack stays loaded anyway
  xpbGetTableFn get_table = nullptr;  // XPB_ENTRY_POINT
  xpbBackend table{};                 // the full table, as this header knows it
  std::string error;                  // why loading failed; empty when it did not
};

// Opens the plugin at `path` as the runtime does and fetches its table.
inline LoadedPlugin LoadPlugin(const char *path) {
  LoadedPlugin p;
  p.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (p.handle == nullptr) {
    const char *why = dlerror();
    p.error = why != nullptr ? why : "dlopen failed";
    return p;
  }
  p.get_table = reinterpret_cast<xpbGetTableFn>(dlsym(p.handle, XPB_ENTRY_POINT));
  if (p.get_table == nullptr) {
    p.error = std::string("no " XPB_ENTRY_POINT " in ") + path;
    return p;
  }
  p.table.struct_size = sizeof p.table;
  if (p.get_table(&p.table) != XP_SUCCESS) p.error = XPB_ENTRY_POINT " failed";
  return p;
}

// init and shutdown around a test body.
class Session {
 public:
  explicit Session(const xpbBackend &table, const xpbHostApi *host = &kHost) : table_(table) {
    status_ = table_.init(host, &ctx_);
  }
  ~Session() {
    if (ctx_ != nullptr) table_.shutdown(ctx_);
  }
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  xpStatus status() const { return status_; }
  xpbContext *ctx() const { return ctx_; }

 private:
  const xpbBackend &table_;
  xpStatus status_ = XP_ERROR_INTERNAL;
  xpbContext *ctx_ = nullptr;
};

// ---- the table --------------------------------------------------------------

struct TableEntry {
  const char *name;
  const void *pointer;
};

inline TableEntry MakeEntry(const char *name, const void *pointer) {
  return TableEntry{name, pointer};
}

// The name comes from the field itself, so the two cannot disagree.
#define XPOOL_HARNESS_ENTRY(table, field) \
  MakeEntry(#field, reinterpret_cast<const void *>((table).field))

// The entries every plugin must fill (the runtime refuses a plugin that
// leaves one NULL), in table order.
inline std::vector<TableEntry> RequiredEntries(const xpbBackend &t) {
  return {
      XPOOL_HARNESS_ENTRY(t, init),
      XPOOL_HARNESS_ENTRY(t, shutdown),
      XPOOL_HARNESS_ENTRY(t, vendor_version),
      XPOOL_HARNESS_ENTRY(t, device_count),
      XPOOL_HARNESS_ENTRY(t, device_props),
      XPOOL_HARNESS_ENTRY(t, mem_info),
      XPOOL_HARNESS_ENTRY(t, mem_alloc),
      XPOOL_HARNESS_ENTRY(t, mem_free),
      XPOOL_HARNESS_ENTRY(t, stream_create),
      XPOOL_HARNESS_ENTRY(t, stream_destroy),
      XPOOL_HARNESS_ENTRY(t, stream_synchronize),
      XPOOL_HARNESS_ENTRY(t, stream_query),
      XPOOL_HARNESS_ENTRY(t, memcpy_async),
      XPOOL_HARNESS_ENTRY(t, memset_async),
      XPOOL_HARNESS_ENTRY(t, launch_host_func),
      XPOOL_HARNESS_ENTRY(t, event_create),
      XPOOL_HARNESS_ENTRY(t, event_destroy),
      XPOOL_HARNESS_ENTRY(t, event_record),
      XPOOL_HARNESS_ENTRY(t, event_query),
      XPOOL_HARNESS_ENTRY(t, event_synchronize),
      XPOOL_HARNESS_ENTRY(t, event_elapsed),
      XPOOL_HARNESS_ENTRY(t, stream_wait_event),
      XPOOL_HARNESS_ENTRY(t, module_load),
      XPOOL_HARNESS_ENTRY(t, module_unload),
      XPOOL_HARNESS_ENTRY(t, kernel_get),
      XPOOL_HARNESS_ENTRY(t, kernel_launch),
  };
}

// The optional entries of ABI 1.0 (NULL when a plugin lacks them), in table
// order.
inline std::vector<TableEntry> OptionalEntries(const xpbBackend &t) {
  return {
      XPOOL_HARNESS_ENTRY(t, host_register),
      XPOOL_HARNESS_ENTRY(t, host_unregister),
      XPOOL_HARNESS_ENTRY(t, memcpy_peer_async),
  };
}

// The native-handle entries of ABI 1.1 (optional: NULL when a plugin lacks
// them), in table order.
inline std::vector<TableEntry> InteropEntries(const xpbBackend &t) {
  return {
      XPOOL_HARNESS_ENTRY(t, stream_native),
      XPOOL_HARNESS_ENTRY(t, device_make_current),
  };
}

#undef XPOOL_HARNESS_ENTRY

// What the entry point gives a runtime whose table is `known` bytes long.
struct ShorterTable {
  static constexpr size_t kNone = static_cast<size_t>(-1);

  xpStatus status = XP_ERROR_INTERNAL;  // the entry point's answer
  xpbBackend table{};                   // as that runtime sees it: NULL past `known`
                                        // unless the plugin wrote there
  size_t overrun = kNone;               // the first byte at or past `known` the plugin
                                        // wrote (of sizeof(xpbBackend) + 64), or kNone
};

// Calls `get_table` on a table of `known` bytes (zeroed, as the runtime
// zeroes it) followed by guard bytes, and reports where it wrote.
inline ShorterTable FetchShorterTable(xpbGetTableFn get_table, size_t known) {
  constexpr unsigned char kGuard = 0xAB;
  std::vector<unsigned char> memory(sizeof(xpbBackend) + 64, kGuard);
  auto *table = reinterpret_cast<xpbBackend *>(memory.data());
  std::memset(table, 0, known);
  table->struct_size = known;
  ShorterTable result;
  result.status = get_table(table);
  for (size_t i = known; i < memory.size(); ++i) {
    if (memory[i] != kGuard) {
      if (result.overrun == ShorterTable::kNone) result.overrun = i;
    } else if (i < sizeof(xpbBackend)) {
      memory[i] = 0;  // untouched: what the runtime's zeroing left there
    }
  }
  std::memcpy(&result.table, memory.data(), sizeof result.table);
  return result;
}

}  // namespace xpool::harness

#endif  // XPOOL_TESTS_BACKEND_HARNESS_PLUGIN_HARNESS_H
