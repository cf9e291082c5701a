// A load generator for example 13's server: `clients` threads, each with its own keep-alive connection, post
// `requests` single-input predictions (Fashion-MNIST test images) one after another, and the program prints
// the throughput and the latency percentiles:
//     serve_load PORT CLIENTS REQUESTS_PER_CLIENT [DATA_DIRECTORY]
//     -> clients 8  requests 4000  failed 0  requests/s 2130.4  p50 3.61 ms  p99 7.95 ms
// benchmarks/serving/run.sh starts the server with and without micro-batching and runs this at 1 and 8 clients.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <xgrad/data/idx.hpp>

int main(int argc, char** argv)
{
    if (argc < 4)
    {
        std::fprintf(stderr, "usage: serve_load PORT CLIENTS REQUESTS_PER_CLIENT [FASHION_MNIST_DIRECTORY]\n");
        return 2;
    }
    const int port = std::stoi(argv[1]), clients = std::stoi(argv[2]), requests = std::stoi(argv[3]);
    const std::string directory = argc > 4 ? argv[4] : "/usr/share/datasets/fashion-mnist";
    const auto test = xgrad::data::load_mnist<float>(directory, false);
    std::vector<std::string> bodies;
    for (std::size_t image = 0; image < 200; ++image)
    {
        const float* begin = test.images.data() + image * 784;
        bodies.push_back(nlohmann::json{{"input", std::vector<float>(begin, begin + 784)}}.dump());
    }
    std::vector<std::vector<double>> latencies(static_cast<std::size_t>(clients));
    std::atomic<int> failed{0};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
        threads.emplace_back([&, c] {
            httplib::Client client("127.0.0.1", port);
            for (int i = 0; i < requests; ++i)
            {
                const auto sent = std::chrono::steady_clock::now();
                const auto result =
                    client.Post("/predict", bodies[std::size_t(c * requests + i) % bodies.size()], "application/json");
                latencies[std::size_t(c)].push_back(
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent).count());
                if (!result || result->status != 200)
                    ++failed;
            }
        });
    for (auto& thread : threads)
        thread.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::vector<double> all;
    for (const auto& some : latencies)
        all.insert(all.end(), some.begin(), some.end());
    std::sort(all.begin(), all.end());
    auto percentile = [&](double p) { return all[std::min(all.size() - 1, std::size_t(p * double(all.size())))]; };
    std::printf("clients %d  requests %zu  failed %d  requests/s %.1f  p50 %.2f ms  p99 %.2f ms\n", clients, all.size(),
                failed.load(), double(all.size()) / seconds, percentile(0.50), percentile(0.99));
    return failed == 0 ? 0 : 1;
}
