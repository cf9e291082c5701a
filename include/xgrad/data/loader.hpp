// DataLoader: batches of a dataset, in order, shuffled with a seed (a new order each epoch, the same orders for
// the same seed) or in a sampler's order, dropping or keeping a last partial batch.
//   for (const auto& batch : loader) { auto loss = cross_entropy(model(batch.inputs), batch.targets); ... }
#pragma once

#include <memory>
#include <numeric>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../core/creation.hpp"
#include "dataset.hpp"
#include "sampler.hpp"

namespace xgrad::data
{
    struct DataLoaderOptions
    {
        std::size_t batch_size = 64;
        bool shuffle = false;
        bool drop_last = false;
        std::uint64_t seed = 0;
        // When given, the sampler chooses each epoch's examples and their order (shuffle must then be off):
        // a DistributedSampler gives each process its share.
        std::shared_ptr<const Sampler> sampler = nullptr;
    };

    template <class T, class Target = IndexArray>
    class DataLoader
    {
    public:
        DataLoader(DatasetSource<T, Target> dataset, DataLoaderOptions options)
            : dataset_(std::move(dataset)), options_(options), rng_(options.seed)
        {
            if (options.batch_size == 0)
                throw value_error("DataLoader: batch_size must be positive");
            if (options.sampler && options.shuffle)
                throw value_error("DataLoader: shuffle and sampler exclude each other (the sampler shuffles)");
        }

        // Batches per epoch.
        std::size_t size() const
        {
            const std::size_t n = examples_per_epoch(), b = options_.batch_size;
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

        // Starts an epoch: a fresh shuffle when shuffling, the sampler's order of the next epoch when sampling.
        iterator begin()
        {
            std::vector<std::size_t> order = options_.sampler ? options_.sampler->indices(dataset_->size(), epoch_)
                                             : options_.shuffle ? random_permutation(dataset_->size(), rng_)
                                                                : identity_order();
            ++epoch_;
            return iterator(this, std::move(order), 0);
        }
        iterator end() const { return iterator(nullptr, {}, size()); }

        // The shuffling generator: save and restore it to resume an interrupted run exactly.
        Generator& generator() { return rng_; }
        // The epoch the next begin() starts (0 at first), which a sampler's order depends on: set it to resume.
        std::size_t epoch() const { return epoch_; }
        void set_epoch(std::size_t epoch) { epoch_ = epoch; }

    private:
        std::size_t examples_per_epoch() const
        {
            return options_.sampler ? options_.sampler->length(dataset_->size()) : dataset_->size();
        }
        std::vector<std::size_t> identity_order() const
        {
            std::vector<std::size_t> order(dataset_->size());
            std::iota(order.begin(), order.end(), std::size_t(0));
            return order;
        }

        DatasetSource<T, Target> dataset_;
        DataLoaderOptions options_;
        Generator rng_;
        std::size_t epoch_ = 0;
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
