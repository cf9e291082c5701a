// parallel_for and the thread pool: every index once, inline small work, nesting, exceptions, thread counts.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include <xgrad/parallel.hpp>

namespace
{
    // Sets the pool's thread count for one test and puts the previous one back.
    class num_threads_guard
    {
    public:
        explicit num_threads_guard(std::size_t num_threads) : previous_(xgrad::get_num_threads())
        {
            xgrad::set_num_threads(num_threads);
        }
        ~num_threads_guard() { xgrad::set_num_threads(previous_); }

    private:
        std::size_t previous_;
    };

    struct chunk_record
    {
        std::size_t begin, end;
        std::thread::id thread;
    };

    // Runs parallel_for and returns the chunks it made, after checking each index was visited once.
    std::vector<chunk_record> run_and_check_coverage(std::size_t begin, std::size_t end, std::size_t grain)
    {
        std::vector<std::atomic<int>> visits(end);
        std::mutex chunks_mutex;
        std::vector<chunk_record> chunks;
        xgrad::parallel_for(begin, end, grain, [&](std::size_t chunk_begin, std::size_t chunk_end) {
            for (std::size_t i = chunk_begin; i < chunk_end; ++i)
                visits[i].fetch_add(1, std::memory_order_relaxed);
            std::lock_guard<std::mutex> lock(chunks_mutex);
            chunks.push_back({chunk_begin, chunk_end, std::this_thread::get_id()});
        });
        for (std::size_t i = 0; i < end; ++i)
            REQUIRE(visits[i].load() == (i >= begin ? 1 : 0));
        return chunks;
    }
}

TEST_CASE("parallel_for visits every index exactly once")
{
    for (std::size_t threads : {1, 2, 3, 8})
    {
        num_threads_guard guard(threads);
        for (std::size_t grain : {1, 7, 100, 5000})
            for (const auto& entry : {std::pair<std::size_t, std::size_t>{0, 1}, {0, 2}, {0, 1000}, {5, 1005},
                                  {17, 4113}})
            {
                const auto& begin = entry.first;
                const auto& end = entry.second;
                CAPTURE(threads);
                CAPTURE(grain);
                CAPTURE(begin);
                CAPTURE(end);
                const auto chunks = run_and_check_coverage(begin, end, grain);
                CHECK(chunks.size() <= threads);
                if (chunks.size() > 1)
                    for (const chunk_record& chunk : chunks)
                        CHECK(chunk.end - chunk.begin >= grain);
            }
    }
}

TEST_CASE("parallel_for runs an empty range not at all")
{
    num_threads_guard guard(2);
    bool called = false;
    xgrad::parallel_for(10, 10, 1, [&](std::size_t, std::size_t) { called = true; });
    xgrad::parallel_for(10, 3, 1, [&](std::size_t, std::size_t) { called = true; });
    CHECK_FALSE(called);
}

TEST_CASE("parallel_for runs small work and single-threaded work inline on the caller")
{
    const std::thread::id caller = std::this_thread::get_id();
    {
        num_threads_guard guard(4);
        const auto chunks = run_and_check_coverage(3, 67, 64);   // 64 indices: not more than the grain
        REQUIRE(chunks.size() == 1);
        CHECK(chunks[0].begin == 3);
        CHECK(chunks[0].end == 67);
        CHECK(chunks[0].thread == caller);
    }
    {
        num_threads_guard guard(1);
        const auto chunks = run_and_check_coverage(0, 100000, 1);
        REQUIRE(chunks.size() == 1);
        CHECK(chunks[0].thread == caller);
    }
}

TEST_CASE("parallel_for uses several threads for large work")
{
    num_threads_guard guard(2);
    // Chunks are pulled by whichever thread is free: each one waits (up to 10 s) for the other to start, so
    // that the caller cannot take both before the worker wakes.
    std::atomic<int> started{0};
    std::mutex threads_mutex;
    std::vector<std::thread::id> threads;
    xgrad::parallel_for(0, 1000, 1, [&](std::size_t, std::size_t) {
        ++started;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (started.load() < 2 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::yield();
        std::lock_guard<std::mutex> lock(threads_mutex);
        threads.push_back(std::this_thread::get_id());
    });
    REQUIRE(threads.size() == 2);
    CHECK(threads[0] != threads[1]);
}

TEST_CASE("nested parallel_for runs inline inside its chunk")
{
    num_threads_guard guard(2);
    constexpr std::size_t outer = 64, inner = 1000;
    std::vector<std::atomic<int>> visits(outer * inner);
    std::atomic<bool> inner_left_its_thread{false};
    xgrad::parallel_for(0, outer, 1, [&](std::size_t outer_begin, std::size_t outer_end) {
        for (std::size_t i = outer_begin; i < outer_end; ++i)
        {
            const std::thread::id chunk_thread = std::this_thread::get_id();
            xgrad::parallel_for(0, inner, 1, [&](std::size_t inner_begin, std::size_t inner_end) {
                if (std::this_thread::get_id() != chunk_thread || inner_begin != 0 || inner_end != inner)
                    inner_left_its_thread = true;
                for (std::size_t j = inner_begin; j < inner_end; ++j)
                    visits[i * inner + j].fetch_add(1, std::memory_order_relaxed);
            });
        }
    });
    CHECK_FALSE(inner_left_its_thread.load());
    for (const auto& count : visits)
        REQUIRE(count.load() == 1);
}

TEST_CASE("an exception thrown in a chunk reaches the caller and the pool stays usable")
{
    for (std::size_t threads : {1, 2, 4})
    {
        num_threads_guard guard(threads);
        CAPTURE(threads);
        CHECK_THROWS_WITH_AS(xgrad::parallel_for(0, 1000, 1,
                                                 [](std::size_t chunk_begin, std::size_t chunk_end) {
                                                     if (chunk_begin <= 999 && 999 < chunk_end)
                                                         throw std::runtime_error("chunk failed");
                                                 }),
                             "chunk failed", std::runtime_error);
        run_and_check_coverage(0, 1000, 1);
    }
}

TEST_CASE("parallel_for from several caller threads at once")
{
    num_threads_guard guard(2);
    std::vector<std::thread> callers;
    std::atomic<int> wrong_sums{0};
    for (int t = 0; t < 4; ++t)
        callers.emplace_back([&] {
            for (int repeat = 0; repeat < 50; ++repeat)
            {
                std::atomic<std::size_t> sum{0};
                xgrad::parallel_for(0, 1000, 1, [&](std::size_t chunk_begin, std::size_t chunk_end) {
                    std::size_t chunk_sum = 0;
                    for (std::size_t i = chunk_begin; i < chunk_end; ++i)
                        chunk_sum += i;
                    sum += chunk_sum;
                });
                if (sum.load() != 999 * 1000 / 2)
                    ++wrong_sums;
            }
        });
    for (std::thread& caller : callers)
        caller.join();
    CHECK(wrong_sums.load() == 0);
}

TEST_CASE("set_num_threads and get_num_threads")
{
    const std::size_t initial = xgrad::get_num_threads();
    CHECK(initial >= 1);
    {
        num_threads_guard guard(3);
        CHECK(xgrad::get_num_threads() == 3);
        xgrad::set_num_threads(1);
        CHECK(xgrad::get_num_threads() == 1);
        CHECK_THROWS_AS(xgrad::set_num_threads(0), xgrad::value_error);
        CHECK(xgrad::get_num_threads() == 1);

        xgrad::set_num_threads(2);
        std::atomic<int> refused{0};
        xgrad::parallel_for(0, 2, 1, [&](std::size_t, std::size_t) {
            try
            {
                xgrad::set_num_threads(5);
            }
            catch (const xgrad::value_error&)
            {
                ++refused;
            }
        });
        CHECK(refused.load() == 2);
        CHECK(xgrad::get_num_threads() == 2);
    }
    CHECK(xgrad::get_num_threads() == initial);
}

TEST_CASE("XGRAD_NUM_THREADS sets the default thread count")
{
    const char* saved = std::getenv("XGRAD_NUM_THREADS");
    const std::string saved_value = saved ? saved : "";
    const std::size_t hardware = std::max(1u, std::thread::hardware_concurrency());

    ::setenv("XGRAD_NUM_THREADS", "3", 1);
    CHECK(xgrad::detail::default_num_threads() == 3);
    for (const char* invalid : {"0", "", "two", "4x", "-1"})
    {
        ::setenv("XGRAD_NUM_THREADS", invalid, 1);
        CAPTURE(invalid);
        CHECK(xgrad::detail::default_num_threads() == hardware);
    }
    ::unsetenv("XGRAD_NUM_THREADS");
    CHECK(xgrad::detail::default_num_threads() == hardware);

    if (saved)
        ::setenv("XGRAD_NUM_THREADS", saved_value.c_str(), 1);
}
