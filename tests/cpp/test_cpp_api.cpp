// include/torch_accel/torch_accel.h as a LibTorch program sees it: linked to
// libtorch_accel.so only. CTest runs each test in its own process, so each
// one starts from an unconfigured device.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "torch_accel/torch_accel.h"

namespace {

const c10::Device kAccel("accel");

TEST(CppApi, DeviceIsNamedAccelWithoutPython) {
  EXPECT_EQ(kAccel.type(), c10::DeviceType::PrivateUse1);
  EXPECT_EQ(c10::get_privateuse1_backend(), "accel");
  const at::Tensor cpu = at::arange(12, at::kFloat).reshape({3, 4});
  const at::Tensor on_accel = cpu.to(kAccel);
  EXPECT_EQ(on_accel.device(), c10::Device("accel:0"));
  EXPECT_TRUE(at::equal((on_accel * 2 + 1).cpu(), cpu * 2 + 1));
}

TEST(CppApi, ConfigureChoosesArchAndDeviceCount) {
  torch_accel::configure("blackhole_p150", 2);
  EXPECT_EQ(torch_accel::device_count(), 2);
  EXPECT_EQ(torch_accel::arch_name(), "blackhole_p150");
  EXPECT_NE(torch_accel::arch_json().find("blackhole_p150"), std::string::npos);
  const at::Tensor second = at::ones({4}, at::TensorOptions().device("accel:1"));
  EXPECT_EQ(second.device().index(), 1);
}

TEST(CppApi, ConfigureRejectsUnknownPreset) {
  try {
    torch_accel::configure("no_such_chip");
    FAIL() << "an unknown preset was accepted";
  } catch (const c10::ValueError& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("no_such_chip"), std::string::npos);
  }
}

TEST(CppApi, ConfigureRejectsDeviceCountOutOfRange) {
  EXPECT_THROW(torch_accel::configure(std::nullopt, 0), c10::ValueError);
  EXPECT_THROW(torch_accel::configure(std::nullopt, 65), c10::ValueError);
}

TEST(CppApi, ConfigureAfterFirstUseIsAnError) {
  at::ones({2}, kAccel);
  EXPECT_THROW(torch_accel::configure("tiny"), c10::Error);
}

TEST(CppApi, PresetsListsTheBuiltInChips) {
  const auto names = torch_accel::presets();
  EXPECT_NE(std::find(names.begin(), names.end(), "wormhole_n150"), names.end());
}

TEST(CppApi, ProfilePricesEveryProgram) {
  const at::Tensor a = at::randn({256, 256}).to(kAccel);
  const at::Tensor b = at::randn({256, 256}).to(kAccel);
  const torch_accel::Profile profile = torch_accel::profile([&] { at::mm(a, b).relu_(); });
  ASSERT_EQ(profile.programs.size(), 2u);
  const auto& mm = profile.programs[0];
  EXPECT_EQ(mm.op, "aten::mm");
  EXPECT_EQ(mm.flops, int64_t{2} * 256 * 256 * 256);
  EXPECT_GT(mm.time_s, 0);
  EXPECT_GT(mm.dram_bytes, 0);
  EXPECT_DOUBLE_EQ(profile.total_time_s(), mm.time_s + profile.programs[1].time_s);
  const auto rows = profile.by_op();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].op, "aten::mm");  // slowest first
  EXPECT_NE(profile.summary().find("total: 2 programs"), std::string::npos);
}

TEST(CppApi, ProfileOfNothingIsEmpty) {
  const auto profile = torch_accel::profile([] {});
  EXPECT_TRUE(profile.programs.empty());
  EXPECT_EQ(profile.total_time_s(), 0);
}

TEST(CppApi, ProfileEndsWhenTheFunctionThrows) {
  const at::Tensor a = at::ones({64}, kAccel);
  EXPECT_THROW(torch_accel::profile([&] {
                 (a + 1).sum();
                 throw std::runtime_error("user error");
               }),
               std::runtime_error);
  // The failed collection neither stays open nor leaks into the next one.
  const auto next = torch_accel::profile([&] { a.neg(); });
  ASSERT_EQ(next.programs.size(), 1u);
  EXPECT_EQ(next.programs[0].op, "aten::neg");
}

TEST(CppApi, StartAndStopMustPair) {
  EXPECT_THROW(torch_accel::stop_profiling(), c10::Error);
  torch_accel::start_profiling();
  EXPECT_THROW(torch_accel::start_profiling(), c10::Error);
  EXPECT_TRUE(torch_accel::stop_profiling().programs.empty());
}

TEST(CppApi, EstimateMatchesEagerProgramForProgram) {
  torch_accel::configure("wormhole_n150");
  const at::Tensor a = at::randn({256, 384}).to(kAccel);
  const at::Tensor b = at::randn({384, 128}).to(kAccel);
  const auto eager = torch_accel::profile([&] { at::mm(a, b).softmax(-1); });
  const auto planned = torch_accel::estimate(
      [&] {
        const at::Tensor x = at::empty({256, 384}, kAccel);
        const at::Tensor y = at::empty({384, 128}, kAccel);
        at::mm(x, y).softmax(-1);
      },
      "wormhole_n150");
  EXPECT_EQ(planned.arch, "wormhole_n150");
  ASSERT_EQ(planned.programs.size(), eager.programs.size());
  for (size_t i = 0; i < eager.programs.size(); ++i) {
    EXPECT_EQ(planned.programs[i].op, eager.programs[i].op);
    EXPECT_EQ(planned.programs[i].flops, eager.programs[i].flops);
    EXPECT_EQ(planned.programs[i].dram_bytes, eager.programs[i].dram_bytes);
    EXPECT_DOUBLE_EQ(planned.programs[i].time_s, eager.programs[i].time_s);
  }
  // x and y are alive together.
  EXPECT_GE(planned.peak_bytes, uint64_t{(256 * 384 + 384 * 128) * 4});
}

TEST(CppApi, EstimatePricesAnotherChipWithoutItsMemory) {
  // 3 x 2 GiB of bf16 operands: more than this process could hold, priced anyway.
  const auto big = [] {
    const auto bf16 = at::TensorOptions().device(kAccel).dtype(at::kBFloat16);
    at::mm(at::empty({32768, 32768}, bf16), at::empty({32768, 32768}, bf16));
  };
  const auto wormhole = torch_accel::estimate(big, "wormhole_n150");
  const auto blackhole = torch_accel::estimate(big, "blackhole_p150");
  ASSERT_EQ(wormhole.programs.size(), 1u);
  EXPECT_EQ(wormhole.programs[0].flops, int64_t{2} * 32768 * 32768 * 32768);
  EXPECT_GT(wormhole.total_time_s(), blackhole.total_time_s());
}

TEST(CppApi, EstimateCoversTheBackwardPass) {
  const auto step = [](bool backward) {
    return [backward] {
      const auto options = at::TensorOptions().device(kAccel);
      const at::Tensor w = at::empty({512, 512}, options).requires_grad_();
      const at::Tensor loss = at::mm(at::empty({128, 512}, options), w).sum();
      if (backward) loss.backward();
    };
  };
  const auto forward = torch_accel::estimate(step(false), "wormhole_n150");
  const auto training = torch_accel::estimate(step(true), "wormhole_n150");
  int64_t backward_mm = 0;
  for (size_t i = forward.programs.size(); i < training.programs.size(); ++i)
    backward_mm += training.programs[i].op == "aten::mm";
  EXPECT_EQ(backward_mm, 1);  // grad of w only: the input needs none
  EXPECT_GT(training.total_time_s(), forward.total_time_s());
}

TEST(CppApi, EstimateRejectsUnknownArch) {
  EXPECT_THROW(torch_accel::estimate([] {}, "no_such_chip"), c10::ValueError);
}

}  // namespace
