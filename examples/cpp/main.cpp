// A two-layer MLP's forward and backward pass and a matmul + softmax on the
// accel device, checked against the CPU, then the performance model's profile
// and an estimate of a bigger batch on another chip.
// Exits non-zero when accel and CPU disagree.
#include <torch/torch.h>
#include <torch_accel/torch_accel.h>

#include <cstdio>
#include <iostream>

namespace {

// torch.testing.assert_close's default tolerances for float32.
constexpr double kRtol = 1.3e-6;
constexpr double kAtol = 1e-5;

bool agree(const char* what, const torch::Tensor& on_accel, const torch::Tensor& on_cpu) {
  const torch::Tensor got = on_accel.cpu();
  const bool ok = torch::allclose(got, on_cpu, kRtol, kAtol);
  const double err = (got - on_cpu).abs().max().item<double>();
  std::printf("%-22s max |accel - cpu| = %.3g  %s\n", what, err, ok ? "ok" : "MISMATCH");
  return ok;
}

struct Mlp {
  torch::Tensor w1, b1, w2, b2;

  Mlp to(const torch::Device& device) const {
    auto leaf = [&](const torch::Tensor& t) { return t.detach().to(device).requires_grad_(); };
    return {leaf(w1), leaf(b1), leaf(w2), leaf(b2)};
  }
  torch::Tensor loss(const torch::Tensor& x, const torch::Tensor& target) const {
    const torch::Tensor hidden = torch::relu(torch::addmm(b1, x, w1));
    return torch::cross_entropy_loss(torch::addmm(b2, hidden, w2), target);
  }
};

}  // namespace

int main() {
  torch_accel::configure("wormhole_n150");
  const torch::Device accel("accel");
  std::cout << "device " << accel << " on " << torch_accel::arch_name() << ", "
            << torch_accel::device_count() << " device(s)\n";

  torch::manual_seed(0);
  const Mlp cpu_mlp{torch::randn({256, 512}) * 0.05, torch::zeros({512}),
                    torch::randn({512, 10}) * 0.05, torch::zeros({10})};
  const torch::Tensor x = torch::randn({64, 256});
  const torch::Tensor target = torch::randint(0, 10, {64});
  const torch::Tensor a = torch::randn({128, 384});
  const torch::Tensor b = torch::randn({384, 96});

  const Mlp accel_mlp = cpu_mlp.to(accel);
  const Mlp reference = cpu_mlp.to(torch::kCPU);
  torch::Tensor accel_loss, accel_probs;
  const torch_accel::Profile profile = torch_accel::profile([&] {
    accel_loss = accel_mlp.loss(x.to(accel), target.to(accel));
    accel_loss.backward();
    accel_probs = torch::softmax(torch::matmul(a.to(accel), b.to(accel)), -1);
  });
  const torch::Tensor cpu_loss = reference.loss(x, target);
  cpu_loss.backward();

  bool ok = agree("loss", accel_loss, cpu_loss);
  ok &= agree("grad w1", accel_mlp.w1.grad(), reference.w1.grad());
  ok &= agree("grad b1", accel_mlp.b1.grad(), reference.b1.grad());
  ok &= agree("grad w2", accel_mlp.w2.grad(), reference.w2.grad());
  ok &= agree("grad b2", accel_mlp.b2.grad(), reference.b2.grad());
  ok &= agree("softmax(a @ b)", accel_probs, torch::softmax(torch::matmul(a, b), -1));

  std::cout << "\nmodelled on " << torch_accel::arch_name() << ":\n" << profile.summary() << "\n";
  // Estimate mode: the same step planned for a bigger chip and batch, nothing executed.
  const torch_accel::Estimate planned = torch_accel::estimate(
      [&] {
        const Mlp virtual_mlp = cpu_mlp.to(accel);
        virtual_mlp.loss(torch::empty({4096, 256}, accel), torch::zeros({4096}, torch::TensorOptions(accel).dtype(torch::kLong)))
            .backward();
      },
      "blackhole_p150");
  std::cout << "\nestimated, batch 4096 on " << planned.arch << ":\n" << planned.summary() << "\n";
  if (profile.programs.empty() || !(profile.total_time_s() > 0) || !(planned.total_time_s() > 0)) {
    std::cerr << "the profile recorded no device programs\n";
    return 1;
  }
  return ok ? 0 : 1;
}
