// train::fit and its callbacks, and checkpoints that resume a run exactly.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>

#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;
using xgrad_test::TempDir;
namespace fs = std::filesystem;

namespace
{
    // Two Gaussian blobs in 4-D, labelled 0 and 1: separable, so a small model learns them in a few epochs.
    data::TensorDataset<float> blobs(std::size_t n, std::uint64_t seed)
    {
        Generator rng(seed);
        xt::xarray<float> points = randn<float>({n, std::size_t(4)}, rng).value();
        IndexArray labels = IndexArray::from_shape({n});
        for (std::size_t i = 0; i < n; ++i)
        {
            labels(i) = static_cast<std::int64_t>(i % 2);
            for (std::size_t d = 0; d < 4; ++d)
                points(i, d) += labels(i) ? 1.5f : -1.5f;
        }
        return {points, labels};
    }

    nn::Sequential<float> small_model()
    {
        return nn::Sequential<float>(nn::Linear(4, 8), nn::ReLU(), nn::Dropout(0.2), nn::Linear(8, 2));
    }

    Tensor<float> cross_entropy_loss(const Tensor<float>& logits, const IndexArray& labels)
    {
        return cross_entropy(logits, labels);
    }
}

TEST_CASE("fit trains, logs train and validation figures per epoch, and reports progress")
{
    manual_seed(1);
    const auto train_set = blobs(256, 1), validation_set = blobs(64, 2);
    data::DataLoader<float> train_loader(train_set, {32, true, false, 3}), validation_loader(validation_set, {64});
    auto model = small_model();
    optim::SGD<float> optimizer(model.parameters(), optim::SGDOptions(0.1).momentum(0.9));
    std::ostringstream progress;
    train::FitOptions<float, IndexArray> options;
    options.epochs = 3;
    options.validation = &validation_loader;
    options.callbacks = {std::make_shared<train::ProgressBar>(progress, /*interactive=*/false)};

    const auto history = train::fit(model, cross_entropy_loss, optimizer, train_loader, options);
    REQUIRE(history.size() == 3);
    for (const char* key : {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"})
        CHECK(history[0].count(key) == 1);
    CHECK(history.back().at("loss") < history.front().at("loss"));
    CHECK(history.back().at("val_accuracy") > 0.9);
    CHECK(history.back().at("lr") == doctest::Approx(0.1));
    CHECK(progress.str().find("Epoch 1/3") != std::string::npos);
    CHECK(progress.str().find("Epoch 3/3") != std::string::npos);
    CHECK(progress.str().find('\r') == std::string::npos);   // plain lines when not a terminal
    CHECK(model.is_training());
}

TEST_CASE("evaluate runs in eval mode without a graph and restores the mode")
{
    const auto set = blobs(50, 4);
    data::DataLoader<float> loader(set, {16});
    auto model = small_model();
    const auto result = train::evaluate(model, cross_entropy_loss, loader);
    CHECK(result.loss > 0.0);
    CHECK(result.accuracy >= 0.0);
    CHECK(result.accuracy <= 1.0);
    CHECK(model.is_training());
}

TEST_CASE("EarlyStopping stops after `patience` epochs without improvement and restores the best weights")
{
    manual_seed(2);
    const auto set = blobs(64, 5);
    data::DataLoader<float> loader(set, {16}), validation(set, {64});
    auto model = small_model();
    optim::SGD<float> optimizer(model.parameters(), optim::SGDOptions(0.0));   // lr 0: nothing ever improves
    const auto weights_before = model.state_dict();
    auto stopper = std::make_shared<train::EarlyStopping<float>>(model, "val_loss", /*patience=*/2);
    train::FitOptions<float, IndexArray> options;
    options.epochs = 10;
    options.validation = &validation;
    options.callbacks = {stopper};
    const auto history = train::fit(model, cross_entropy_loss, optimizer, loader, options);
    CHECK(history.size() == 3);   // the first epoch sets the best, two more without improvement stop it
    CHECK(stopper->best_epoch() == 1);
    for (const auto& [name, value] : model.state_dict())
        CHECK(value == weights_before.at(name));
}

TEST_CASE("EarlyStopping and ModelCheckpoint improve in the direction their mode gives, whatever the name")
{
    TempDir dir;
    auto model = small_model();
    // The same sequence of monitored values, read as a loss (min) and as an accuracy (max).
    const std::vector<double> values{0.5, 0.7, 0.6, 0.65, 0.4};
    auto run = [&](train::Mode mode) {
        train::EarlyStopping<float> stopper(model, "val_accuracy", /*patience=*/2, 0.0, /*restore=*/false, mode);
        train::RunState state;
        for (std::size_t e = 0; e < values.size() && !state.stop_training; ++e)
        {
            state.epoch = e + 1;
            train::Logs logs{{"val_accuracy", values[e]}};
            stopper.on_epoch_end(state, logs);
        }
        return std::make_pair(stopper.best_epoch(), state.epoch);
    };
    CHECK(run(train::Mode::max) == std::make_pair(std::size_t(2), std::size_t(4)));   // 0.7 best, 0.6 and 0.65 worse
    CHECK(run(train::Mode::min) == std::make_pair(std::size_t(1), std::size_t(3)));   // 0.5 best, 0.7 and 0.6 worse

    // ModelCheckpoint writes its best file at each improvement only.
    train::ModelCheckpoint<float> checkpoint(model, dir.file("best.safetensors"), "", "val_loss", train::Mode::max);
    train::RunState state;
    train::Logs first{{"val_loss", 1.0}}, worse{{"val_loss", 0.5}};
    state.epoch = 1;
    checkpoint.on_epoch_end(state, first);
    REQUIRE(fs::exists(dir.file("best.safetensors")));
    fs::remove(dir.file("best.safetensors"));
    state.epoch = 2;
    checkpoint.on_epoch_end(state, worse);   // lower, so not better in max mode
    CHECK_FALSE(fs::exists(dir.file("best.safetensors")));
}

TEST_CASE("an unknown monitored value names what was logged")
{
    const auto set = blobs(32, 6);
    data::DataLoader<float> loader(set, {16});
    auto model = small_model();
    optim::SGD<float> optimizer(model.parameters(), optim::SGDOptions(0.1));
    train::FitOptions<float, IndexArray> options;
    options.callbacks = {std::make_shared<train::EarlyStopping<float>>(model, "val_loss")};   // no validation loader
    try
    {
        train::fit(model, cross_entropy_loss, optimizer, loader, options);
        FAIL("expected a value_error");
    }
    catch (const value_error& e)
    {
        CHECK(std::string(e.what()).find("val_loss") != std::string::npos);
        CHECK(std::string(e.what()).find("loss") != std::string::npos);
    }
}

TEST_CASE("ModelCheckpoint saves the last and the best weights; CSVLogger writes one row per epoch")
{
    TempDir dir;
    manual_seed(3);
    const auto set = blobs(128, 7);
    data::DataLoader<float> loader(set, {32, true, false, 1}), validation(set, {128});
    auto model = small_model();
    optim::Adam<float> optimizer(model.parameters(), optim::AdamOptions(1e-2));
    train::FitOptions<float, IndexArray> options;
    options.epochs = 3;
    options.validation = &validation;
    options.callbacks = {std::make_shared<train::ModelCheckpoint<float>>(model, dir.file("best.safetensors"),
                                                                         dir.file("last.safetensors")),
                         std::make_shared<train::CSVLogger>(dir.file("log.csv"))};
    train::fit(model, cross_entropy_loss, optimizer, loader, options);

    auto reloaded = small_model();
    reloaded.load_state_dict(io::load_safetensors<float>(dir.file("last.safetensors")));
    for (const auto& [name, value] : model.state_dict())
        CHECK(value == reloaded.state_dict().at(name));
    CHECK(fs::exists(dir.file("best.safetensors")));

    std::ifstream csv(dir.file("log.csv"));
    std::string header, line;
    std::getline(csv, header);
    CHECK(header.rfind("epoch,", 0) == 0);
    CHECK(header.find("val_loss") != std::string::npos);
    int rows = 0;
    while (std::getline(csv, line))
        ++rows;
    CHECK(rows == 3);
}

TEST_CASE("LRSchedulerCallback steps epoch schedules and plateau schedules")
{
    const auto set = blobs(32, 8);
    data::DataLoader<float> loader(set, {16}), validation(set, {32});
    auto model = small_model();
    optim::SGD<float> optimizer(model.parameters(), optim::SGDOptions(0.1));
    optim::StepLR<optim::SGD<float>> step_lr(optimizer, 1, 0.5);
    train::FitOptions<float, IndexArray> options;
    options.epochs = 2;
    options.callbacks = {std::make_shared<train::LRSchedulerCallback<decltype(step_lr)>>(step_lr)};
    const auto history = train::fit(model, cross_entropy_loss, optimizer, loader, options);
    CHECK(history[0].at("lr") == doctest::Approx(0.1));
    CHECK(history[1].at("lr") == doctest::Approx(0.05));

    optim::SGD<float> frozen(model.parameters(), optim::SGDOptions(0.0));
    optim::ReduceLROnPlateau<optim::SGD<float>> plateau(frozen, "min", 0.5, /*patience=*/0);
    options.validation = &validation;
    options.epochs = 3;
    options.callbacks = {std::make_shared<train::LRSchedulerCallback<decltype(plateau)>>(plateau, "val_loss")};
    frozen.param_groups()[0].options.lr(1.0);
    train::fit(model, [](const Tensor<float>& out, const IndexArray& labels) { return cross_entropy(mul(out, 0.f), labels); },
               frozen, loader, options);
    CHECK(frozen.param_groups()[0].options.lr() == doctest::Approx(0.25));   // epochs 2 and 3 did not improve
}

TEST_CASE("a non-finite loss stops fit with an error naming the epoch and batch, before any step")
{
    const auto set = blobs(32, 9);
    data::DataLoader<float> loader(set, {16});
    auto model = small_model();
    const auto weights_before = model.state_dict();
    optim::SGD<float> optimizer(model.parameters(), optim::SGDOptions(0.1));
    train::FitOptions<float, IndexArray> options;
    auto nan_loss = [](const Tensor<float>& logits, const IndexArray&) { return log(sub(sum(logits), 1e9f)); };
    try
    {
        train::fit(model, nan_loss, optimizer, loader, options);
        FAIL("expected a value_error");
    }
    catch (const value_error& e)
    {
        CHECK(std::string(e.what()).find("epoch 1, batch 1") != std::string::npos);
    }
    for (const auto& [name, value] : model.state_dict())
        CHECK(value == weights_before.at(name));
}

TEST_CASE("a checkpoint resumes training bit for bit: model, optimizer, epoch and random generators")
{
    TempDir dir;
    const std::size_t threads = get_num_threads();
    set_num_threads(1);   // bit-for-bit needs a fixed order of floating-point sums
    const auto set = blobs(96, 10);
    auto run_epochs = [&](nn::Sequential<float>& model, optim::Adam<float>& optimizer, data::DataLoader<float>& loader,
                          std::size_t epochs) {
        for (std::size_t e = 0; e < epochs; ++e)
            for (const auto& batch : loader)
            {
                const Tensor<float> loss = cross_entropy(model(batch.inputs), batch.targets);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
    };

    // Four epochs without stopping.
    manual_seed(11);
    auto straight = small_model();
    optim::Adam<float> straight_optimizer(straight.parameters(), optim::AdamOptions(1e-2));
    data::DataLoader<float> straight_loader(set, {16, true, false, 5});
    run_epochs(straight, straight_optimizer, straight_loader, 4);

    // Two epochs, a checkpoint, then a fresh process's worth of objects resumes for two more.
    manual_seed(11);
    auto first = small_model();
    optim::Adam<float> first_optimizer(first.parameters(), optim::AdamOptions(1e-2));
    data::DataLoader<float> first_loader(set, {16, true, false, 5});
    run_epochs(first, first_optimizer, first_loader, 2);
    io::save_checkpoint(dir.file("run.ckpt"), first, first_optimizer,
                        {2, 0, {{"loader", io::generator_state(first_loader.generator())},
                                {"default", io::generator_state(default_generator())}}});

    manual_seed(999);   // the resumed run starts from unrelated state...
    auto resumed = small_model();
    optim::Adam<float> resumed_optimizer(resumed.parameters(), optim::AdamOptions(1e-2));
    data::DataLoader<float> resumed_loader(set, {16, true, false, 77});
    const auto info = io::load_checkpoint(dir.file("run.ckpt"), resumed, resumed_optimizer);   // ...and restores it
    io::restore_generator(resumed_loader.generator(), info.generators.at("loader"));
    io::restore_generator(default_generator(), info.generators.at("default"));
    CHECK(info.epoch == 2);
    run_epochs(resumed, resumed_optimizer, resumed_loader, 2);
    set_num_threads(threads);

    for (const auto& [name, value] : straight.state_dict())
        CHECK(value == resumed.state_dict().at(name));   // exactly equal, not approximately
}

TEST_CASE("load_checkpoint rejects a file that is not a checkpoint")
{
    TempDir dir;
    auto model = small_model();
    optim::SGD<float> optimizer(model.parameters(), optim::SGDOptions(0.1));
    io::save_safetensors(model.state_dict(), dir.file("weights.safetensors"));
    CHECK_THROWS_AS(io::load_checkpoint(dir.file("weights.safetensors"), model, optimizer), io_error);
}

namespace
{
    // A checkpoint of `model` and `optimizer` with `metadata` in place of save_checkpoint's.
    template <class Optim>
    void write_checkpoint(const std::string& path, const nn::Sequential<float>& model, const Optim& optimizer,
                          const std::map<std::string, std::string>& metadata)
    {
        StateDict<float> state;
        for (const auto& [name, value] : model.state_dict())
            state.insert("model." + name, value);
        for (const auto& [name, value] : optimizer.state_dict())
            state.insert("optimizer." + name, value);
        io::save_safetensors(state, path, metadata);
    }

    void check_unchanged(const nn::Sequential<float>& model, const StateDict<float>& before)
    {
        for (const auto& entry : model.state_dict())
        {
            const auto& name = entry.first;
            const auto& value = entry.second;
            INFO("model entry " << name);
            CHECK(value == before.at(name));
        }
    }
}

TEST_CASE("load_checkpoint is all or nothing: a bad optimizer state or bad metadata leaves the model as it was")
{
    TempDir dir;
    manual_seed(5);
    auto saved_model = small_model();
    optim::Adam<float> saved_optimizer(saved_model.parameters(), optim::AdamOptions(1e-2));
    const auto batch = blobs(8, 3).get_batch({0, 1, 2, 3, 4, 5, 6, 7});
    saved_model.eval();
    cross_entropy(saved_model(batch.inputs), batch.targets).backward();
    saved_optimizer.step();

    auto model = small_model();   // other weights than the saved model's
    const auto before = model.state_dict();
    optim::Adam<float> optimizer(model.parameters(), optim::AdamOptions(1e-2));

    SUBCASE("the optimizer's state is for another optimizer")
    {
        optim::SGD<float> sgd(saved_model.parameters(), optim::SGDOptions(0.1).momentum(0.9));
        sgd.step();
        io::save_checkpoint(dir.file("sgd.ckpt"), saved_model, sgd, {1, 0, {}});
        CHECK_THROWS_AS(io::load_checkpoint(dir.file("sgd.ckpt"), model, optimizer), value_error);
        check_unchanged(model, before);
        CHECK(optimizer.step_count() == 0);
    }
    SUBCASE("a step count out of range")
    {
        StateDict<float> state;
        for (const auto& [name, value] : saved_model.state_dict())
            state.insert("model." + name, value);
        for (const auto& [name, value] : saved_optimizer.state_dict())
            state.insert("optimizer." + name, name == "0.0.step" ? xt::xarray<float>(-1.0f) : value);
        io::save_safetensors(state, dir.file("negative.ckpt"),
                             {{"format", "xgrad-checkpoint"}, {"epoch", "1"}, {"scheduler_epoch", "0"}});
        CHECK_THROWS_AS(io::load_checkpoint(dir.file("negative.ckpt"), model, optimizer), value_error);
        check_unchanged(model, before);
        CHECK(optimizer.step_count() == 0);
    }
    SUBCASE("epoch metadata: digits only, within std::size_t")
    {
        for (const std::string bad : {"-1", "12abc", "", " 3", "+3", "3 ", "0x10", "1e3", "18446744073709551616"})
            for (const std::string key : {"epoch", "scheduler_epoch"})
            {
                INFO(key << " = '" << bad << "'");
                std::map<std::string, std::string> metadata{
                    {"format", "xgrad-checkpoint"}, {"epoch", "1"}, {"scheduler_epoch", "0"}};
                metadata[key] = bad;
                write_checkpoint(dir.file("bad.ckpt"), saved_model, saved_optimizer, metadata);
                xgrad_test::check_error<io_error>([&] { io::load_checkpoint(dir.file("bad.ckpt"), model, optimizer); },
                                                  {key});
                check_unchanged(model, before);
                CHECK(optimizer.step_count() == 0);
            }
        write_checkpoint(dir.file("missing.ckpt"), saved_model, saved_optimizer,
                         {{"format", "xgrad-checkpoint"}, {"epoch", "1"}});
        xgrad_test::check_error<io_error>([&] { io::load_checkpoint(dir.file("missing.ckpt"), model, optimizer); },
                                          {"scheduler_epoch"});
        check_unchanged(model, before);
    }
    SUBCASE("a good file loads everything")
    {
        write_checkpoint(dir.file("good.ckpt"), saved_model, saved_optimizer,
                         {{"format", "xgrad-checkpoint"}, {"epoch", "18446744073709551615"}, {"scheduler_epoch", "007"}});
        const auto info = io::load_checkpoint(dir.file("good.ckpt"), model, optimizer);
        CHECK(info.epoch == std::numeric_limits<std::size_t>::max());
        CHECK(info.scheduler_epoch == 7);
        CHECK(optimizer.step_count() == 1);
        for (const auto& [name, value] : saved_model.state_dict())
            CHECK(model.state_dict().at(name) == value);
    }
}
