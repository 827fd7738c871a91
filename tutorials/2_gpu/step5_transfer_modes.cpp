// Tutorial 2, step 5 (beyond the source): how data reaches the GPU. Pageable against pinned host
// memory, non_blocking copies, and data that lives on the device.
//
// A copy from ordinary (pageable) host memory goes through a staging buffer the driver pins for
// it, and the host waits for it. Pinned (page-locked) memory, tensor.pin_memory(), lets the GPU's
// copy engine read the host memory directly: faster, and with .to(device, /*non_blocking=*/true)
// the host only queues the copy and goes on. Data already resident on the device costs nothing per
// step. 5a measures the copy rate (GB/s), 5b a training epoch of the MLP in each mode. Pinned
// memory needs CUDA; on a CPU-only machine only the resident baseline runs.
// It starts from step 4 (story.h): the same device, model, optimizer and data recipe, with the
// same held-out samples, at the larger sizes it announces, since a copy of 96 samples is too
// small to time.
#include <functional>
#include <iomanip>
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "common/device.h"
#include "common/models.h"
#include "common/timer.h"
#include "common/train.h"
#include "tutorials/2_gpu/story.h"

// 5a: the copied block and how often (a copy of raw memory, not the story's data).
constexpr int64_t kMiB = 64;
constexpr int64_t kCopies = 20;
// 5b's sizes (262144 samples, batch 16384, 40 timed epochs) are the series' settings, in story.h.

int main(int argc, char** argv) {
  int64_t mib = kMiB, copies = kCopies, samples = series2::kTransferSamples, batch = series2::kTransferBatch,
          epochs = series2::kTransferEpochs;
  std::string device_spec;
  pb::Cli cli("tutorial_2_step5_transfer_modes", "Step 5: pageable, pinned and device-resident data, measured.");
  cli.option("mib", &mib, "MiB per copy in 5a", 1, 4096)
      .option("copies", &copies, "timed copies per mode in 5a", 1, 100000)
      .option("samples", &samples, "training samples in 5b", 1, 100'000'000)
      .option("batch", &batch, "samples per step in 5b", 1, 1 << 24)
      .option("epochs", &epochs, "timed epochs per mode in 5b", 1, 1000);
  series2::add_device_option(cli, &device_spec);
  pb::parse_or_exit(cli, argc, argv);
  const torch::Device device = series2::step1_device(cli.program(), device_spec);
  series2::print_start(5, device);
  // Step 4's sizes, changed on purpose: a copy of 96 samples is too small to time.
  series2::announce_change(4, "training samples", series2::kSamples, samples, series2::kTransferSamples,
                           "a copy of step 4's 96 samples is too small to time; 262144 are 12 MiB of inputs and targets");
  series2::announce_change(4, "batch", series2::kBatch, batch, series2::kTransferBatch,
                           "one copy per step in the pageable and pinned modes, 768 KiB at 16384");
  series2::announce_change(4, "epochs", series2::kEpochs, epochs + 1, series2::kTransferEpochs + 1,
                           "1 warm-up and 40 timed epochs per mode, 656 steps: enough to learn the task and to time it");
  const pb::ModelKind kind = series2::kKind;
  const pb::DataSplit split = series2::step4_data(samples);
  const bool continues = series2::print_holds_step4_data(split);
  const pb::TensorData& data = split.train;
  const std::string why_not = series2::step1_why_not_cuda(device, device_spec);

  // Trains `epochs` epochs after a warm-up; `fetch(begin, end)` delivers a batch on the device.
  // Returns samples/s; `final_loss` gets the last step's loss and `accuracy` the trained model's
  // held-out accuracy (both equal in every mode: same steps).
  auto measure_epochs = [&](const std::function<torch::Tensor(const torch::Tensor&, int64_t, int64_t)>& fetch,
                            const torch::Tensor& inputs, const torch::Tensor& targets, double* final_loss,
                            double* accuracy) {
    pb::Mlp model = series2::step2_model();
    model->to(device);
    torch::optim::SGD optimizer = series2::step3_optimizer(model);
    torch::Tensor loss;
    auto epoch = [&] {
      for (int64_t begin = 0; begin < samples; begin += batch) {
        const int64_t end = std::min(begin + batch, samples);
        optimizer.zero_grad();
        loss = pb::compute_loss(kind, model->forward(fetch(inputs, begin, end)), fetch(targets, begin, end));
        loss.backward();
        optimizer.step();
      }
    };
    epoch();  // warm-up: allocator, kernels, first-touch of the memory
    pb::Timer timer(device);
    for (int64_t e = 0; e < epochs; ++e) epoch();
    const double seconds = timer.seconds();
    *final_loss = loss.item<double>();
    torch::NoGradGuard no_grad;
    const torch::Tensor out = model->forward(split.val.inputs.to(device));
    *accuracy = static_cast<double>(pb::count_correct(kind, out, split.val.targets.to(device))) /
                static_cast<double>(split.val.size());
    return static_cast<double>(samples * epochs) / seconds;
  };
  // Resident: the data was moved once; a batch is a slice of it, already on the device.
  auto slice = [](const torch::Tensor& t, int64_t begin, int64_t end) { return t.slice(0, begin, end); };

  // ---- Step 5a: host-to-device copy rate -----------------------------------------------------
  std::cout << "\n== Step 5a: host-to-device copy rate, " << mib << " MiB ==\n";
  if (!device.is_cuda()) {
    std::cout << "not measured: pageable against pinned host memory needs a CUDA device, and " << why_not
              << "; on a GPU this prints GB/s for pageable, pinned, and pinned non_blocking copies\n";
  }
#if PB_HAVE_CUDA
  if (device.is_cuda()) {
    const torch::Tensor pageable = torch::rand({mib * 1024 * 1024 / 4});
    const torch::Tensor pinned = pageable.pin_memory();  // a page-locked copy of the same data
    torch::Tensor target = torch::empty_like(pageable, torch::TensorOptions().device(device));
    auto rate = [&](const torch::Tensor& source, bool non_blocking) {
      target.copy_(source, non_blocking);  // warm-up
      pb::Timer timer(device);               // synchronises before it starts and before it reads
      for (int64_t i = 0; i < copies; ++i) target.copy_(source, non_blocking);
      return static_cast<double>(source.nbytes()) * static_cast<double>(copies) / timer.seconds() / 1e9;
    };
    std::cout << "pageable:               " << rate(pageable, false) << " GB/s\n";
    std::cout << "pinned:                 " << rate(pinned, false) << " GB/s\n";
    std::cout << "pinned, non_blocking:   " << rate(pinned, true) << " GB/s (the host only queued the copies)\n";
  }
#endif

  // ---- Step 5b: a training epoch per mode ----------------------------------------------------
  std::cout << "\n== Step 5b: training epochs, " << samples << " samples, batch " << batch << " ==\n";
  std::vector<double> losses;
  double loss = 0, accuracy = 0;
#if PB_HAVE_CUDA
  if (device.is_cuda()) {
    const torch::Tensor pinned_inputs = data.inputs.pin_memory(), pinned_targets = data.targets.pin_memory();
    double rate = measure_epochs([&](const torch::Tensor& t, int64_t b, int64_t e) { return t.slice(0, b, e).to(device); },
                                 data.inputs, data.targets, &loss, &accuracy);
    losses.push_back(loss);
    std::cout << "pageable, .to(device): " << static_cast<int64_t>(rate) << " samples/s\n";
    rate = measure_epochs([&](const torch::Tensor& t, int64_t b, int64_t e) { return t.slice(0, b, e).to(device, /*non_blocking=*/true); },
                          pinned_inputs, pinned_targets, &loss, &accuracy);
    losses.push_back(loss);
    std::cout << "pinned, .to(device, non_blocking): " << static_cast<int64_t>(rate) << " samples/s\n";
  }
#endif
  if (!device.is_cuda()) std::cout << "pageable and pinned epochs: not run (" << why_not << ")\n";
  const double resident = measure_epochs(slice, data.inputs.to(device), data.targets.to(device), &loss, &accuracy);
  losses.push_back(loss);
  std::cout << "resident on " << device << " (moved once): " << static_cast<int64_t>(resident) << " samples/s, final loss " << loss << "\n";
  bool same = true;
  for (double l : losses) same = same && l == losses.front();
  if (losses.size() > 1) std::cout << "same final loss in every mode: " << (same ? "yes" : "no") << "\n";
  std::cout << "held-out accuracy: " << std::fixed << std::setprecision(1) << 100 * accuracy << "% (chance: 50%) on "
            << split.val.size() << " samples never trained on, after " << epochs + 1 << " epochs\n";
  return same && continues ? 0 : 1;
}
