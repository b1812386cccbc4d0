// Lifecycle and devices: every device of every platform, one context per
// platform holding all of its devices.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "objects.h"

bool xpbContext::findAllocation(void *buffer, xpool::opencl::Allocation *out) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = allocations.find(static_cast<cl_mem>(buffer));
  if (it == allocations.end()) return false;
  *out = it->second;
  return true;
}

namespace xpool::opencl {

namespace {

std::string platformString(const ClApi &cl, cl_platform_id platform, cl_platform_info what) {
  size_t size = 0;
  if (cl.clGetPlatformInfo(platform, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
  std::string text(size, '\0');
  if (cl.clGetPlatformInfo(platform, what, size, text.data(), nullptr) != CL_SUCCESS) return "";
  text.resize(std::strlen(text.c_str()));
  return text;
}

std::string deviceString(const ClApi &cl, cl_device_id device, cl_device_info what) {
  size_t size = 0;
  if (cl.clGetDeviceInfo(device, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
  std::string text(size, '\0');
  if (cl.clGetDeviceInfo(device, what, size, text.data(), nullptr) != CL_SUCCESS) return "";
  text.resize(std::strlen(text.c_str()));
  // Some drivers pad names with spaces.
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

template <typename T>
T deviceValue(const ClApi &cl, cl_device_id device, cl_device_info what, T fallback) {
  T value{};
  if (cl.clGetDeviceInfo(device, what, sizeof value, &value, nullptr) != CL_SUCCESS)
    return fallback;
  return value;
}

uint64_t fnv1a(const std::string &text, uint64_t hash) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

// A stable 16-byte id for devices without cl_khr_device_uuid: two FNV-1a
// hashes of "platform name, device name, index in platform", marked as an
// RFC 9562 version-8 (custom) UUID.
void hashedUuid(const std::string &platform, const std::string &device, int index,
                uint8_t uuid[16]) {
  std::string key = platform + '\0' + device + '\0' + std::to_string(index);
  uint64_t a = fnv1a(key, 0xcbf29ce484222325ull);
  uint64_t b = fnv1a(key, 0x84222325cbf29ce4ull ^ a);
  for (int i = 0; i < 8; ++i) {
    uuid[i] = static_cast<uint8_t>(a >> (8 * i));
    uuid[8 + i] = static_cast<uint8_t>(b >> (8 * i));
  }
  uuid[6] = static_cast<uint8_t>((uuid[6] & 0x0f) | 0x80);
  uuid[8] = static_cast<uint8_t>((uuid[8] & 0x3f) | 0x80);
}

// "OpenCL 2.1 ..." -> 201.
int clVersionNumber(const std::string &version) {
  int major = 0, minor = 0;
  if (std::sscanf(version.c_str(), "OpenCL %d.%d", &major, &minor) != 2) return 0;
  return major * 100 + minor;
}

void describeDevice(const ClApi &cl, Platform *platform, int index_in_platform, Device &d) {
  d.name = deviceString(cl, d.id, CL_DEVICE_NAME);
  d.vendor = deviceString(cl, d.id, CL_DEVICE_VENDOR);
  d.version = deviceString(cl, d.id, CL_DEVICE_VERSION);
  d.extensions = " " + deviceString(cl, d.id, CL_DEVICE_EXTENSIONS) + " ";
  d.label = "opencl device " + std::to_string(d.index) + " (" + d.name + ")";
  d.pocl_basic =
      platform->name.find("Portable Computing Language") != std::string::npos &&
      (d.version.find("HSTR: basic") != std::string::npos || d.name.rfind("basic", 0) == 0);
  d.global_mem = deviceValue<cl_ulong>(cl, d.id, CL_DEVICE_GLOBAL_MEM_SIZE, 0);
  d.max_alloc = deviceValue<cl_ulong>(cl, d.id, CL_DEVICE_MAX_MEM_ALLOC_SIZE, d.global_mem);
  d.local_mem = deviceValue<cl_ulong>(cl, d.id, CL_DEVICE_LOCAL_MEM_SIZE, 0);
  d.max_work_group = deviceValue<size_t>(cl, d.id, CL_DEVICE_MAX_WORK_GROUP_SIZE, 1);
  d.compute_units = deviceValue<cl_uint>(cl, d.id, CL_DEVICE_MAX_COMPUTE_UNITS, 1);
  cl_uint align_bits = deviceValue<cl_uint>(cl, d.id, CL_DEVICE_MEM_BASE_ADDR_ALIGN, 8);
  d.base_align_bytes = std::max<cl_uint>(1, align_bits / 8);
  cl_uint dims = deviceValue<cl_uint>(cl, d.id, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS, 3);
  std::vector<size_t> sizes(std::max<cl_uint>(dims, 3), 1);
  if (cl.clGetDeviceInfo(d.id, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof(size_t) * dims, sizes.data(),
                         nullptr) != CL_SUCCESS) {
    std::fill(sizes.begin(), sizes.end(), d.max_work_group);
  }
  for (int i = 0; i < 3; ++i) d.max_item_sizes[i] = sizes[i];

  bool have_uuid = false;
  if (d.hasExtension("cl_khr_device_uuid")) {
    have_uuid =
        cl.clGetDeviceInfo(d.id, CL_DEVICE_UUID_KHR, sizeof d.uuid, d.uuid, nullptr) == CL_SUCCESS;
  }
  if (!have_uuid) hashedUuid(platform->name, d.name, index_in_platform, d.uuid);

  if (d.hasExtension("cl_khr_pci_bus_info")) {
    cl_device_pci_bus_info_khr pci{};
    if (cl.clGetDeviceInfo(d.id, CL_DEVICE_PCI_BUS_INFO_KHR, sizeof pci, &pci, nullptr) ==
        CL_SUCCESS) {
      char text[32];
      std::snprintf(text, sizeof text, "%04x:%02x:%02x.%x", pci.pci_domain & 0xffffu,
                    pci.pci_bus & 0xffu, pci.pci_device & 0x1fu, pci.pci_function & 0x7u);
      d.pci_bus_id = text;
    }
  }
  if (d.hasExtension("cl_nv_device_attribute_query")) {
    d.compute_major =
        static_cast<int>(deviceValue<cl_uint>(cl, d.id, CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV, 0));
    d.compute_minor =
        static_cast<int>(deviceValue<cl_uint>(cl, d.id, CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV, 0));
  }
  // CL_DEVICE_IL_VERSION exists from OpenCL 2.1; asking a 1.2 device is an error.
  if (clVersionNumber(d.version) >= 201)
    d.il_version = deviceString(cl, d.id, CL_DEVICE_IL_VERSION);
}

// Adds the devices of one platform; returns a reason when it contributes none.
std::string addPlatform(xpbContext *ctx, cl_platform_id id) {
  const ClApi &cl = *ctx->cl;
  auto platform = std::make_unique<Platform>();
  platform->id = id;
  platform->name = platformString(cl, id, CL_PLATFORM_NAME);
  platform->vendor = platformString(cl, id, CL_PLATFORM_VENDOR);
  platform->version = platformString(cl, id, CL_PLATFORM_VERSION);

  cl_uint count = 0;
  cl_int err = cl.clGetDeviceIDs(id, CL_DEVICE_TYPE_ALL, 0, nullptr, &count);
  if (err == CL_DEVICE_NOT_FOUND || (err == CL_SUCCESS && count == 0)) {
    return "platform '" + platform->name + "' has no devices";
  }
  if (err != CL_SUCCESS) {
    return "clGetDeviceIDs on platform '" + platform->name + "': " + clErrorName(err);
  }
  std::vector<cl_device_id> ids(count);
  err = cl.clGetDeviceIDs(id, CL_DEVICE_TYPE_ALL, count, ids.data(), nullptr);
  if (err != CL_SUCCESS) {
    return "clGetDeviceIDs on platform '" + platform->name + "': " + clErrorName(err);
  }
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM, reinterpret_cast<cl_context_properties>(id),
                                   0};
  platform->context = cl.clCreateContext(props, count, ids.data(), nullptr, nullptr, &err);
  if (platform->context == nullptr || err != CL_SUCCESS) {
    return "clCreateContext on platform '" + platform->name + "': " + clErrorName(err);
  }
  for (cl_uint i = 0; i < count; ++i) {
    auto device = std::make_unique<Device>();
    device->index = static_cast<int>(ctx->devices.size());
    device->platform = platform.get();
    device->id = ids[i];
    describeDevice(cl, platform.get(), static_cast<int>(i), *device);
    logf(ctx->host, XPB_LOG_DEBUG, "%s: %s, %s, %llu bytes, %u compute units",
         device->label.c_str(), device->vendor.c_str(), device->version.c_str(),
         static_cast<unsigned long long>(device->global_mem), device->compute_units);
    ctx->devices.push_back(std::move(device));
  }
  if (!ctx->vendor_version.empty()) ctx->vendor_version += "; ";
  ctx->vendor_version += platform->version;
  ctx->platforms.push_back(std::move(platform));
  return "";
}

}  // namespace

bool Device::hasExtension(const char *ext) const {
  return extensions.find(" " + std::string(ext) + " ") != std::string::npos;
}

Device *deviceAt(xpbContext *ctx, int device, const char *call) {
  if (device < 0 || device >= static_cast<int>(ctx->devices.size())) {
    xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "%s: opencl device %d does not exist (%zu devices)",
            call, device, ctx->devices.size());
    return nullptr;
  }
  return ctx->devices[static_cast<size_t>(device)].get();
}

xpStatus init(const xpbHostApi *host, xpbContext **out) {
  if (host == nullptr || out == nullptr) return XP_ERROR_INVALID_VALUE;
  *out = nullptr;
  std::string why;
  const ClApi *cl = loadClApi(&why);
  if (cl == nullptr) return xpbFail(host, XP_ERROR_NO_DEVICE, "%s", why.c_str());

  cl_uint count = 0;
  cl_int err = cl->clGetPlatformIDs(0, nullptr, &count);
  if (err == CL_PLATFORM_NOT_FOUND_KHR || (err == CL_SUCCESS && count == 0)) {
    return xpbFail(host, XP_ERROR_NO_DEVICE,
                   "no OpenCL platforms: %s found no driver (see /etc/OpenCL/vendors/*.icd or "
                   "OCL_ICD_VENDORS; e.g. install pocl-opencl-icd)",
                   cl->library.c_str());
  }
  if (err != CL_SUCCESS) {
    return clFailAs(host, XP_ERROR_NO_DEVICE, "clGetPlatformIDs", err, "listing OpenCL platforms");
  }
  std::vector<cl_platform_id> ids(count);
  err = cl->clGetPlatformIDs(count, ids.data(), nullptr);
  if (err != CL_SUCCESS) {
    return clFailAs(host, XP_ERROR_NO_DEVICE, "clGetPlatformIDs", err, "listing OpenCL platforms");
  }

  auto ctx = std::make_unique<xpbContext>();
  ctx->host = host;
  ctx->cl = cl;
  std::string reasons;
  for (cl_platform_id id : ids) {
    std::string reason = addPlatform(ctx.get(), id);
    if (!reason.empty()) {
      logf(host, XPB_LOG_DEBUG, "%s", reason.c_str());
      reasons += (reasons.empty() ? "" : "; ") + reason;
    }
  }
  if (ctx->devices.empty()) {
    return xpbFail(host, XP_ERROR_NO_DEVICE, "no OpenCL devices on %u platform(s): %s", count,
                   reasons.c_str());
  }
  logf(host, XPB_LOG_INFO, "%zu device(s) on %zu platform(s): %s", ctx->devices.size(),
       ctx->platforms.size(), ctx->vendor_version.c_str());
  *out = ctx.release();
  return XP_SUCCESS;
}

void shutdown(xpbContext *ctx) {
  if (ctx == nullptr) return;
  // The runtime normally destroys everything first; free what it left.
  std::vector<xpbStream *> streams;
  std::vector<xpbEvent *> events;
  std::vector<xpbModule *> modules;
  {
    std::lock_guard<std::mutex> lock(ctx->mu);
    for (auto &entry : ctx->streams) streams.push_back(entry.first);
    events.assign(ctx->events.begin(), ctx->events.end());
    modules.assign(ctx->modules.begin(), ctx->modules.end());
  }
  if (!streams.empty() || !events.empty() || !modules.empty()) {
    logf(ctx->host, XPB_LOG_DEBUG, "shutdown frees %zu stream(s), %zu event(s), %zu module(s)",
         streams.size(), events.size(), modules.size());
  }
  for (xpbModule *module : modules) moduleUnload(module);
  for (xpbEvent *event : events) eventDestroy(event);
  for (xpbStream *stream : streams) streamDestroy(stream);
  int left = drainCallbacks(std::chrono::seconds(10));
  if (left > 0) {
    logf(ctx->host, XPB_LOG_WARN,
         "shutdown: %d OpenCL event callback(s) still pending after 10 s (work still queued)",
         left);
  }
  freeAllAllocations(ctx);
  if (ctx->abandoned_workers.load() > 0) {
    // A host function outlived its stream: its thread may still enqueue
    // deferred work that names these devices. Keep them rather than risk a
    // use after free (a deliberate, logged leak).
    logf(ctx->host, XPB_LOG_WARN,
         "shutdown: %d host-function thread(s) still running; the backend's device state is "
         "kept for them",
         ctx->abandoned_workers.load());
    return;
  }
  for (auto &platform : ctx->platforms) {
    if (platform->context != nullptr) ctx->cl->clReleaseContext(platform->context);
  }
  delete ctx;
}

const char *vendorVersion(xpbContext *ctx) {
  return ctx->vendor_version.c_str();
}

int deviceCount(xpbContext *ctx) {
  return static_cast<int>(ctx->devices.size());
}

xpStatus deviceProps(xpbContext *ctx, int device, xpDeviceProps *props) {
  Device *d = deviceAt(ctx, device, "device_props");
  if (d == nullptr) return XP_ERROR_INVALID_VALUE;
  if (props == nullptr)
    return xpbFail(ctx->host, XP_ERROR_INVALID_VALUE, "device_props: props is NULL");
  // Honour a caller built against an older, shorter xpDeviceProps.
  size_t size = props->struct_size;
  if (size == 0 || size > sizeof(xpDeviceProps)) size = sizeof(xpDeviceProps);
  xpDeviceProps p;
  std::memset(&p, 0, sizeof p);
  std::memcpy(&p, props, size);
  p.backend_device = device;
  std::snprintf(p.backend, sizeof p.backend, "opencl");
  std::snprintf(p.vendor, sizeof p.vendor, "%s", d->vendor.c_str());
  std::snprintf(p.name, sizeof p.name, "%s", d->name.c_str());
  std::memcpy(p.uuid, d->uuid, sizeof p.uuid);
  int n = std::snprintf(p.stable_id, sizeof p.stable_id, "opencl:");
  for (uint8_t byte : d->uuid) {
    n += std::snprintf(p.stable_id + n, sizeof p.stable_id - static_cast<size_t>(n), "%02x", byte);
  }
  uint64_t allocated = d->allocated.load();
  p.memory_total = d->global_mem;
  p.memory_free = allocated < d->global_mem ? d->global_mem - allocated : 0;
  p.compute_units = static_cast<int>(d->compute_units);
  p.max_threads_per_block = static_cast<int>(d->max_work_group);
  p.shared_mem_per_block = d->local_mem;
  std::snprintf(p.pci_bus_id, sizeof p.pci_bus_id, "%s", d->pci_bus_id.c_str());
  p.numa_node = -1;
  p.host_addressable = 0;
  p.compute_major = d->compute_major;
  p.compute_minor = d->compute_minor;
  p.kernel_pointer_alignment = d->base_align_bytes;
  std::memcpy(props, &p, size);
  return XP_SUCCESS;
}

xpStatus memInfo(xpbContext *ctx, int device, uint64_t *free_bytes, uint64_t *total_bytes) {
  Device *d = deviceAt(ctx, device, "mem_info");
  if (d == nullptr) return XP_ERROR_INVALID_VALUE;
  // OpenCL cannot tell free memory: report total minus what this backend holds.
  uint64_t allocated = d->allocated.load();
  if (free_bytes != nullptr)
    *free_bytes = allocated < d->global_mem ? d->global_mem - allocated : 0;
  if (total_bytes != nullptr) *total_bytes = d->global_mem;
  return XP_SUCCESS;
}

}  // namespace xpool::opencl
