// Example 13's inference server driven from outside, on loopback: a store made by its --train-demo, the server
// started as a child process on a free port, then: its predictions equal the library's own; every kind of bad
// request gets its 4xx with a JSON error; drift is reported for a shifted input stream and not for the
// training stream; 8 client threads x 500 requests lose nothing and every answer is right, while a rollback in
// the middle changes the version served without failing a request; GET / serves the demo page as it is in its
// file, with a policy that lets it fetch from this server only (tests/browser uses it in a browser).
#include <doctest/doctest.h>

#include <httplib.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <xgrad/xgrad.hpp>

#include "../test_support.hpp"
#include "serving_demo.hpp"

using namespace xgrad;
using json = nlohmann::json;

namespace
{
    const std::string token = "test-token";

    // Runs `arguments` (argv[0] the program) as a child; with `port`, reads the port it prints from its output.
    pid_t spawn(const std::vector<std::string>& arguments, int* port)
    {
        int pipe_ends[2];
        REQUIRE(::pipe(pipe_ends) == 0);
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0)
        {
            ::dup2(pipe_ends[1], STDOUT_FILENO);
            ::close(pipe_ends[0]);
            ::close(pipe_ends[1]);
            std::vector<char*> argv;
            for (const auto& argument : arguments)
                argv.push_back(const_cast<char*>(argument.c_str()));
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(pipe_ends[1]);
        std::FILE* out = ::fdopen(pipe_ends[0], "r");
        char line[512];
        std::string output;
        while (std::fgets(line, sizeof line, out) != nullptr)
        {
            output += line;
            const std::string text = line;
            const auto at = text.find("http://127.0.0.1:");
            if (port != nullptr && at != std::string::npos)
            {
                *port = std::stoi(text.substr(at + 17));
                break;
            }
        }
        if (port == nullptr)
        {
            std::fclose(out);
            int status = 0;
            REQUIRE(::waitpid(child, &status, 0) == child);
            INFO(output);
            REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
        }
        REQUIRE_MESSAGE((port == nullptr || *port > 0), "the server did not start: " << output);
        return child;
    }

    // The demo's store (trained once), the server on it, and the test images.
    struct Service
    {
        xgrad_test::TempDir dir;
        std::string store = dir.file("store");
        pid_t server = 0;
        int port = 0;
        xt::xarray<float> images;   // (N, 784) test images, in [0, 1]
        xt::xarray<float> train_images;

        Service()
        {
            spawn({XGRAD_SERVER, "--train-demo", "--store", store, "--train-count", "2000"}, nullptr);
            server =
                spawn({XGRAD_SERVER, "--store", store, "--port", "0", "--token", token, "--threads", "12",
                       "--drift-window", "600", "--max-batch", "16", "--max-wait-us", "1000", "--max-inputs", "16"},
                      &port);
            const auto test = data::load_mnist<float>(XGRAD_FASHION_MNIST, false);
            images = xt::reshape_view(xt::view(test.images, xt::range(0, 600)), {600, 784});
            const auto train = data::load_mnist<float>(XGRAD_FASHION_MNIST, true);
            train_images = xt::reshape_view(xt::view(train.images, xt::range(1000, 1600)), {600, 784});
        }
        ~Service() { stop(); }

        // SIGTERM, then the server's exit status (-1 when it did not exit normally).
        int stop()
        {
            if (server == 0)
                return -1;
            ::kill(server, SIGTERM);
            int status = 0;
            ::waitpid(server, &status, 0);
            server = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }

        httplib::Client client() const
        {
            httplib::Client client("127.0.0.1", port);
            client.set_read_timeout(60, 0);
            return client;
        }

        // The library's own probabilities of `inputs` under stored version `version`.
        xt::xarray<float> expected(std::uint64_t version, const xt::xarray<float>& inputs) const
        {
            io::ModelStore opened(store);
            nn::Sequential<float> model = serving_demo::make_model();
            opened.load(version, model);
            return serving_demo::probabilities(model, inputs);
        }
    };

    Service& service()
    {
        static Service running;
        return running;
    }

    std::string input_json(const xt::xarray<float>& images, std::size_t row)
    {
        const float* begin = images.data() + row * 784;
        return json{{"input", std::vector<float>(begin, begin + 784)}}.dump();
    }

    json post(httplib::Client& client, const std::string& path, const std::string& body, int expected_status,
              const httplib::Headers& headers = {})
    {
        const auto result = client.Post(path.c_str(), headers, body, "application/json");
        REQUIRE(result);
        INFO(path << " answered " << result->status << ": " << result->body.substr(0, 300));
        CHECK(result->status == expected_status);
        const json answer = json::parse(result->body, nullptr, false);
        REQUIRE(!answer.is_discarded());
        return answer;
    }

    json get(httplib::Client& client, const std::string& path)
    {
        const auto result = client.Get(path.c_str());
        REQUIRE(result);
        REQUIRE(result->status == 200);
        return json::parse(result->body);
    }

    std::size_t label_of(const xt::xarray<float>& probabilities, std::size_t row)
    {
        std::size_t label = 0;
        for (std::size_t c = 1; c < 10; ++c)
            if (probabilities(row, c) > probabilities(row, label))
                label = c;
        return label;
    }

    const httplib::Headers admin{{"Authorization", "Bearer " + token}};
}

TEST_CASE("the server's predictions, one input or a batch, equal the library's own")
{
    Service& s = service();
    auto client = s.client();
    CHECK(get(client, "/health").at("version") == 2);
    const json model = get(client, "/model");
    CHECK(model.at("version") == 2);
    CHECK(model.at("metrics").at("test_accuracy").get<double>() > 0.5);
    CHECK(model.at("production_history") == std::vector<int>{1, 2});

    const xt::xarray<float> expected = s.expected(2, xt::view(s.images, xt::range(0, 16), xt::all()));
    for (std::size_t row = 0; row < 5; ++row)
    {
        const json answer = post(client, "/predict", input_json(s.images, row), 200);
        const auto& prediction = answer.at("predictions")[0];
        CHECK(prediction.at("label") == label_of(expected, row));
        for (std::size_t c = 0; c < 10; ++c)
            CHECK(prediction.at("probabilities")[c].get<float>() == doctest::Approx(expected(row, c)).epsilon(1e-5));
    }
    json batch = json::array();
    for (std::size_t row = 0; row < 16; ++row)
        batch.push_back(json::parse(input_json(s.images, row)).at("input"));
    const json answer = post(client, "/predict", json{{"inputs", batch}}.dump(), 200);
    REQUIRE(answer.at("predictions").size() == 16);
    for (std::size_t row = 0; row < 16; ++row)
        CHECK(answer.at("predictions")[row].at("label") == label_of(expected, row));
}

TEST_CASE("GET / serves the demo page, byte for byte the HTML file, allowed to talk to this server only")
{
    auto client = service().client();
    const auto result = client.Get("/");
    REQUIRE(result);
    CHECK(result->status == 200);
    CHECK(result->get_header_value("Content-Type") == "text/html; charset=utf-8");
    CHECK(result->get_header_value("Content-Security-Policy").find("connect-src 'self'") != std::string::npos);
    CHECK(result->get_header_value("Content-Security-Policy").find("default-src 'none'") != std::string::npos);
    std::ifstream file(XGRAD_DEMO_PAGE, std::ios::binary);
    REQUIRE(file);
    const std::string page((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    CHECK(result->body == page);
}

TEST_CASE("every kind of bad request gets its 4xx and a JSON error saying what was wrong")
{
    Service& s = service();
    auto client = s.client();
    std::vector<float> short_input(783, 0.5f), long_input(785, 0.5f);
    json with_string = json::parse(input_json(s.images, 0));
    with_string["input"][10] = "0.5";
    const std::vector<std::tuple<std::string, std::string, int, std::string>> cases{
        {"/predict", json{{"input", short_input}}.dump(), 400, "input has 783 values, expected 784"},
        {"/predict", json{{"input", long_input}}.dump(), 400, "input has 785 values"},
        {"/predict", with_string.dump(), 400, "input[10] is a string, not a number"},
        {"/predict", "{\"input\": [NaN]}", 400, "not valid JSON"},
        {"/predict", "{\"input\": [0.5, ", 400, "not valid JSON"},
        {"/predict", "[1, 2, 3]", 400, "must be a JSON object"},
        {"/predict", "{\"pixels\": []}", 400, "exactly one field"},
        {"/predict", json{{"input", std::vector<float>(784, 2.0f)}}.dump(), 400, "outside [0"},
        {"/predict", std::string(400000, ' '), 413, "larger than"},
        {"/nowhere", "{}", 404, "no endpoint POST /nowhere"},
        {"/admin/rollback", "", 401, "wrong token"},
        {"/admin/promote", "{\"version\": 1}", 401, "wrong token"}};
    for (const auto& example : cases)   // no structured binding: INFO and CHECK capture in lambdas (clang 14)
    {
        const std::string& path = std::get<0>(example);
        const std::string& body = std::get<1>(example);
        INFO(path << " " << body.substr(0, 80));
        const json answer = post(client, path, body, std::get<2>(example));
        CHECK(answer.at("error").get<std::string>().find(std::get<3>(example)) != std::string::npos);
    }
    CHECK(post(client, "/admin/promote", "{\"version\": 7}", 404, admin)
              .at("error")
              .get<std::string>()
              .find("no version 7") != std::string::npos);
    post(client, "/admin/promote", "{\"version\": -1}", 400, admin);
    post(client, "/admin/promote", "not json", 400, admin);
    CHECK(get(client, "/health").at("status") == "ok");   // still serving
}

TEST_CASE("drift is reported for a shifted input stream, not for the training stream")
{
    Service& s = service();
    auto client = s.client();
    auto send_all = [&](const xt::xarray<float>& inputs) {
        for (std::size_t start = 0; start < inputs.shape(0); start += 15)
        {
            json batch = json::array();
            for (std::size_t row = start; row < std::min(start + 15, inputs.shape(0)); ++row)
                batch.push_back(json::parse(input_json(inputs, row)).at("input"));
            post(client, "/predict", json{{"inputs", batch}}.dump(), 200);
        }
    };
    send_all(s.train_images);   // 600 training images the reference sample does not hold: the window's whole
    const json calm = get(client, "/drift");
    CHECK(calm.at("live_rows") == 600);
    CHECK(calm.at("enough_rows") == true);
    CHECK(calm.at("overall") == "none");
    CHECK(calm.at("predictions").at("level") == "none");
    const xt::xarray<float> brighter = xt::minimum(s.train_images * 0.5f + 0.4f, 1.0f);
    send_all(brighter);
    const json shifted = get(client, "/drift");
    CHECK(shifted.at("overall") == "major");
    CHECK(shifted.at("major_features").get<std::size_t>() > 100);
    CHECK(shifted.at("mean_feature_psi").get<double>() > calm.at("mean_feature_psi").get<double>());
}

TEST_CASE("8 clients x 500 requests: nothing lost, every answer right, a rollback midway fails no request")
{
    Service& s = service();
    const std::size_t rows = s.images.shape(0);
    const xt::xarray<float> expected_v1 = s.expected(1, s.images), expected_v2 = s.expected(2, s.images);
    std::vector<std::string> bodies;
    for (std::size_t row = 0; row < rows; ++row)
        bodies.push_back(input_json(s.images, row));

    constexpr int clients = 8, requests_each = 500;
    std::atomic<int> answered{0}, failed{0}, wrong{0}, served_by_1{0}, served_by_2{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
        threads.emplace_back([&, c] {
            auto client = s.client();
            for (int i = 0; i < requests_each; ++i)
            {
                const std::size_t row = std::size_t(c * requests_each + i) % rows;
                const auto result = client.Post("/predict", bodies[row], "application/json");
                if (!result || result->status != 200)
                {
                    ++failed;
                    continue;
                }
                const json answer = json::parse(result->body, nullptr, false);
                const json& prediction = answer.at("predictions")[0];
                const int version = prediction.at("version").get<int>();
                const auto& expected = version == 1 ? expected_v1 : expected_v2;
                (version == 1 ? served_by_1 : served_by_2)++;
                if (prediction.at("label").get<std::size_t>() != label_of(expected, row) ||
                    (version != 1 && version != 2))
                    ++wrong;
                ++answered;
            }
        });
    while (answered < clients * requests_each / 2)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto admin_client = s.client();
    CHECK(post(admin_client, "/admin/rollback", "", 200, admin).at("version") == 1);
    for (auto& thread : threads)
        thread.join();
    CHECK(failed == 0);
    CHECK(wrong == 0);
    CHECK(answered == clients * requests_each);
    CHECK(served_by_2 > 0);
    CHECK(served_by_1 > 0);
    CHECK(get(admin_client, "/health").at("version") == 1);
    CHECK(post(admin_client, "/admin/rollback", "", 409, admin).at("error").get<std::string>().find("no earlier") !=
          std::string::npos);

    // Back to version 2; the statistics count every request.
    CHECK(post(admin_client, "/admin/promote", "{\"version\": 2}", 200, admin).at("version") == 2);
    const auto metrics = admin_client.Get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->body.find("xgrad_requests_total{endpoint=\"/predict\",code=\"200\"}") != std::string::npos);
    CHECK(metrics->body.find("xgrad_batch_size_bucket{le=\"+Inf\"}") != std::string::npos);
    CHECK(metrics->body.find("xgrad_model_version 2") != std::string::npos);
}

TEST_CASE("SIGTERM stops the server cleanly") { CHECK(service().stop() == 0); }
