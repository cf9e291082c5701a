// Micro-batching: requests that arrive together are run as one batch. Callers submit() one input each and get a
// future; a worker thread takes the inputs waiting, up to `max_batch` of them, waiting at most `max_wait` after
// the first for more to arrive, runs them through one call of `run` and fulfils each future with its output.
// A batch of one with max_wait 0 is no batching at all. An exception from `run` reaches every caller of that
// batch. Destroying the batcher runs what is queued, then stops.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "../error.hpp"

namespace xgrad::serve
{
    template <class Input, class Output>
    class MicroBatcher
    {
    public:
        // `run` gets a batch's inputs and returns one output per input, in order. `on_batch(size)` (optional) is
        // called before each batch runs, for statistics.
        using Run = std::function<std::vector<Output>(const std::vector<Input>&)>;

        MicroBatcher(Run run, std::size_t max_batch, std::chrono::microseconds max_wait,
                     std::function<void(std::size_t)> on_batch = {})
            : run_(std::move(run)), on_batch_(std::move(on_batch)), max_batch_(max_batch), max_wait_(max_wait)
        {
            if (max_batch == 0 || max_wait.count() < 0)
                throw value_error("MicroBatcher: max_batch must be positive and max_wait not negative");
            worker_ = std::thread([this] { work(); });
        }
        ~MicroBatcher()
        {
            {
                std::lock_guard<std::mutex> lock(mutex_);
                stopping_ = true;
            }
            arrived_.notify_all();
            worker_.join();
        }
        MicroBatcher(const MicroBatcher&) = delete;
        MicroBatcher& operator=(const MicroBatcher&) = delete;

        std::future<Output> submit(Input input)
        {
            std::promise<Output> promise;
            std::future<Output> result = promise.get_future();
            {
                std::lock_guard<std::mutex> lock(mutex_);
                queue_.push_back({std::move(input), std::move(promise)});
            }
            arrived_.notify_one();
            return result;
        }

    private:
        struct Pending
        {
            Input input;
            std::promise<Output> promise;
        };

        void work()
        {
            for (;;)
            {
                std::vector<Pending> batch;
                {
                    std::unique_lock<std::mutex> lock(mutex_);
                    arrived_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                    if (queue_.empty())
                        return;   // stopping, and nothing left to run
                    const auto deadline = std::chrono::steady_clock::now() + max_wait_;
                    arrived_.wait_until(lock, deadline, [this] { return stopping_ || queue_.size() >= max_batch_; });
                    while (!queue_.empty() && batch.size() < max_batch_)
                    {
                        batch.push_back(std::move(queue_.front()));
                        queue_.pop_front();
                    }
                }
                run_batch(batch);
            }
        }

        void run_batch(std::vector<Pending>& batch)
        {
            std::vector<Input> inputs;
            inputs.reserve(batch.size());
            for (auto& pending : batch)
                inputs.push_back(std::move(pending.input));
            try
            {
                if (on_batch_)
                    on_batch_(batch.size());
                std::vector<Output> outputs = run_(inputs);
                if (outputs.size() != batch.size())
                    throw value_error("MicroBatcher: the batch function returned " + std::to_string(outputs.size()) +
                                      " outputs for " + std::to_string(batch.size()) + " inputs");
                for (std::size_t i = 0; i < batch.size(); ++i)
                    batch[i].promise.set_value(std::move(outputs[i]));
            }
            catch (...)
            {
                for (auto& pending : batch)
                    pending.promise.set_exception(std::current_exception());
            }
        }

        Run run_;
        std::function<void(std::size_t)> on_batch_;
        const std::size_t max_batch_;
        const std::chrono::microseconds max_wait_;
        std::mutex mutex_;
        std::condition_variable arrived_;
        std::deque<Pending> queue_;
        bool stopping_ = false;
        std::thread worker_;
    };
}
