#include "raw_opencl.h"

namespace membench {

const char *const kOpenClEmptyKernel = "__kernel void empty(void) {}\n";

}  // namespace membench

#ifndef XPOOL_MEMBENCH_HAVE_OPENCL

namespace membench {

std::unique_ptr<RawDevice> makeRawOpenCL(int, const std::string &, std::string *why) {
  *why = "n/a (xpool-membench was built without OpenCL)";
  return nullptr;
}

}  // namespace membench

#else

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <stdexcept>
#include <vector>

namespace membench {

namespace {

void check(cl_int err, const char *call) {
  if (err != CL_SUCCESS) {
    throw std::runtime_error(std::string("raw OpenCL: ") + call + " failed with error " +
                             std::to_string(err));
  }
}

std::string deviceName(cl_device_id device) {
  size_t size = 0;
  if (clGetDeviceInfo(device, CL_DEVICE_NAME, 0, nullptr, &size) != CL_SUCCESS) return "";
  std::string name(size, '\0');
  if (clGetDeviceInfo(device, CL_DEVICE_NAME, size, name.data(), nullptr) != CL_SUCCESS) return "";
  name.resize(name.find('\0') == std::string::npos ? name.size() : name.find('\0'));
  while (!name.empty() && name.back() == ' ') name.pop_back();
  return name;
}

struct Found {
  cl_platform_id platform = nullptr;
  cl_device_id device = nullptr;
  int platform_index = 0, device_index = 0;
};

// Every device of every platform, in the opencl backend's order.
std::vector<Found> listDevices() {
  std::vector<Found> all;
  cl_uint platforms = 0;
  if (clGetPlatformIDs(0, nullptr, &platforms) != CL_SUCCESS || platforms == 0) return all;
  std::vector<cl_platform_id> ids(platforms);
  if (clGetPlatformIDs(platforms, ids.data(), nullptr) != CL_SUCCESS) return all;
  for (cl_uint p = 0; p < platforms; ++p) {
    cl_uint count = 0;
    if (clGetDeviceIDs(ids[p], CL_DEVICE_TYPE_ALL, 0, nullptr, &count) != CL_SUCCESS) continue;
    std::vector<cl_device_id> devices(count);
    if (clGetDeviceIDs(ids[p], CL_DEVICE_TYPE_ALL, count, devices.data(), nullptr) != CL_SUCCESS) {
      continue;
    }
    for (cl_uint d = 0; d < count; ++d) {
      all.push_back({ids[p], devices[d], static_cast<int>(p), static_cast<int>(d)});
    }
  }
  return all;
}

class RawOpenCL : public RawDevice {
 public:
  explicit RawOpenCL(const Found &found) : found_(found) {
    cl_int err = CL_SUCCESS;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                     reinterpret_cast<cl_context_properties>(found.platform), 0};
    context_ = clCreateContext(props, 1, &found.device, nullptr, nullptr, &err);
    check(err, "clCreateContext");
    queue_ = clCreateCommandQueue(context_, found.device, 0, &err);
    check(err, "clCreateCommandQueue");
    const char *source = kOpenClEmptyKernel;
    program_ = clCreateProgramWithSource(context_, 1, &source, nullptr, &err);
    check(err, "clCreateProgramWithSource");
    check(clBuildProgram(program_, 1, &found.device, "", nullptr, nullptr), "clBuildProgram");
    kernel_ = clCreateKernel(program_, "empty", &err);
    check(err, "clCreateKernel");
  }
  ~RawOpenCL() override {
    for (cl_mem buffer : buffers_) {
      if (buffer != nullptr) clReleaseMemObject(buffer);
    }
    clReleaseKernel(kernel_);
    clReleaseProgram(program_);
    clReleaseCommandQueue(queue_);
    clReleaseContext(context_);
  }

  std::string describe() const override {
    return "OpenCL API directly on platform " + std::to_string(found_.platform_index) + " device " +
           std::to_string(found_.device_index) + " (" + deviceName(found_.device) +
           "): own context, queue and buffers; blocking clEnqueueWrite/Read/CopyBuffer; "
           "launch = clEnqueueNDRangeKernel(1 work-item) + clFinish";
  }
  bool ownsBuffers() const override { return true; }

  void allocate(size_t bytes) override {
    for (cl_mem &buffer : buffers_) {
      cl_int err = CL_SUCCESS;
      buffer = clCreateBuffer(context_, CL_MEM_READ_WRITE, bytes, nullptr, &err);
      check(err, "clCreateBuffer");
    }
    fill(Buf::kA, 0, bytes);  // first touch, once
    fill(Buf::kB, 0, bytes);
  }

  void toDevice(int, Buf dst, const void *src, size_t bytes) override {
    check(clEnqueueWriteBuffer(queue_, buffer(dst), CL_TRUE, 0, bytes, src, 0, nullptr, nullptr),
          "clEnqueueWriteBuffer");
  }
  void toHost(int, void *dst, Buf src, size_t bytes) override {
    check(clEnqueueReadBuffer(queue_, buffer(src), CL_TRUE, 0, bytes, dst, 0, nullptr, nullptr),
          "clEnqueueReadBuffer");
  }
  void deviceToDevice(int, Buf dst, Buf src, size_t bytes) override {
    check(clEnqueueCopyBuffer(queue_, buffer(src), buffer(dst), 0, 0, bytes, 0, nullptr, nullptr),
          "clEnqueueCopyBuffer");
    check(clFinish(queue_), "clFinish");
  }
  void fill(Buf dst, int value, size_t bytes) override {
    const unsigned char pattern = static_cast<unsigned char>(value);
    check(clEnqueueFillBuffer(queue_, buffer(dst), &pattern, 1, 0, bytes, 0, nullptr, nullptr),
          "clEnqueueFillBuffer");
    check(clFinish(queue_), "clFinish");
  }

  void launch() override {
    const size_t one = 1;
    check(clEnqueueNDRangeKernel(queue_, kernel_, 1, nullptr, &one, &one, 0, nullptr, nullptr),
          "clEnqueueNDRangeKernel");
  }
  void synchronize() override { check(clFinish(queue_), "clFinish"); }

 private:
  cl_mem buffer(Buf which) { return buffers_[static_cast<int>(which)]; }

  Found found_;
  cl_context context_ = nullptr;
  cl_command_queue queue_ = nullptr;
  cl_program program_ = nullptr;
  cl_kernel kernel_ = nullptr;
  cl_mem buffers_[2] = {nullptr, nullptr};
};

}  // namespace

std::unique_ptr<RawDevice> makeRawOpenCL(int backend_device, const std::string &name,
                                         std::string *why) {
  const std::vector<Found> all = listDevices();
  const Found *match = nullptr;
  if (backend_device >= 0 && backend_device < static_cast<int>(all.size()) &&
      deviceName(all[static_cast<size_t>(backend_device)].device) == name) {
    match = &all[static_cast<size_t>(backend_device)];
  } else {
    for (const Found &found : all) {  // order differs: fall back to the name
      if (deviceName(found.device) == name) {
        match = &found;
        break;
      }
    }
  }
  if (match == nullptr) {
    *why = "n/a (no OpenCL device named '" + name + "' at position " +
           std::to_string(backend_device) + " among " + std::to_string(all.size()) + ")";
    return nullptr;
  }
  return std::make_unique<RawOpenCL>(*match);
}

}  // namespace membench

#endif
