// 13 — An inference server: the production model of a model store behind an HTTP API (cpp-httplib), with input
// validation, micro-batching, hot swaps, drift monitoring and Prometheus statistics.
//
// What it teaches: what a model needs once it is trained — a versioned store to roll back to, a service that
// refuses bad input with a clear answer instead of crashing, batching of concurrent requests, and a watch on
// whether live inputs still look like the training data.
//
//     ./13_inference_server --train-demo --store models    # trains the MLP twice, stores versions 1 and 2
//     ./13_inference_server --store models --token secret  # serves the production version on 127.0.0.1:8080
//
//   POST /predict          {"input": [784 values in [0, 1]]} or {"inputs": [[...], ...]}
//                          -> {"version": 2, "predictions": [{"label": 9, "probabilities": [...], "version": 2}]}
//   GET  /health           {"status": "ok", "version": 2}
//   GET  /model            the version served and its metadata
//   POST /admin/promote    {"version": 1}, header "Authorization: Bearer <token>": serve another version
//   POST /admin/rollback   the same header: back to the previous production version
//   GET  /drift            PSI of the recent inputs and predictions against the version's training sample
//   GET  /metrics          Prometheus text: requests by endpoint and code, latency and batch-size histograms
// docs/serving.md walks through it with curl.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>
#include <thread>

#include <pthread.h>
#include <signal.h>

#include <xgrad/xgrad.hpp>

#include "command_line.hpp"
#include "serving_demo.hpp"

using namespace xgrad;
using json = nlohmann::json;

namespace
{
    // --- training the demo's versions --------------------------------------------------------------------

    // FNV-1a of the bytes of the training images: the store's data fingerprint.
    std::string fingerprint(const xt::xarray<float>& images)
    {
        std::uint64_t hash = 1469598103934665603ull;
        const auto* bytes = reinterpret_cast<const unsigned char*>(images.data());
        for (std::size_t i = 0; i < images.size() * sizeof(float); ++i)
            hash = (hash ^ bytes[i]) * 1099511628211ull;
        std::ostringstream out;
        out << "fnv1a64:" << std::hex << hash << " (" << std::dec << images.shape(0) << " images)";
        return out.str();
    }

    // Trains the demo MLP for `epochs` on (images, labels) and stores it with its test accuracy, the data
    // fingerprint and a reference sample for drift; returns the version.
    std::uint64_t train_and_store(io::ModelStore& store, const xt::xarray<float>& images, const IndexArray& labels,
                                  const xt::xarray<float>& test_images, const IndexArray& test_labels,
                                  std::size_t epochs, std::size_t reference_count, unsigned seed)
    {
        manual_seed(seed);
        nn::Sequential<float> model = serving_demo::make_model();
        optim::SGD<float> optimizer(model.parameters(), optim::SGDOptions(0.05).momentum(0.9));
        data::DataLoader<float> loader(data::TensorDataset<float>(images, labels), {64, /*shuffle=*/true, false, seed});
        for (std::size_t epoch = 0; epoch < epochs; ++epoch)
        {
            model.train();
            for (const auto& batch : loader)
            {
                const Tensor<float> loss = cross_entropy(model(batch.inputs), batch.targets);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
        }
        const double accuracy =
            metrics::accuracy(metrics::argmax(serving_demo::probabilities(model, test_images)), test_labels);
        const xt::xarray<float> sample = xt::view(images, xt::range(0, reference_count), xt::all());
        StateDict<float> reference;
        reference.insert(serving_demo::reference_inputs, sample);
        reference.insert(serving_demo::reference_labels,
                         xt::cast<float>(metrics::argmax(serving_demo::probabilities(model, sample))));
        io::ModelMetadata metadata;
        metadata.metrics["test_accuracy"] = accuracy;
        metadata.data_fingerprint = fingerprint(images);
        metadata.tags = {{"model", "mlp-784-128-10"}, {"epochs", std::to_string(epochs)}};
        const std::uint64_t version = store.save(model, metadata, reference);
        std::cout << "stored version " << version << ": " << epochs << " epoch(s), test accuracy " << accuracy << '\n';
        return version;
    }

    int train_demo(const std::string& store_directory, const std::string& data_directory, std::size_t count)
    {
        const auto train = data::load_mnist<float>(data_directory, true);
        const auto test = data::load_mnist<float>(data_directory, false);
        count = std::min(count, train.labels.size());
        const xt::xarray<float> images =
            xt::reshape_view(xt::view(train.images, xt::range(0, count)), {count, serving_demo::features});
        const IndexArray labels = xt::view(train.labels, xt::range(0, count));
        const std::size_t test_count = std::min<std::size_t>(2000, test.labels.size());
        const xt::xarray<float> test_images =
            xt::reshape_view(xt::view(test.images, xt::range(0, test_count)), {test_count, serving_demo::features});
        const IndexArray test_labels = xt::view(test.labels, xt::range(0, test_count));

        io::ModelStore store(store_directory);
        const std::size_t reference_count = std::min<std::size_t>(1000, count);
        const std::uint64_t first =
            train_and_store(store, images, labels, test_images, test_labels, 1, reference_count, 1);
        store.promote(first);
        const std::uint64_t second =
            train_and_store(store, images, labels, test_images, test_labels, 3, reference_count, 2);
        store.promote(second);
        std::cout << "version " << second << " is in production (rollback goes back to " << first << ")\n";
        const bool learned = store.metadata(second).metrics.at("test_accuracy") > 0.6;   // chance is 0.1
        if (!learned)
            std::cout << "the demo model did not learn (test accuracy at most 0.6)\n";
        return learned ? 0 : 1;
    }

    // --- serving -----------------------------------------------------------------------------------------

    sigset_t serve_stop_signals()
    {
        sigset_t signals;
        sigemptyset(&signals);
        sigaddset(&signals, SIGINT);
        sigaddset(&signals, SIGTERM);
        return signals;
    }

    // One version, ready to serve: its model, metadata and drift monitor (fitted on its reference sample).
    struct Served
    {
        std::uint64_t version = 0;
        io::ModelMetadata metadata;
        std::unique_ptr<nn::Sequential<float>> model;
        std::unique_ptr<metrics::DriftMonitor> drift;   // null when the version has no reference sample
        std::mutex drift_mutex;
    };

    struct Prediction
    {
        std::vector<float> probabilities;
        std::uint64_t version = 0;
    };

    struct ServerOptions
    {
        std::string store, host = "127.0.0.1", token;
        int port = 8080;
        std::size_t max_batch = 32, max_wait_us = 2000, max_inputs = 256, threads = 16, drift_window = 2000;
    };

    class InferenceServer
    {
    public:
        explicit InferenceServer(const ServerOptions& options)
            : options_(options), store_(options.store),
              batcher_([this](const std::vector<xt::xarray<float>>& rows) { return run_batch(rows); },
                       options.max_batch, std::chrono::microseconds(options.max_wait_us),
                       [this](std::size_t size) { batch_sizes_.observe(double(size)); })
        {
            limits_.features = serving_demo::features;
            limits_.max_inputs = options.max_inputs;
            // A request of max_inputs inputs, each value written with up to 24 characters.
            max_body_bytes_ = 64 + options.max_inputs * serving_demo::features * 24;
            std::atomic_store(&served_, load(store_.production_version()));
            routes();
        }

        int listen()
        {
            const int port = options_.port == 0
                                 ? server_.bind_to_any_port(options_.host)
                                 : (server_.bind_to_port(options_.host, options_.port) ? options_.port : -1);
            if (port < 0)
            {
                std::cerr << "cannot listen on " << options_.host << ':' << options_.port << '\n';
                return 1;
            }
            std::cout << "serving version " << current()->version << " on http://" << options_.host << ':' << port
                      << std::endl;
            // SIGINT and SIGTERM (blocked in every thread, see main) stop the server: requests under way are
            // answered, then listen_after_bind returns.
            std::thread([this] {
                sigset_t stop_signals = serve_stop_signals();
                int signal_number = 0;
                sigwait(&stop_signals, &signal_number);
                server_.stop();
            }).detach();
            return server_.listen_after_bind() ? 0 : 1;
        }

    private:
        std::shared_ptr<Served> current() const { return std::atomic_load(&served_); }

        // Loads a version of the store, with its drift monitor (on this thread: the one serving is untouched).
        std::shared_ptr<Served> load(std::uint64_t version)
        {
            auto served = std::make_shared<Served>();
            served->version = version;
            served->model = std::make_unique<nn::Sequential<float>>(serving_demo::make_model());
            served->metadata = store_.load(version, *served->model);
            served->model->eval();
            const StateDict<float> reference = store_.reference<float>(version);
            if (reference.contains(serving_demo::reference_inputs) &&
                reference.contains(serving_demo::reference_labels))
            {
                metrics::DriftOptions drift_options;
                drift_options.window = options_.drift_window;
                served->drift = std::make_unique<metrics::DriftMonitor>(
                    xt::cast<double>(reference.at(serving_demo::reference_inputs)),
                    xt::cast<std::int64_t>(reference.at(serving_demo::reference_labels)), serving_demo::classes,
                    drift_options);
            }
            return served;
        }

        // The batcher's worker: one forward pass for every input waiting, on the version served right now.
        std::vector<Prediction> run_batch(const std::vector<xt::xarray<float>>& rows)
        {
            const std::shared_ptr<Served> served = current();
            xt::xarray<float> inputs = xt::xarray<float>::from_shape({rows.size(), serving_demo::features});
            for (std::size_t n = 0; n < rows.size(); ++n)
                std::copy(rows[n].begin(), rows[n].end(), inputs.data() + n * serving_demo::features);
            const xt::xarray<float> probabilities = serving_demo::probabilities(*served->model, inputs);   // (n, 10)
            if (served->drift)
            {
                std::lock_guard<std::mutex> lock(served->drift_mutex);
                served->drift->observe(xt::cast<double>(inputs), metrics::argmax(probabilities));
            }
            std::vector<Prediction> predictions(rows.size());
            for (std::size_t n = 0; n < rows.size(); ++n)
            {
                const float* row = probabilities.data() + n * serving_demo::classes;
                predictions[n] = {std::vector<float>(row, row + serving_demo::classes), served->version};
            }
            return predictions;
        }

        void answer(httplib::Response& response, int status, const std::string& body,
                    const char* type = "application/json")
        {
            response.status = status;
            response.set_content(body, type);
        }

        void predict(const std::string& body, httplib::Response& response)
        {
            const xt::xarray<float> inputs = serve::parse_predict_request(body, limits_);   // (n, 784)
            std::vector<std::future<Prediction>> pending;
            for (std::size_t n = 0; n < inputs.shape(0); ++n)
                pending.push_back(batcher_.submit(xt::xarray<float>(xt::view(inputs, n, xt::all()))));
            xt::xarray<float> probabilities = xt::xarray<float>::from_shape({inputs.shape(0), serving_demo::classes});
            std::vector<std::uint64_t> versions;
            for (std::size_t n = 0; n < pending.size(); ++n)
            {
                const Prediction prediction = pending[n].get();
                std::copy(prediction.probabilities.begin(), prediction.probabilities.end(),
                          probabilities.data() + n * serving_demo::classes);
                versions.push_back(prediction.version);
            }
            answer(response, 200, serve::predict_response(probabilities, versions));
        }

        json model_json(const Served& served) const
        {
            return {{"version", served.version},
                    {"metrics", served.metadata.metrics},
                    {"data_fingerprint", served.metadata.data_fingerprint},
                    {"architecture", served.metadata.architecture},
                    {"tags", served.metadata.tags},
                    {"created", served.metadata.created},
                    {"production_history", store_.manifest().production}};
        }

        json drift_json(Served& served) const
        {
            if (!served.drift)
                return {{"version", served.version}, {"error", "this version has no reference sample"}};
            std::lock_guard<std::mutex> lock(served.drift_mutex);
            const metrics::DriftReport report = served.drift->report();
            auto feature = [](const metrics::FeatureDrift& drift) {
                return json{{"psi", drift.psi}, {"kl", drift.kl}, {"level", metrics::drift_level_name(drift.level)}};
            };
            std::vector<std::size_t> order(report.features.size());
            std::iota(order.begin(), order.end(), std::size_t(0));
            std::sort(order.begin(), order.end(),
                      [&](std::size_t a, std::size_t b) { return report.features[a].psi > report.features[b].psi; });
            json top = json::array();
            for (std::size_t i = 0; i < std::min<std::size_t>(5, order.size()); ++i)
            {
                json entry = feature(report.features[order[i]]);
                entry["feature"] = order[i];
                top.push_back(entry);
            }
            return {{"version", served.version},
                    {"live_rows", report.live_rows},
                    {"enough_rows", report.enough_rows},
                    {"overall", metrics::drift_level_name(report.overall)},
                    {"mean_feature_psi", report.mean_feature_psi},
                    {"moderate_features", report.moderate_features},
                    {"major_features", report.major_features},
                    {"predictions", feature(report.predictions)},
                    {"top_features", top}};
        }

        bool authorized(const httplib::Request& request, httplib::Response& response)
        {
            if (options_.token.empty())
                answer(response, 403, serve::error_response("admin endpoints are off: start the server with --token"));
            else if (request.get_header_value("Authorization") != "Bearer " + options_.token)
                answer(response, 401,
                       serve::error_response("missing or wrong token (header Authorization: Bearer <token>)"));
            else
                return true;
            return false;
        }

        // Serves `version` from now on: it is loaded first (a version that does not load changes nothing), then
        // `change_store` records it in the store, then it is swapped in; requests in flight finish on the old one.
        template <class ChangeStore>
        void swap_to(std::uint64_t version, ChangeStore change_store, httplib::Response& response)
        {
            std::shared_ptr<Served> next = load(version);
            change_store();
            std::atomic_store(&served_, next);
            answer(response, 200, json{{"version", version}}.dump());
        }

        void promote(const httplib::Request& request, httplib::Response& response)
        {
            if (!authorized(request, response))
                return;
            const json body = json::parse(request.body, nullptr, false);
            if (body.is_discarded() || !body.is_object() || !body.contains("version") ||
                !body.at("version").is_number_unsigned())
                return answer(response, 400, serve::error_response("the body must be {\"version\": <version number>}"));
            const std::uint64_t version = body.at("version").get<std::uint64_t>();
            std::lock_guard<std::mutex> lock(admin_mutex_);
            const std::vector<std::uint64_t> versions = store_.manifest().versions;
            if (!std::binary_search(versions.begin(), versions.end(), version))
                return answer(response, 404,
                              serve::error_response("the store has no version " + std::to_string(version)));
            swap_to(
                version, [&] { store_.promote(version); }, response);
        }

        void rollback(const httplib::Request& request, httplib::Response& response)
        {
            if (!authorized(request, response))
                return;
            std::lock_guard<std::mutex> lock(admin_mutex_);
            const std::vector<std::uint64_t> history = store_.manifest().production;
            if (history.size() < 2)
                return answer(response, 409, serve::error_response("the store has no earlier production version"));
            swap_to(
                history[history.size() - 2], [&] { store_.rollback(); }, response);
        }

        // Runs `action` for a request to `endpoint`: its errors become JSON answers (400 for bad input, 500 for a
        // damaged store), and every request is counted and timed.
        template <class Action>
        void counted(const std::string& endpoint, httplib::Response& response, Action action)
        {
            const auto start = std::chrono::steady_clock::now();
            try
            {
                action();
            }
            catch (const value_error& error)
            {
                answer(response, 400, serve::error_response(error.what()));
            }
            catch (const std::exception& error)
            {
                answer(response, 500, serve::error_response(error.what()));
            }
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            requests_.increment("endpoint=\"" + endpoint + "\",code=\"" + std::to_string(response.status) + "\"");
            if (endpoint == "/predict")
                latency_.observe(seconds);
        }

        template <class Handler>
        httplib::Server::Handler handle(const std::string& endpoint, Handler handler)
        {
            return [this, endpoint, handler](const httplib::Request& request, httplib::Response& response) {
                counted(endpoint, response, [&] { handler(request, response); });
            };
        }

        // POST /predict reads its body itself, whatever its Content-Type: httplib would parse a form-encoded body
        // (curl's default for -d) and refuse one beyond 8 KB.
        void predict_route(const httplib::ContentReader& read, httplib::Response& response)
        {
            std::string body;
            bool too_large = false;
            const bool complete = read([&](const char* data, std::size_t length) {
                too_large = too_large || body.size() + length > max_body_bytes_;
                if (!too_large)
                    body.append(data, length);
                return !too_large;
            });
            counted("/predict", response, [&] {
                if (too_large || response.status == 413)
                    answer(response, 413,
                           serve::error_response("the request body is larger than " + std::to_string(max_body_bytes_) +
                                                 " bytes"));
                else if (!complete)
                    answer(response, 400, serve::error_response("the request body could not be read"));
                else
                    predict(body, response);
            });
        }

        void routes()
        {
            server_.new_task_queue = [threads = options_.threads] { return new httplib::ThreadPool(threads); };
            server_.set_payload_max_length(max_body_bytes_);
            server_.set_keep_alive_max_count(1000);
            server_.Post("/predict", [this](const httplib::Request&, httplib::Response& r,
                                            const httplib::ContentReader& read) { predict_route(read, r); });
            server_.Get("/health", handle("/health", [this](const auto&, auto& r) {
                            answer(r, 200, json{{"status", "ok"}, {"version", current()->version}}.dump());
                        }));
            server_.Get("/model", handle("/model", [this](const auto&, auto& r) {
                            answer(r, 200, model_json(*current()).dump());
                        }));
            server_.Get("/drift", handle("/drift", [this](const auto&, auto& r) {
                            answer(r, 200, drift_json(*current()).dump());
                        }));
            server_.Get(
                "/metrics", handle("/metrics", [this](const auto&, auto& r) {
                    std::ostringstream out;
                    requests_.render(out);
                    latency_.render(out);
                    batch_sizes_.render(out);
                    out << "# HELP xgrad_model_version The model version served.\n# TYPE xgrad_model_version gauge\n"
                        << "xgrad_model_version " << current()->version << '\n';
                    answer(r, 200, out.str(), "text/plain; version=0.0.4");
                }));
            server_.Post("/admin/promote", handle("/admin/promote", [this](const auto& q, auto& r) { promote(q, r); }));
            server_.Post("/admin/rollback",
                         handle("/admin/rollback", [this](const auto& q, auto& r) { rollback(q, r); }));
            // What httplib answers itself (no such route: 404, body too large: 413, ...) gets a JSON error too.
            server_.set_error_handler([this](const httplib::Request& request, httplib::Response& response) {
                if (!response.body.empty())
                    return;
                const std::string message =
                    response.status == 413
                        ? "the request body is larger than " + std::to_string(max_body_bytes_) + " bytes"
                    : response.status == 404 ? "no endpoint " + request.method + " " + request.path
                    : response.status == 400 ? "malformed HTTP request (a POST needs a Content-Length, -d '' with curl)"
                                             : "the request was refused (" + std::to_string(response.status) + ")";
                response.set_content(serve::error_response(message), "application/json");
                requests_.increment("endpoint=\"other\",code=\"" + std::to_string(response.status) + "\"");
            });
        }

        ServerOptions options_;
        io::ModelStore store_;
        serve::PredictLimits limits_;
        std::size_t max_body_bytes_ = 0;
        std::shared_ptr<Served> served_;   // read and swapped with std::atomic_load / atomic_store
        std::mutex admin_mutex_;           // one promote or rollback at a time
        serve::CounterFamily requests_{"xgrad_requests_total", "Requests by endpoint and status code."};
        serve::Histogram latency_{"xgrad_predict_seconds",
                                  "Time to answer POST /predict.",
                                  {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0}};
        serve::Histogram batch_sizes_{
            "xgrad_batch_size", "Inputs per forward pass.", {1, 2, 4, 8, 16, 32, 64, 128, 256}};
        serve::MicroBatcher<xt::xarray<float>, Prediction> batcher_;   // after what run_batch uses
        httplib::Server server_;
    };
}

int main(int argc, char** argv)
{
    ServerOptions options;
    bool train = false;
    std::string data_directory = "/usr/share/datasets/fashion-mnist";
    std::size_t train_count = 10000;
    CommandLine cli{"Serve the production model of a model store over HTTP (or train the demo's versions)"};
    cli.add_option("--store", options.store, "The model store's directory");
    cli.add_flag("--train-demo", train, "Train the demo MLP twice and store both versions (the second in production)");
    cli.add_option("--data", data_directory, "Fashion-MNIST's directory, for --train-demo (dataset-fashion-mnist)");
    cli.add_option("--train-count", train_count, "Training images, for --train-demo");
    cli.add_option("--host", options.host, "Address to listen on");
    cli.add_option("--port", options.port, "Port to listen on (0: any free port, printed at start)");
    cli.add_option("--token", options.token, "Token for /admin/promote and /admin/rollback (none: they are off)");
    cli.add_option("--max-batch", options.max_batch, "Inputs per forward pass at most (1: no micro-batching)");
    cli.add_option("--max-wait-us", options.max_wait_us, "Microseconds a batch waits for more inputs (0: none)");
    cli.add_option("--max-inputs", options.max_inputs, "Inputs per request at most");
    cli.add_option("--threads", options.threads, "HTTP worker threads");
    cli.add_option("--drift-window", options.drift_window, "Recent inputs /drift compares with the reference");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;
    const bool in_range = options.port >= 0 && options.port <= 65535 && options.max_batch >= 1 &&
                          options.max_inputs >= 1 && options.max_inputs <= 4096 && options.threads >= 1;
    if (options.store.empty() || !in_range)
    {
        std::cerr << "--store is required; --port in [0, 65535], --max-batch and --threads at least 1, --max-inputs "
                     "in [1, 4096]\n";
        return 2;
    }
    try
    {
        if (train)
            return train_demo(options.store, data_directory, train_count);
        // Before any thread starts, so that every thread inherits it: the stop signals wait for sigwait.
        const sigset_t stop_signals = serve_stop_signals();
        pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
        InferenceServer server(options);
        const int status = server.listen();
        std::cout << "stopped" << std::endl;
        return status;
    }
    catch (const std::exception& error)
    {
        std::cerr << "13_inference_server: " << error.what() << '\n';
        return 1;
    }
}
