// Samplers: which examples of a dataset a DataLoader visits in an epoch, and in what order.
// DistributedSampler gives each of several processes its own share of the dataset, as PyTorch's: the same
// shuffle on every process (seed + epoch), cut into interleaved shares of equal length.
#pragma once

#include <algorithm>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "../core/creation.hpp"
#include "../error.hpp"

namespace xgrad::data
{
    // A permutation of 0..n-1 by Fisher–Yates with xgrad's portable uniform draws.
    template <class Rng>
    std::vector<std::size_t> random_permutation(std::size_t n, Rng& rng)
    {
        std::vector<std::size_t> order(n);
        std::iota(order.begin(), order.end(), std::size_t(0));
        for (std::size_t i = n; i > 1; --i)
        {
            const auto j = std::min(
                static_cast<std::size_t>(xgrad::detail::uniform01<double>(rng) * static_cast<double>(i)), i - 1);
            std::swap(order[i - 1], order[j]);
        }
        return order;
    }

    class Sampler
    {
    public:
        virtual ~Sampler() = default;
        // The dataset indices of epoch `epoch` (0-based), in visiting order.
        virtual std::vector<std::size_t> indices(std::size_t dataset_size, std::size_t epoch) const = 0;
        // How many indices an epoch has.
        virtual std::size_t length(std::size_t dataset_size) const = 0;
    };

    struct DistributedSamplerOptions
    {
        bool shuffle = true;
        std::uint64_t seed = 0;   // must be the same on every process
        // With n examples and R processes: true drops the n mod R examples of the tail of the (shuffled)
        // order; false repeats examples from its start so that every share has ceil(n / R).
        bool drop_last = false;
    };

    // The share of process `rank` among `world_size`: positions rank, rank + R, rank + 2R, ... of one order
    // that every process computes alike.  Every share has the same length, so every process runs the same
    // number of batches (a process with one batch more would wait alone in its all-reduce).
    class DistributedSampler : public Sampler
    {
    public:
        DistributedSampler(std::size_t world_size, std::size_t rank, DistributedSamplerOptions options = {})
            : world_size_(world_size), rank_(rank), options_(options)
        {
            if (world_size == 0 || rank >= world_size)
                throw value_error("DistributedSampler: rank " + std::to_string(rank) + " is not a rank of " +
                                  std::to_string(world_size) + " processes");
        }

        std::size_t length(std::size_t dataset_size) const override
        {
            return options_.drop_last ? dataset_size / world_size_ : (dataset_size + world_size_ - 1) / world_size_;
        }

        std::vector<std::size_t> indices(std::size_t dataset_size, std::size_t epoch) const override
        {
            if (dataset_size == 0)
                throw value_error("DistributedSampler: the dataset is empty");
            std::vector<std::size_t> order(dataset_size);
            if (options_.shuffle)
            {
                Generator rng(options_.seed + epoch);
                order = random_permutation(dataset_size, rng);
            }
            else
                std::iota(order.begin(), order.end(), std::size_t(0));
            const std::size_t total = length(dataset_size) * world_size_;
            for (std::size_t k = dataset_size; k < total; ++k)   // padding: the order again from its start
                order.push_back(order[k - dataset_size]);
            order.resize(total);
            std::vector<std::size_t> share;
            share.reserve(total / world_size_);
            for (std::size_t k = rank_; k < total; k += world_size_)
                share.push_back(order[k]);
            return share;
        }

    private:
        std::size_t world_size_;
        std::size_t rank_;
        DistributedSamplerOptions options_;
    };
}
