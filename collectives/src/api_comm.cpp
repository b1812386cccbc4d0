// The communicator half of the C API: ids, creation, split, destroy, abort.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "algorithms.h"
#include "communicator.h"
#include "exec.h"
#include "logging.h"

using namespace xpool::xccl;

namespace {

xcclResult_t checkComm(const char *call, xcclComm_t comm) {
  if (comm == nullptr) return fail(xcclInvalidArgument, "{}: comm is NULL", call);
  return xcclSuccess;
}

// An integer environment variable; `found` false when unset.
xcclResult_t envInt(const char *name, int *value, bool *found) {
  const char *text = std::getenv(name);
  *found = text != nullptr && *text != '\0';
  if (!*found) return xcclSuccess;
  char *end = nullptr;
  const long parsed = std::strtol(text, &end, 10);
  if (*end != '\0' || parsed < 0 || parsed > 1 << 30) {
    return fail(xcclInvalidArgument, "xcclCommInitFromEnv: {}={} is not a non-negative integer",
                name, text);
  }
  *value = static_cast<int>(parsed);
  return xcclSuccess;
}

xcclResult_t firstEnvInt(std::initializer_list<const char *> names, int *value, const char **used) {
  for (const char *name : names) {
    bool found = false;
    XCCL_RETURN_IF_ERROR(envInt(name, value, &found));
    if (found) {
      *used = name;
      return xcclSuccess;
    }
  }
  *used = nullptr;
  return xcclSuccess;
}

// XPOOL_DEVICE=backend or backend:index: the index-th device (default 0)
// of that backend, e.g. "cuda" or "cpu:1".
xcclResult_t deviceByBackend(const char *text, int *device) {
  std::string backend(text);
  int wanted = 0;
  if (const size_t colon = backend.find(':'); colon != std::string::npos) {
    char *end = nullptr;
    const long index = std::strtol(backend.c_str() + colon + 1, &end, 10);
    if (*end != '\0' || index < 0) {
      return fail(xcclInvalidArgument,
                  "xcclCommInitFromEnv: XPOOL_DEVICE={}: the index after ':' is not a "
                  "non-negative integer",
                  text);
    }
    wanted = static_cast<int>(index);
    backend.resize(colon);
  }
  if (xpInit() != XP_SUCCESS) {
    return fail(xcclDeviceError, "xcclCommInitFromEnv: xpInit: {}", xpGetLastError());
  }
  int count = 0, seen = 0;
  xpDeviceCount(&count);
  for (int d = 0; d < count; ++d) {
    xpDeviceProps props{};
    props.struct_size = sizeof props;
    if (xpDeviceGetProperties(d, &props) == XP_SUCCESS && backend == props.backend &&
        seen++ == wanted) {
      *device = d;
      xpShutdown();
      return xcclSuccess;
    }
  }
  xpShutdown();
  return fail(xcclInvalidArgument,
              "xcclCommInitFromEnv: XPOOL_DEVICE={}: the pool has {} {} device(s), not {}", text,
              seen, backend, wanted + 1);
}

uint64_t mix(uint64_t hash, uint64_t value) {
  hash ^= value + 0x9e3779b97f4a7c15ull + (hash << 6) + (hash >> 2);
  return hash;
}

}  // namespace

extern "C" {

xcclResult_t xcclGetUniqueId(xcclUniqueId *unique_id) {
  if (unique_id == nullptr) return fail(xcclInvalidArgument, "xcclGetUniqueId: uniqueId is NULL");
  const Config config = readConfig();
  sockaddr_in address{};
  address.sin_family = AF_INET;
  XCCL_RETURN_IF_ERROR(localAddress(config.socket_ifname, &address.sin_addr));
  UniqueIdContents id;
  XCCL_RETURN_IF_ERROR(startRoot(address, config.timeout_ms, nullptr, &id));
  *unique_id = encodeId(id);
  return xcclSuccess;
}

xcclResult_t xcclCommInitRank(xcclComm_t *comm, int nranks, xcclUniqueId comm_id, int rank,
                              int device) {
  if (comm == nullptr) return fail(xcclInvalidArgument, "xcclCommInitRank: comm is NULL");
  *comm = nullptr;
  if (inGroup()) {
    return fail(xcclInvalidUsage,
                "xcclCommInitRank: called inside xcclGroupStart/End; create communicators "
                "outside groups (or use xcclCommInitAll)");
  }
  return createCommunicator(nranks, decodeId(comm_id), rank, device, "xcclCommInitRank", comm);
}

xcclResult_t xcclCommInitAll(xcclComm_t *comms, int ndev, const int *devices) {
  if (comms == nullptr) return fail(xcclInvalidArgument, "xcclCommInitAll: comms is NULL");
  if (ndev < 1)
    return fail(xcclInvalidArgument, "xcclCommInitAll: ndev is {}; it must be >= 1", ndev);
  // Refuse bad devices before any rank starts waiting for the others.
  if (xpInit() != XP_SUCCESS) {
    return fail(xcclDeviceError, "xcclCommInitAll: xpInit: {}", xpGetLastError());
  }
  int device_count = 0;
  xpDeviceCount(&device_count);
  xpShutdown();
  for (int i = 0; i < ndev; ++i) {
    const int device = devices != nullptr ? devices[i] : i;
    if (device < 0 || device >= device_count) {
      return fail(xcclInvalidArgument,
                  "xcclCommInitAll: rank {}'s device {} does not exist (the pool has {} devices)",
                  i, device, device_count);
    }
  }
  const Config config = readConfig();
  sockaddr_in loopback{};
  loopback.sin_family = AF_INET;
  loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  UniqueIdContents id;
  XCCL_RETURN_IF_ERROR(startRoot(loopback, config.timeout_ms, nullptr, &id));
  std::vector<xcclResult_t> results(static_cast<size_t>(ndev), xcclSuccess);
  std::vector<std::string> messages(static_cast<size_t>(ndev));
  std::vector<std::thread> threads;
  for (int i = 0; i < ndev; ++i) {
    threads.emplace_back([&, i] {
      const int device = devices != nullptr ? devices[i] : i;
      results[static_cast<size_t>(i)] =
          createCommunicator(ndev, id, i, device, "xcclCommInitAll", &comms[i]);
      messages[static_cast<size_t>(i)] = lastError();
    });
  }
  for (std::thread &thread : threads) thread.join();
  for (int i = 0; i < ndev; ++i) {
    if (results[static_cast<size_t>(i)] == xcclSuccess) continue;
    for (int j = 0; j < ndev; ++j) {
      if (comms[j] != nullptr) xcclCommAbort(comms[j]);
      comms[j] = nullptr;
    }
    return fail(results[static_cast<size_t>(i)], "xcclCommInitAll: rank {}: {}", i,
                messages[static_cast<size_t>(i)]);
  }
  return xcclSuccess;
}

xcclResult_t xcclCommInitFromEnv(xcclComm_t *comm, int device) {
  constexpr const char *kCall = "xcclCommInitFromEnv";
  if (comm == nullptr) return fail(xcclInvalidArgument, "{}: comm is NULL", kCall);
  *comm = nullptr;
  int rank = 0, size = 0, port = 0;
  const char *rank_name = nullptr, *size_name = nullptr, *port_name = nullptr;
  XCCL_RETURN_IF_ERROR(
      firstEnvInt({"XPOOL_RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK"}, &rank, &rank_name));
  XCCL_RETURN_IF_ERROR(
      firstEnvInt({"XPOOL_WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}, &size, &size_name));
  XCCL_RETURN_IF_ERROR(firstEnvInt({"XPOOL_MASTER_PORT"}, &port, &port_name));
  if (rank_name == nullptr || size_name == nullptr) {
    return fail(xcclInvalidUsage,
                "{}: no rank and world size in the environment (set XPOOL_RANK and "
                "XPOOL_WORLD_SIZE, or start under mpirun)",
                kCall);
  }
  if (port_name == nullptr && size > 1) {
    return fail(xcclInvalidUsage,
                "{}: XPOOL_MASTER_PORT is not set; rank 0 serves the bootstrap on "
                "XPOOL_MASTER_ADDR:XPOOL_MASTER_PORT",
                kCall);
  }
  const char *address_text = std::getenv("XPOOL_MASTER_ADDR");
  if (address_text == nullptr || *address_text == '\0') address_text = "127.0.0.1";
  sockaddr_in root{};
  XCCL_RETURN_IF_ERROR(resolveAddress(address_text, port, "XPOOL_MASTER_ADDR", &root));
  if (device < 0) {
    int chosen = 0;
    const char *device_name = nullptr;
    const char *device_text = std::getenv("XPOOL_DEVICE");
    if (device_text != nullptr && *device_text != '\0' &&
        (*device_text < '0' || *device_text > '9')) {
      XCCL_RETURN_IF_ERROR(deviceByBackend(device_text, &chosen));
      device_name = "XPOOL_DEVICE";
    } else {
      XCCL_RETURN_IF_ERROR(firstEnvInt({"XPOOL_DEVICE"}, &chosen, &device_name));
    }
    if (device_name == nullptr) {
      if (xpInit() != XP_SUCCESS) {
        return fail(xcclDeviceError, "{}: xpInit: {}", kCall, xpGetLastError());
      }
      int count = 0;
      xpDeviceCount(&count);
      xpShutdown();
      const char *local_name = nullptr;
      int local = rank;
      XCCL_RETURN_IF_ERROR(
          firstEnvInt({"XPOOL_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK"}, &local, &local_name));
      chosen = count > 0 ? local % count : 0;
    }
    device = chosen;
  }
  // Every rank derives the same key from the launch settings, so no id
  // needs to travel: rank 0 serves the root at the known address.
  uint64_t key[2] = {0x78706f6f6c726f6full, 0};
  key[1] = mix(mix(mix(key[1], root.sin_addr.s_addr), root.sin_port), static_cast<uint64_t>(size));
  if (const char *job = std::getenv("XPOOL_JOB_ID")) {
    for (const char *c = job; *c != '\0'; ++c) key[0] = mix(key[0], static_cast<uint8_t>(*c));
  }
  UniqueIdContents id = idFor(root, key);
  const Config config = readConfig();
  if (size == 1) {
    // Alone: a private root on loopback, no port to agree on.
    sockaddr_in loopback{};
    loopback.sin_family = AF_INET;
    loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    XCCL_RETURN_IF_ERROR(startRoot(loopback, config.timeout_ms, nullptr, &id));
  } else if (rank == 0) {
    XCCL_RETURN_IF_ERROR(startRoot(root, config.timeout_ms, key, &id));
  }
  return createCommunicator(size, id, rank, device, kCall, comm);
}

xcclResult_t xcclCommSplit(xcclComm_t comm, int color, int key, xcclComm_t *newcomm) {
  constexpr const char *kCall = "xcclCommSplit";
  XCCL_RETURN_IF_ERROR(checkComm(kCall, comm));
  if (newcomm == nullptr) return fail(xcclInvalidArgument, "{}: newcomm is NULL", kCall);
  *newcomm = nullptr;
  if (color < 0 && color != XCCL_SPLIT_NOCOLOR) {
    return fail(xcclInvalidArgument, "{}: color {} is negative (only XCCL_SPLIT_NOCOLOR is)", kCall,
                color);
  }
  XCCL_RETURN_IF_ERROR(comm->brokenResult(kCall));
  XCCL_RETURN_IF_ERROR(drain(comm, kCall));
  const size_t n = static_cast<size_t>(comm->nranks);
  struct Entry {
    int32_t color, key, rank;
  };
  std::vector<Entry> entries(n);
  const Entry mine{color, key, comm->rank};
  OpLabel what{kCall};
  what.note = "exchanging colors";
  xcclResult_t result =
      allGather(*comm, reinterpret_cast<const char *>(&mine),
                reinterpret_cast<char *>(entries.data()), sizeof(Entry), xcclUint8, what);
  if (result != xcclSuccess) return comm->breakWith(result, lastError(), comm->rank);
  std::vector<Entry> members;
  for (const Entry &entry : entries) {
    if (entry.color == color && color != XCCL_SPLIT_NOCOLOR) members.push_back(entry);
  }
  std::stable_sort(members.begin(), members.end(), [](const Entry &a, const Entry &b) {
    return a.key != b.key ? a.key < b.key : a.rank < b.rank;
  });
  // The first member of each color starts a root; everyone learns the ids.
  UniqueIdContents own_id{};
  if (!members.empty() && members.front().rank == comm->rank) {
    sockaddr_in address = comm->infos[static_cast<size_t>(comm->rank)].listen;
    address.sin_port = 0;
    XCCL_RETURN_IF_ERROR(startRoot(address, comm->config.timeout_ms, nullptr, &own_id));
  }
  std::vector<UniqueIdContents> ids(n);
  result =
      allGather(*comm, reinterpret_cast<const char *>(&own_id),
                reinterpret_cast<char *>(ids.data()), sizeof(UniqueIdContents), xcclUint8, what);
  if (result != xcclSuccess) return comm->breakWith(result, lastError(), comm->rank);
  if (members.empty()) return xcclSuccess;
  const auto position = std::find_if(members.begin(), members.end(),
                                     [&](const Entry &e) { return e.rank == comm->rank; });
  return createCommunicator(
      static_cast<int>(members.size()), ids[static_cast<size_t>(members.front().rank)],
      static_cast<int>(position - members.begin()), comm->device, kCall, newcomm);
}

xcclResult_t xcclCommDestroy(xcclComm_t comm) {
  if (comm == nullptr) return xcclSuccess;  // like free(NULL)
  XCCL_RETURN_IF_ERROR(drain(comm, "xcclCommDestroy"));
  const xcclResult_t flushed = finalizeNccl(*comm, "xcclCommDestroy");
  comm->engine.sayGoodbye();
  if (flushed != xcclSuccess) {
    const std::string message = lastError();
    release(comm);
    return fail(flushed, "{}", message);
  }
  release(comm);
  return xcclSuccess;
}

xcclResult_t xcclCommAbort(xcclComm_t comm) {
  if (comm == nullptr) return xcclSuccess;
  comm->aborted.store(true);
  comm->breakWith(xcclRemoteError, fmt::format("rank {} called xcclCommAbort", comm->rank),
                  comm->rank);
  {
    std::lock_guard lock(comm->mutex);
    comm->turn.notify_all();
  }
  release(comm);
  return xcclSuccess;
}

xcclResult_t xcclCommGetAsyncError(xcclComm_t comm, xcclResult_t *async_error) {
  XCCL_RETURN_IF_ERROR(checkComm("xcclCommGetAsyncError", comm));
  if (async_error == nullptr) {
    return fail(xcclInvalidArgument, "xcclCommGetAsyncError: asyncError is NULL");
  }
  std::lock_guard lock(comm->mutex);
  if (comm->async_error.failed()) {
    *async_error = comm->async_error.result;
    setError(comm->async_error.result, comm->async_error.message);
  } else if (const xcclResult_t nccl = ncclAsyncState(*comm);
             nccl != xcclSuccess && nccl != xcclInProgress) {
    *async_error = nccl;  // NCCL's message is this thread's last error
  } else {
    *async_error =
        comm->finished < comm->issued || nccl == xcclInProgress ? xcclInProgress : xcclSuccess;
  }
  return xcclSuccess;
}

xcclResult_t xcclCommCount(xcclComm_t comm, int *count) {
  XCCL_RETURN_IF_ERROR(checkComm("xcclCommCount", comm));
  if (count == nullptr) return fail(xcclInvalidArgument, "xcclCommCount: count is NULL");
  *count = comm->nranks;
  return xcclSuccess;
}

xcclResult_t xcclCommUserRank(xcclComm_t comm, int *rank) {
  XCCL_RETURN_IF_ERROR(checkComm("xcclCommUserRank", comm));
  if (rank == nullptr) return fail(xcclInvalidArgument, "xcclCommUserRank: rank is NULL");
  *rank = comm->rank;
  return xcclSuccess;
}

xcclResult_t xcclCommDevice(xcclComm_t comm, int *device) {
  XCCL_RETURN_IF_ERROR(checkComm("xcclCommDevice", comm));
  if (device == nullptr) return fail(xcclInvalidArgument, "xcclCommDevice: device is NULL");
  *device = comm->device;
  return xcclSuccess;
}

xcclResult_t xcclGroupStart(void) {
  return groupStart();
}
xcclResult_t xcclGroupEnd(void) {
  return groupEnd();
}

}  // extern "C"
