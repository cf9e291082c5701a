// Long runs: twenty thousand training steps of a small model in which resident memory stops growing after
// warm-up (graphs, gradients and optimizer state are all given back), and two user threads training two
// models at once with results identical to training them one after the other.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;

namespace
{
    constexpr bool under_address_sanitizer = XGRAD_TEST_ADDRESS_SANITIZER;

    // Resident memory of this process now, in KiB (VmRSS in /proc/self/status), or 0 where unknown.
    std::size_t resident_kib()
    {
        std::ifstream status("/proc/self/status");
        for (std::string line; std::getline(status, line);)
            if (line.rfind("VmRSS:", 0) == 0)
                return std::stoul(line.substr(6));
        return 0;
    }

    struct Run
    {
        nn::Sequential<float> model;
        optim::Adam<float> optimizer;
        Tensor<float> inputs, targets;

        explicit Run(std::uint64_t seed)
            : model(make_model(seed)), optimizer(model.parameters(), optim::AdamOptions(1e-3))
        {
            Generator rng(seed + 1);
            inputs = randn<float>({32, 20}, rng);
            targets = randn<float>({32, 10}, rng);
        }

        static nn::Sequential<float> make_model(std::uint64_t seed)
        {
            manual_seed(seed);
            return nn::Sequential<float>(nn::Linear(20, 64), nn::ReLU(), nn::Linear(64, 10));
        }

        float step()
        {
            const Tensor<float> loss = mse_loss(model(inputs), targets);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            return loss.item();
        }

        std::vector<float> train(std::size_t steps)
        {
            std::vector<float> losses;
            for (std::size_t s = 0; s < steps; ++s)
                losses.push_back(step());
            return losses;
        }
    };
}

TEST_CASE("a long training run: resident memory stops growing after warm-up")
{
    // The address sanitizer keeps freed memory in quarantine on purpose: the run is shorter there and its
    // memory is not judged (leaks are its own report).
    const std::size_t warm_up = 2000, steps = under_address_sanitizer ? 3000 : 20000;
    Run run(5);
    run.train(warm_up);
    const std::size_t after_warm_up = resident_kib();
    std::size_t highest = after_warm_up;
    for (std::size_t s = warm_up; s < steps; s += 1000)
    {
        run.train(1000);
        highest = std::max(highest, resident_kib());
    }
    const float final_loss = run.step();
    CHECK(std::isfinite(final_loss));
    if (under_address_sanitizer || after_warm_up == 0)
    {
        MESSAGE("resident memory not judged (address sanitizer or no /proc)");
        return;
    }
    INFO("resident KiB after warm-up " << after_warm_up << ", highest after " << highest);
    // 18,000 steps that each allocated a graph: leaking even 100 bytes a step would show as 1.7 MiB.
    CHECK(highest - after_warm_up < 1024);
}

TEST_CASE("two user threads train two models at once, exactly as one after the other")
{
    xgrad_test::thread_count pool(2);   // the threads share the pool; whichever finds it busy runs inline
    const std::size_t steps = 200;
    std::vector<float> alone_a, alone_b;
    {
        Run a(11), b(12);
        alone_a = a.train(steps);
        alone_b = b.train(steps);
    }
    Run a(11), b(12);
    std::vector<float> together_a, together_b;
    std::thread first([&] { together_a = a.train(steps); });
    std::thread second([&] { together_b = b.train(steps); });
    first.join();
    second.join();
    CHECK(together_a == alone_a);
    CHECK(together_b == alone_b);
    CHECK(alone_a != alone_b);
}
