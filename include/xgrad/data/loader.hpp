// DataLoader: batches of a dataset, in order or shuffled with a seed (a new order each epoch, the same
// orders for the same seed), dropping or keeping a last partial batch.
//   for (const auto& batch : loader) { auto loss = cross_entropy(model(batch.inputs), batch.targets); ... }
#pragma once

#include <numeric>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../core/creation.hpp"
#include "dataset.hpp"

namespace xgrad::data
{
    struct DataLoaderOptions
    {
        std::size_t batch_size = 64;
        bool shuffle = false;
        bool drop_last = false;
        std::uint64_t seed = 0;
    };

    // A permutation of 0..n-1 by Fisher–Yates with xgrad's portable uniform draws.
    template <class Rng>
    std::vector<std::size_t> random_permutation(std::size_t n, Rng& rng)
    {
        std::vector<std::size_t> order(n);
        std::iota(order.begin(), order.end(), std::size_t(0));
        for (std::size_t i = n; i > 1; --i)
        {
            const auto j = std::min(static_cast<std::size_t>(xgrad::detail::uniform01<double>(rng) * static_cast<double>(i)), i - 1);
            std::swap(order[i - 1], order[j]);
        }
        return order;
    }

    template <class T, class Target = IndexArray>
    class DataLoader
    {
    public:
        DataLoader(DatasetSource<T, Target> dataset, DataLoaderOptions options)
            : dataset_(std::move(dataset)), options_(options), rng_(options.seed)
        {
            if (options.batch_size == 0)
                throw value_error("DataLoader: batch_size must be positive");
        }

        // Batches per epoch.
        std::size_t size() const
        {
            const std::size_t n = dataset_->size(), b = options_.batch_size;
            return options_.drop_last ? n / b : (n + b - 1) / b;
        }

        class iterator
        {
        public:
            iterator(const DataLoader* loader, std::vector<std::size_t> order, std::size_t batch)
                : loader_(loader), order_(std::move(order)), batch_(batch)
            {
                load();
            }
            const Batch<T, Target>& operator*() const { return current_; }
            const Batch<T, Target>* operator->() const { return &current_; }
            iterator& operator++()
            {
                ++batch_;
                load();
                return *this;
            }
            bool operator!=(const iterator& other) const { return batch_ != other.batch_; }
            bool operator==(const iterator& other) const { return batch_ == other.batch_; }

        private:
            void load()
            {
                if (loader_ == nullptr || batch_ >= loader_->size())
                    return;
                const std::size_t b = loader_->options_.batch_size;
                const std::size_t first = batch_ * b, last = std::min(first + b, order_.size());
                current_ = loader_->dataset_->get_batch(std::vector<std::size_t>(order_.begin() + first, order_.begin() + last));
            }
            const DataLoader* loader_;
            std::vector<std::size_t> order_;
            std::size_t batch_;
            Batch<T, Target> current_;
        };

        // Starts an epoch: a fresh shuffle when shuffling.
        iterator begin()
        {
            std::vector<std::size_t> order = options_.shuffle ? random_permutation(dataset_->size(), rng_)
                                                               : identity_order();
            return iterator(this, std::move(order), 0);
        }
        iterator end() const { return iterator(nullptr, {}, size()); }

        // The shuffling generator: save and restore it to resume an interrupted run exactly.
        Generator& generator() { return rng_; }

    private:
        std::vector<std::size_t> identity_order() const
        {
            std::vector<std::size_t> order(dataset_->size());
            std::iota(order.begin(), order.end(), std::size_t(0));
            return order;
        }

        DatasetSource<T, Target> dataset_;
        DataLoaderOptions options_;
        Generator rng_;
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_DATA_LOADER_TEMPLATES(EXTERN, T)                                                                        \
    EXTERN template class data::DataLoader<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_DATA_LOADER_TEMPLATES)
}
