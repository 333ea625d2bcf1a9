#include <gtest/gtest.h>

#include "perf/clock.h"

using accel::perf::DeviceClock;

TEST(DeviceClock, OneStreamIsTheSumOfItsPrograms) {
  DeviceClock c(4);
  c.schedule(0, 4, 1.0);
  c.schedule(0, 1, 2.0);
  EXPECT_DOUBLE_EQ(c.stream_time(0), 3.0);
  EXPECT_DOUBLE_EQ(c.now(), 3.0);
}

TEST(DeviceClock, DisjointCoresOverlapAcrossStreams) {
  DeviceClock c(4);
  c.schedule(1, 2, 1.0);
  c.schedule(2, 2, 1.0);
  EXPECT_DOUBLE_EQ(c.now(), 1.0);
  c.schedule(1, 3, 1.0);  // needs a core stream 2 holds until t=1: starts at 1
  EXPECT_DOUBLE_EQ(c.stream_time(1), 2.0);
}

TEST(DeviceClock, FullGridProgramsSerialiseAndWaitsDelay) {
  DeviceClock c(4);
  c.schedule(1, 4, 1.0);
  c.schedule(2, 4, 1.0);
  EXPECT_DOUBLE_EQ(c.stream_time(2), 2.0);
  c.wait(3, 5.0);
  EXPECT_DOUBLE_EQ(c.schedule(3, 1, 0.5), 5.5);
}
