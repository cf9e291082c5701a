// From a trained model to a service, the parts without a network: the versioned model store (versions,
// promotion and rollback, damaged files, a saver killed at random moments, two processes saving at once), drift
// (PSI and KL against SciPy's on committed fixtures, the monitor's verdicts), and the serving helpers (the
// predict request parser, the micro-batcher).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <xgrad/io/model_store.hpp>
#include <xgrad/metrics/drift.hpp>
#include <xgrad/serve/micro_batcher.hpp>
#include <xgrad/serve/predict_json.hpp>
#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;
using namespace xgrad_test;

namespace
{
    // A small model whose every weight is `value`, so that a loaded version tells which save it came from.
    nn::Sequential<float> model_filled_with(float value)
    {
        manual_seed(0);
        nn::Sequential<float> model(nn::Linear(64, 256), nn::ReLU(), nn::Linear(256, 10));
        StateDict<float> state;
        for (const auto& [name, tensor] : model.state_dict())
            state.insert(name, xt::xarray<float>(tensor.shape(), value));
        model.load_state_dict(state);
        return model;
    }

    // The one value every weight of `model` holds, or -1 when they differ.
    float value_of(const nn::Sequential<float>& model)
    {
        const auto state = model.state_dict();
        const float first = state.begin()->second(0);
        for (const auto& [name, value] : state)
            for (float v : value)
                if (v != first)
                    return -1;
        return first;
    }

    io::ModelMetadata metadata_for(float value)
    {
        io::ModelMetadata metadata;
        metadata.metrics["accuracy"] = 0.5 + value / 1000;
        metadata.data_fingerprint = "sha256:" + std::to_string(int(value));
        metadata.tags["value"] = std::to_string(int(value));
        return metadata;
    }

    // Every version the store lists loads, and holds the weights its tag says.
    void check_every_version_loads(const io::ModelStore& store)
    {
        for (const auto& entry : store.list())
        {
            INFO("version " << entry.version);
            nn::Sequential<float> model = model_filled_with(-7);
            const io::ModelMetadata loaded = store.load(entry.version, model);
            CHECK(value_of(model) == float(std::stoi(loaded.tags.at("value"))));
        }
    }
}

TEST_CASE("model store: versions, metadata, promotion and rollback")
{
    TempDir dir;
    io::ModelStore store(dir.file("store"));
    CHECK(store.list().empty());
    CHECK_THROWS_AS(store.production_version(), io_error);

    StateDict<float> reference;
    reference.insert("inputs", xt::xarray<float>{{0.25f, 0.5f}, {1.0f, 0.0f}});
    CHECK(store.save(model_filled_with(1), metadata_for(1), reference) == 1);
    CHECK(store.save(model_filled_with(2), metadata_for(2)) == 2);
    CHECK(store.save(model_filled_with(3), metadata_for(3)) == 3);

    const auto versions = store.list();
    REQUIRE(versions.size() == 3);
    CHECK(versions[1].version == 2);
    CHECK(versions[1].metadata.metrics.at("accuracy") == doctest::Approx(0.502));
    CHECK(versions[1].metadata.data_fingerprint == "sha256:2");
    CHECK(versions[1].metadata.architecture.find("Linear(in_features=64, out_features=256") != std::string::npos);
    CHECK(versions[1].metadata.created.size() == 20);   // 2026-12-01T18:55:00Z
    CHECK(store.reference<float>(1).at("inputs") == reference.at("inputs"));
    CHECK(store.reference<float>(2).empty());

    nn::Sequential<float> model = model_filled_with(0);
    CHECK_THROWS_AS(store.load_production(model), io_error);   // nothing promoted yet
    CHECK_THROWS_AS(store.rollback(), value_error);
    CHECK_THROWS_AS(store.promote(4), value_error);
    store.promote(1);
    store.promote(3);
    CHECK(store.load_production(model).version == 3);
    CHECK(value_of(model) == 3);
    store.promote(2);
    CHECK(store.rollback() == 3);
    CHECK(store.rollback() == 1);
    CHECK_THROWS_AS(store.rollback(), value_error);
    CHECK(store.load_production(model).version == 1);
    CHECK(value_of(model) == 1);

    // Reopened, the store is as it was left.
    io::ModelStore reopened(dir.file("store"));
    CHECK(reopened.production_version() == 1);
    CHECK(reopened.manifest().production == std::vector<std::uint64_t>{1});

    // A model of another shape is refused and keeps its weights.
    nn::Sequential<float> other(nn::Linear(3, 2));
    const float before = other.state_dict().begin()->second(0);
    CHECK_THROWS(store.load(1, other));
    CHECK(other.state_dict().begin()->second(0) == before);
}

TEST_CASE("model store: a damaged manifest or version is an io_error naming the file; the rest stays usable")
{
    TempDir dir;
    io::ModelStore store(dir.file("store"));
    store.save(model_filled_with(1), metadata_for(1));
    store.save(model_filled_with(2), metadata_for(2));
    store.promote(2);

    auto message_of = [](auto&& action) -> std::string {
        try
        {
            action();
        }
        catch (const io_error& error)
        {
            return error.what();
        }
        return "no io_error";
    };

    // A damaged version: that version fails, naming its file; the other loads and the list names it.
    write_bytes(store.version_path(1) + "/model.safetensors", "not a safetensors file");
    nn::Sequential<float> model = model_filled_with(0);
    CHECK(message_of([&] { store.load(1, model); }).find("v000001/model.safetensors") != std::string::npos);
    CHECK(store.load(2, model).tags.at("value") == "2");
    write_bytes(store.version_path(1) + "/metadata.json", "{\"metrics\": {\"accuracy\": \"high\"}}");
    CHECK(message_of([&] { store.list(); }).find("v000001/metadata.json") != std::string::npos);
    CHECK(store.load_production(model).version == 2);

    // A damaged manifest: every use of it fails naming it; versions still load by number; no save over it.
    const std::vector<std::string> damaged_manifests{
        "{\"format\": \"xgrad-model-store\", \"versions\": [1, 2], \"production\": [2]",   // truncated
        "{\"format\": \"xgrad-model-store\", \"versions\": [2, 1], \"production\": []}",
        "{\"format\": \"xgrad-model-store\", \"versions\": [1, 1.5], \"production\": []}",
        "{\"format\": \"xgrad-model-store\", \"versions\": [-1], \"production\": []}",
        "{\"format\": \"xgrad-model-store\", \"versions\": [1, 2], \"production\": [3]}",
        "{\"format\": \"xgrad-model-store\", \"versions\": [1e30], \"production\": []}",
        "{\"format\": \"something else\", \"versions\": [1, 2], \"production\": [2]}",
        "[1, 2]"};
    for (const std::string& text : damaged_manifests)
    {
        INFO(text);
        write_bytes(store.manifest_path(), text);
        CHECK(message_of([&] { store.list(); }).find("manifest.json") != std::string::npos);
        CHECK(message_of([&] { store.promote(2); }).find("manifest.json") != std::string::npos);
        CHECK(message_of([&] { store.save(model_filled_with(3), metadata_for(3)); }).find("manifest.json") !=
              std::string::npos);
        CHECK(store.load(2, model).tags.at("value") == "2");
    }
    std::filesystem::remove(store.manifest_path());
    CHECK(message_of([&] { store.save(model_filled_with(3), metadata_for(3)); }).find("is missing") !=
          std::string::npos);
}

TEST_CASE("model store: a saver killed at random moments leaves the store readable with its previous state")
{
    TempDir dir;
    io::ModelStore store(dir.file("store"));
    store.save(model_filled_with(1), metadata_for(1));
    store.promote(1);
    std::mt19937 rng(19);
    std::uniform_int_distribution<int> delay_us(0, 30000);
    std::size_t versions_before = 1, staged_when_killed = 0, unlisted_when_killed = 0;
    for (int round = 2; round <= 16; ++round)
    {
        const pid_t saver = ::fork();
        REQUIRE(saver >= 0);
        if (saver == 0)
        {
            for (int value = round * 100;; ++value)
                store.save(model_filled_with(float(value)), metadata_for(float(value)));
        }
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
        ::kill(saver, SIGKILL);
        int status = 0;
        REQUIRE(::waitpid(saver, &status, 0) == saver);
        INFO("round " << round);
        for (const auto& entry : std::filesystem::directory_iterator(store.directory()))
        {
            const std::string name = entry.path().filename().string();
            staged_when_killed += name.rfind(".saving.", 0) == 0;
            const std::uint64_t number = io::detail::version_of_directory(name);
            const auto listed = store.manifest().versions;
            unlisted_when_killed += number != 0 && !std::binary_search(listed.begin(), listed.end(), number);
        }
        const auto versions = store.list();   // the manifest reads, and names only complete versions
        CHECK(versions.size() >= versions_before);
        versions_before = versions.size();
        check_every_version_loads(store);
        nn::Sequential<float> model = model_filled_with(0);
        CHECK(store.load_production(model).version == 1);
        CHECK(value_of(model) == 1);
    }
    // Where the kills landed: inside a version's writing (a staging directory left), or between its rename and
    // the manifest (a version directory the manifest does not name); the other kills fell between saves.
    MESSAGE(staged_when_killed << " kills left a staging directory, " << unlisted_when_killed
                               << " an unlisted version, of 15");
    // The next save cleans up what the kills left and gets a fresh number.
    const std::uint64_t next = store.save(model_filled_with(5), metadata_for(5));
    CHECK(next > store.list()[store.list().size() - 2].version);
    for (const auto& entry : std::filesystem::directory_iterator(store.directory()))
        CHECK(entry.path().filename().string().rfind(".saving.", 0) != 0);
    check_every_version_loads(store);
}

TEST_CASE("model store: each state a killed save can leave reads as the previous one, and the next save recovers")
{
    TempDir dir;
    io::ModelStore store(dir.file("store"));
    store.save(model_filled_with(1), metadata_for(1));
    store.promote(1);
    // Killed while writing the version: a partial staging directory. Killed after renaming it, before the
    // manifest: a complete version directory the manifest does not name. Killed while writing the manifest: a
    // named temporary of a process that has ended.
    std::filesystem::create_directory(store.directory() + "/.saving.999999");
    write_bytes(store.directory() + "/.saving.999999/model.safetensors", "partial");
    std::filesystem::copy(store.version_path(1), store.version_path(2));
    const pid_t ended = ::fork();   // a process that has ended, for the temporary's name
    REQUIRE(ended >= 0);
    if (ended == 0)
        ::_exit(0);
    REQUIRE(::waitpid(ended, nullptr, 0) == ended);
    const std::string temporary = store.manifest_path() + ".tmp." + std::to_string(ended) + ".0";
    write_bytes(temporary, "{\"format\": \"xgrad-mod");

    CHECK(store.list().size() == 1);
    nn::Sequential<float> model = model_filled_with(0);
    CHECK(store.load_production(model).version == 1);
    CHECK(value_of(model) == 1);

    CHECK(store.save(model_filled_with(3), metadata_for(3)) == 3);   // 2 stays taken
    CHECK(store.manifest().versions == std::vector<std::uint64_t>{1, 3});
    CHECK_FALSE(std::filesystem::exists(store.directory() + "/.saving.999999"));
    CHECK_FALSE(std::filesystem::exists(temporary));
    check_every_version_loads(store);
}

TEST_CASE("model store: two processes saving at once get distinct, complete versions")
{
    TempDir dir;
    const std::string directory = dir.file("store");
    constexpr int saves_each = 6;
    std::vector<pid_t> savers;
    for (int process = 0; process < 2; ++process)
    {
        const pid_t saver = ::fork();
        REQUIRE(saver >= 0);
        if (saver == 0)
        {
            try
            {
                io::ModelStore store(directory);
                for (int i = 0; i < saves_each; ++i)
                    store.save(model_filled_with(float(process * 100 + i)), metadata_for(float(process * 100 + i)));
            }
            catch (...)
            {
                ::_exit(1);
            }
            ::_exit(0);
        }
        savers.push_back(saver);
    }
    for (const pid_t saver : savers)
    {
        int status = 0;
        REQUIRE(::waitpid(saver, &status, 0) == saver);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    io::ModelStore store(directory);
    const auto versions = store.list();
    REQUIRE(versions.size() == 2 * saves_each);
    std::set<std::string> values;
    for (std::size_t i = 0; i < versions.size(); ++i)
    {
        CHECK(versions[i].version == i + 1);
        values.insert(versions[i].metadata.tags.at("value"));
    }
    CHECK(values.size() == 2 * saves_each);   // every save is there once
    check_every_version_loads(store);
}

TEST_CASE("drift: bins, PSI and KL equal NumPy's and SciPy's on the committed fixture")
{
    const auto fixture = load_fixture("drift/drift.json", "scripts/make_drift_fixtures.py");
    const auto reference_inputs = read_array<double>(fixture.at("reference_inputs"));
    const auto reference_labels = read_array<std::int64_t>(fixture.at("reference_labels"));
    metrics::DriftOptions options;
    options.bins = fixture.at("bins").get<std::size_t>();
    options.smoothing = fixture.at("smoothing").get<double>();
    for (const char* name : {"same", "shifted"})
    {
        INFO("live sample " << name);
        const auto& live = fixture.at(name);
        metrics::DriftMonitor monitor(reference_inputs, reference_labels, fixture.at("classes").get<std::size_t>(),
                                      options);
        // Fed in two batches: the counts add up.
        const auto inputs = read_array<double>(live.at("inputs"));
        const auto labels = read_array<std::int64_t>(live.at("labels"));
        const std::size_t half = inputs.shape(0) / 2;
        monitor.observe(xt::view(inputs, xt::range(0, half), xt::all()), xt::view(labels, xt::range(0, half)));
        monitor.observe(xt::view(inputs, xt::range(half, inputs.shape(0)), xt::all()),
                        xt::view(labels, xt::range(half, inputs.shape(0))));
        const metrics::DriftReport report = monitor.report();
        CHECK(report.live_rows == inputs.shape(0));
        REQUIRE(report.features.size() == live.at("features").size());
        for (std::size_t f = 0; f < report.features.size(); ++f)
        {
            INFO("feature " << f);
            const auto& expected = live.at("features")[f];
            std::vector<double> column(reference_inputs.shape(0));
            for (std::size_t r = 0; r < column.size(); ++r)
                column[r] = reference_inputs(r, f);
            CHECK(metrics::DriftBins::quantiles(column, options.bins).edges() ==
                  expected.at("edges").get<std::vector<double>>());
            CHECK(report.features[f].psi == doctest::Approx(expected.at("psi").get<double>()).epsilon(1e-12));
            CHECK(report.features[f].kl == doctest::Approx(expected.at("kl").get<double>()).epsilon(1e-12));
        }
        const auto& predictions = live.at("predictions");
        CHECK(report.predictions.psi == doctest::Approx(predictions.at("psi").get<double>()).epsilon(1e-12));
        CHECK(report.predictions.kl == doctest::Approx(predictions.at("kl").get<double>()).epsilon(1e-12));
    }
}

TEST_CASE("drift monitor: levels per feature and overall, configurable thresholds, a window, bad input refused")
{
    const auto fixture = load_fixture("drift/drift.json", "scripts/make_drift_fixtures.py");
    const auto reference_inputs = read_array<double>(fixture.at("reference_inputs"));
    const auto reference_labels = read_array<std::int64_t>(fixture.at("reference_labels"));
    const auto same = read_array<double>(fixture.at("same").at("inputs"));
    const auto same_labels = read_array<std::int64_t>(fixture.at("same").at("labels"));
    const auto shifted = read_array<double>(fixture.at("shifted").at("inputs"));
    const auto shifted_labels = read_array<std::int64_t>(fixture.at("shifted").at("labels"));

    metrics::DriftMonitor monitor(reference_inputs, reference_labels, 3);
    monitor.observe(same, same_labels);
    const metrics::DriftReport same_report = monitor.report();
    CHECK(same_report.overall == metrics::DriftLevel::none);
    CHECK(same_report.moderate_features == 0);
    monitor.reset();
    monitor.observe(shifted, shifted_labels);
    const metrics::DriftReport report = monitor.report();
    CHECK(report.overall == metrics::DriftLevel::major);
    CHECK(report.features[0].level == metrics::DriftLevel::major);      // the normal, shifted by one sd
    CHECK(report.features[2].level == metrics::DriftLevel::moderate);   // fewer ties
    CHECK(report.features[3].level == metrics::DriftLevel::none);       // the constant
    CHECK(report.major_features == 2);
    CHECK(report.moderate_features == 3);
    CHECK(report.predictions.level == metrics::DriftLevel::major);

    metrics::DriftOptions strict;
    strict.moderate_psi = 0.01;
    strict.major_psi = 0.02;
    metrics::DriftMonitor strict_monitor(reference_inputs, reference_labels, 3, strict);
    strict_monitor.observe(same, same_labels);
    CHECK(strict_monitor.report().overall == metrics::DriftLevel::major);

    // A window keeps the most recent rows only: after the shifted sample, the same one pushes it out.
    metrics::DriftOptions windowed;
    windowed.window = same.shape(0);
    metrics::DriftMonitor recent(reference_inputs, reference_labels, 3, windowed);
    recent.observe(shifted, shifted_labels);
    CHECK(recent.report().overall == metrics::DriftLevel::major);
    recent.observe(same, same_labels);
    CHECK(recent.report().live_rows == same.shape(0));
    CHECK(recent.report().features[0].psi == doctest::Approx(same_report.features[0].psi));
    CHECK(recent.report().predictions.psi == doctest::Approx(same_report.predictions.psi));

    // Too few live rows: the values are there, the verdicts are not.
    metrics::DriftMonitor few(reference_inputs, reference_labels, 3);
    few.observe(xt::view(shifted, xt::range(0, 50), xt::all()), xt::view(shifted_labels, xt::range(0, 50)));
    CHECK_FALSE(few.report().enough_rows);
    CHECK(few.report().features[0].psi > 0.25);
    CHECK(few.report().features[0].level == metrics::DriftLevel::none);
    CHECK(few.report().overall == metrics::DriftLevel::none);

    // Bad input changes nothing.
    xt::xarray<double> with_nan = same;
    with_nan(5, 1) = std::nan("");
    CHECK_THROWS_AS(monitor.observe(with_nan, same_labels), value_error);
    IndexArray bad_labels = same_labels;
    bad_labels(0) = 3;
    CHECK_THROWS_AS(monitor.observe(same, bad_labels), value_error);
    CHECK_THROWS_AS(monitor.observe(xt::view(same, xt::all(), xt::range(0, 2)), same_labels), shape_error);
    CHECK(monitor.report().live_rows == shifted.shape(0));
    CHECK_THROWS_AS(metrics::DriftMonitor(xt::xarray<double>::from_shape({0, 4}), IndexArray{}, 3), shape_error);
    metrics::DriftOptions inverted;
    inverted.moderate_psi = 0.3;
    CHECK_THROWS_AS(metrics::DriftMonitor(reference_inputs, reference_labels, 3, inverted), value_error);
    CHECK(metrics::population_stability_index({0.5, 0.5}, {0.5, 0.5}) == 0);
    CHECK_THROWS_AS(metrics::kl_divergence({1.0, 0.0}, {0.5, 0.5}), value_error);
}

TEST_CASE("predict requests: one input or a batch; every malformed request is a value_error saying what is wrong")
{
    serve::PredictLimits limits;
    limits.features = 3;
    limits.max_inputs = 2;
    const xt::xarray<float> one = serve::parse_predict_request(R"({"input": [0, 0.5, 1]})", limits);
    CHECK(one == xt::xarray<float>{{0.0f, 0.5f, 1.0f}});
    const xt::xarray<float> two =
        serve::parse_predict_request(R"({"inputs": [[0, 0.5, 1], [0.25, 0.75, 1e-3]]})", limits);
    CHECK(two == xt::xarray<float>{{0.0f, 0.5f, 1.0f}, {0.25f, 0.75f, 1e-3f}});

    const std::vector<std::pair<std::string, std::string>> malformed{
        {R"({"input": [0, 0.5)", "not valid JSON"},
        {R"([0, 0.5, 1])", "must be a JSON object"},
        {R"({"values": [0, 0.5, 1]})", "exactly one field"},
        {R"({"input": [0, 0.5, 1], "inputs": [[0, 0.5, 1]]})", "exactly one field"},
        {R"({"input": [0, 0.5]})", "input has 2 values, expected 3"},
        {R"({"input": [0, 0.5, 1, 1]})", "input has 4 values, expected 3"},
        {R"({"input": [0, "0.5", 1]})", "input[1] is a string, not a number"},
        {R"({"input": [0, null, 1]})", "input[1] is null, not a number"},
        {R"({"input": [0, true, 1]})", "input[1] is a boolean"},
        {R"({"input": [0, NaN, 1]})", "not valid JSON"},
        {R"({"input": [0, 1e999, 1]})", "not valid JSON"},
        {R"({"input": [0, 1.5, 1]})", "input[1] is 1.5, outside [0"},
        {R"({"input": [0, -0.1, 1]})", "outside"},
        {R"({"input": 7})", "input must be an array"},
        {R"({"inputs": []})", "non-empty array"},
        {R"({"inputs": [[0, 0.5, 1], [0, 0.5]]})", "inputs[1] has 2 values"},
        {R"({"inputs": [[0, 0.5, 1], [0, 0.5, 1], [0, 0.5, 1]]})", "at most 2"},
        {R"({"inputs": [[[0], 0.5, 1]]})", "inputs[0][0] is an array"}};
    for (const auto& example : malformed)
    {
        INFO(example.first);
        try
        {
            serve::parse_predict_request(example.first, limits);
            FAIL("accepted");
        }
        catch (const value_error& error)
        {
            CHECK(std::string(error.what()).find(example.second) != std::string::npos);
        }
    }
    const auto answer = nlohmann::json::parse(serve::predict_response(xt::xarray<float>{{0.25f, 0.75f}}, {4}));
    CHECK(answer.at("version") == 4);
    CHECK(answer.at("predictions")[0].at("label") == 1);
    CHECK(answer.at("predictions")[0].at("probabilities") == std::vector<float>{0.25f, 0.75f});
    CHECK(answer.at("predictions")[0].at("version") == 4);
    CHECK_THROWS_AS(serve::predict_response(xt::xarray<float>{{0.25f, 0.75f}}, {4, 5}), shape_error);
}

TEST_CASE("micro-batcher: concurrent inputs share batches, each caller gets its own output, errors reach callers")
{
    std::mutex sizes_mutex;
    std::vector<std::size_t> sizes;
    serve::MicroBatcher<int, int> batcher(
        [](const std::vector<int>& inputs) {
            std::vector<int> outputs;
            for (const int input : inputs)
            {
                if (input < 0)
                    throw value_error("negative input");
                outputs.push_back(input * input);
            }
            return outputs;
        },
        8, std::chrono::milliseconds(20),
        [&](std::size_t size) {
            std::lock_guard<std::mutex> lock(sizes_mutex);
            sizes.push_back(size);
        });
    std::vector<std::thread> clients;
    std::atomic<int> wrong{0};
    for (int client = 0; client < 4; ++client)
        clients.emplace_back([&, client] {
            for (int i = 0; i < 50; ++i)
            {
                const int input = client * 1000 + i;
                if (batcher.submit(input).get() != input * input)
                    ++wrong;
            }
        });
    for (auto& client : clients)
        client.join();
    CHECK(wrong == 0);
    std::size_t total = 0;
    for (const std::size_t size : sizes)
    {
        CHECK(size >= 1);
        CHECK(size <= 8);
        total += size;
    }
    CHECK(total == 200);
    std::vector<std::future<int>> futures;
    for (int i = 0; i < 8; ++i)   // one batch of 8, with a bad input: every caller of it gets the error
        futures.push_back(batcher.submit(i == 3 ? -1 : i));
    std::size_t failed = 0;
    for (auto& future : futures)
    {
        try
        {
            future.get();
        }
        catch (const value_error&)
        {
            ++failed;
        }
    }
    CHECK(failed >= 1);
    CHECK(batcher.submit(5).get() == 25);
    using IntBatcher = serve::MicroBatcher<int, int>;
    const auto identity = [](const std::vector<int>& inputs) { return inputs; };
    CHECK_THROWS_AS(IntBatcher(identity, 0, std::chrono::microseconds(0)), value_error);
}
