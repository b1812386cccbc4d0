// The C++ wrapper: owners free what they hold, and failures become
// exceptions that carry the status and the runtime's message.
#include <gtest/gtest.h>

#include <vector>

#include "xpool/runtime.hpp"

namespace {

TEST(RuntimeHpp, OwnersRoundTripAndRelease) {
  xpool::Session session;
  ASSERT_GE(xpool::Session::deviceCount(), 1);
  std::vector<int> in(1000), out(1000);
  for (int i = 0; i < 1000; ++i) in[i] = i * i;
  {
    xpool::DeviceBuffer buffer(0, in.size() * sizeof(int));
    xpool::PinnedBuffer pinned(in.size() * sizeof(int));
    xpool::Stream stream(0);
    xpool::Event start(0), stop(0);
    start.record(stream);
    stream.copy(buffer.get(), in.data(), buffer.size());
    stream.copy(pinned.get(), buffer.get(), buffer.size());
    stream.copy(out.data(), pinned.get(), buffer.size());
    stop.record(stream);
    stream.synchronize();
    EXPECT_EQ(in, out);
    EXPECT_GE(stop.since(start), 0.0f);
    xpDeviceProps props = xpool::Session::properties(0);
    EXPECT_GE(props.memory_allocated, buffer.size());

    // Moving transfers ownership: exactly one free happens.
    xpool::DeviceBuffer moved = std::move(buffer);
    EXPECT_EQ(buffer.get(), nullptr);
    EXPECT_NE(moved.get(), nullptr);
  }
  xpDeviceProps after = xpool::Session::properties(0);
  EXPECT_EQ(after.memory_allocated, 0u) << "every owner freed its allocation";
}

TEST(RuntimeHpp, FailuresThrowWithTheMessage) {
  xpool::Session session;
  try {
    xpool::DeviceBuffer too_big(0, size_t{1} << 60);
    FAIL() << "an exabyte allocation succeeded";
  } catch (const xpool::Error &error) {
    EXPECT_EQ(error.status(), XP_ERROR_OUT_OF_MEMORY);
    EXPECT_NE(std::string(error.what()).find("1152921504606846976"), std::string::npos)
        << error.what();
  }
  EXPECT_THROW(xpool::Stream(12345), xpool::Error);
  EXPECT_THROW(xpool::Module(0, "/nonexistent/kernels.so"), xpool::Error);
}

}  // namespace
