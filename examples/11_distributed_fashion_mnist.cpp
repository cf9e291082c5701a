// 11 — The CNN of example 06 trained by several processes at once: data-parallel training over MPI.
//
// What it teaches: how training spreads over processes and hosts.  Every process holds the same model
// (DistributedDataParallel copies rank 0's weights to the others) and trains on its own share of the
// training set (DistributedSampler); during backward the gradients are averaged across the processes, so
// every replica takes the same step, as one process would on the whole batch.  train::fit runs in every
// process: the progress bar and the saved weights are rank 0's, the figures are those of all the shares.
//
//     mpirun -np 2 build/examples/11_distributed_fashion_mnist            # README: accuracy and time
//     mpirun -np 2 build/examples/11_distributed_fashion_mnist --smoke    # a few seconds: checks that it learns
#include <filesystem>
#include <iomanip>
#include <iostream>

#include <xgrad/data.hpp>
#include <xgrad/distributed.hpp>
#include <xgrad/io.hpp>
#include <xgrad/parallel.hpp>
#include <xgrad/train.hpp>
#include <xgrad/xgrad.hpp>

#include "command_line.hpp"

using namespace xgrad;

namespace
{
    // (N, 1, 28, 28) -> (N, 10) class scores: example 06's network.
    std::shared_ptr<nn::Sequential<float>> make_model()
    {
        const auto same = nn::Conv2dOptions().padding(1);
        return std::make_shared<nn::Sequential<float>>(
            nn::Conv2d(1, 32, 3, same), nn::ReLU(), nn::MaxPool2d(2),    // (N, 32, 14, 14)
            nn::Conv2d(32, 64, 3, same), nn::ReLU(), nn::MaxPool2d(2),   // (N, 64, 7, 7)
            nn::Flatten(), nn::Linear(64 * 7 * 7, 128), nn::ReLU(), nn::Dropout(0.5), nn::Linear(128, 10));
    }

    // The first `count` images of a set, as a dataset.
    data::TensorDataset<float> first_images(const data::ImageSet<float>& set, std::size_t count)
    {
        return {xt::xarray<float>(xt::view(set.images, xt::range(0, count))),
                IndexArray(xt::view(set.labels, xt::range(0, count)))};
    }

    int run(int argc, char** argv)
    {
        std::string directory = "/usr/share/datasets/fashion-mnist", out_dir = ".";
        std::size_t epochs = 10, batch_size = 64, threads = 1;
        double lr = 2e-3;
        bool smoke = false;
        CommandLine cli{"Train example 06's CNN on Fashion-MNIST in every process of an MPI job "
                        "(mpirun -np 2 11_distributed_fashion_mnist)"};
        cli.add_option("--data", directory,
                       "Directory with the Fashion-MNIST IDX files (package dataset-fashion-mnist)");
        cli.add_option("--out", out_dir, "Where rank 0 writes the weights");
        cli.add_option("--epochs", epochs, "Passes over the training set");
        cli.add_option("--batch-size", batch_size, "Images per step, over all processes together");
        cli.add_option("--lr", lr, "Adam learning rate");
        cli.add_option("--threads", threads, "Worker threads per process");
        cli.add_flag("--smoke", smoke, "A tiny run on 2,000 images that checks the model learns (for CI)");
        if (const auto exit_code = cli.parse(argc, argv))
            return *exit_code;
        set_num_threads(threads);

        const distributed::ProcessGroup group;
        const auto processes = static_cast<std::size_t>(group.world_size());
        if (batch_size % processes != 0)
            throw value_error("--batch-size " + std::to_string(batch_size) + " does not split over " +
                              std::to_string(processes) + " processes");
        const auto full_train = data::load_mnist<float>(directory, true);
        const auto full_test = data::load_mnist<float>(directory, false);
        const std::size_t train_count = smoke ? 2000 : full_train.labels.size();
        const std::size_t test_count = smoke ? 1000 : full_test.labels.size();
        if (smoke)
            epochs = 1;
        const auto train_set = first_images(full_train, train_count);
        const auto test_set = first_images(full_test, test_count);

        // Each process reads its share of both sets; the training share is shuffled anew every epoch.
        data::DataLoaderOptions train_options;
        train_options.batch_size = batch_size / processes;
        train_options.sampler = distributed::distributed_sampler(group, {true, 7, false});
        data::DataLoader<float> train_loader(train_set, train_options);
        data::DataLoaderOptions test_options;
        test_options.batch_size = 500;
        test_options.sampler = distributed::distributed_sampler(group, {false, 0, false});
        data::DataLoader<float> test_loader(test_set, test_options);
        if (group.is_main_process())
            std::cout << "Training on " << train_set.size() << " images in " << processes << " processes of " << threads
                      << " thread(s), " << train_options.batch_size << " images per process and step\n";

        manual_seed(42);
        distributed::DistributedDataParallel<float> model(make_model(), group);
        optim::Adam<float> optimizer(model.parameters(), optim::AdamOptions(lr));
        optim::CosineAnnealingLR<optim::Adam<float>> schedule(optimizer, epochs);
        train::FitOptions<float, IndexArray> options;
        options.epochs = epochs;
        options.validation = &test_loader;
        options.callbacks = {std::make_shared<train::ProgressBar>(),
                             std::make_shared<train::LRSchedulerCallback<decltype(schedule)>>(schedule)};
        options.processes = distributed::fit_processes(group);
        const auto loss = [](const Tensor<float>& logits, const IndexArray& labels) {
            return cross_entropy(logits, labels);
        };
        const auto start = std::chrono::steady_clock::now();
        const auto history = train::fit(model, loss, optimizer, train_loader, options);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

        const double test_accuracy = history.back().at("val_accuracy");   // over every process's share
        if (group.is_main_process())
        {
            std::filesystem::create_directories(out_dir);
            const std::string weights_path = out_dir + "/distributed_fashion_mnist.safetensors";
            io::save_safetensors(model.module().state_dict(), weights_path,
                                 {{"model", "xgrad 11_distributed_fashion_mnist"}});
            std::cout << "Test accuracy " << std::fixed << std::setprecision(4) << test_accuracy << " after "
                      << std::setprecision(1) << seconds << " s; rank 0's weights saved to " << weights_path << '\n';
        }
        if (smoke)
        {
            const bool learned = test_accuracy > 0.5 && history.back().at("loss") < 2.0;
            if (group.is_main_process())
                std::cout << (learned ? "smoke test passed\n" : "smoke test FAILED: the model did not learn\n");
            return learned ? 0 : 1;
        }
        return 0;
    }
}

// A process that fails ends the whole job with its message (the others would wait for it forever).
int main(int argc, char** argv)
{
    return distributed::run_or_abort([&] { return run(argc, argv); });
}
