// Datasets hand out whole batches (a list of example indices in, stacked arrays out), so that a data
// loader makes one call per batch, not one virtual call per example.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../core/tensor.hpp"
#include "../core/types.hpp"

namespace xgrad::data
{
    // A batch: inputs (B, ...) as a Tensor, and the matching targets (class labels by default).
    template <class T, class Target = IndexArray>
    struct Batch
    {
        Tensor<T> inputs;
        Target targets;
        std::size_t size() const { return inputs.shape(0); }
    };

    template <class T, class Target = IndexArray>
    class Dataset
    {
    public:
        virtual ~Dataset() = default;
        virtual std::size_t size() const = 0;
        // The examples at `indices`, stacked along a new first dim.
        virtual Batch<T, Target> get_batch(const std::vector<std::size_t>& indices) const = 0;
    };

    // What a Subset or a DataLoader reads from.  A named dataset is read where it is (it must outlive the
    // reader, as with any view); a temporary is moved into storage that the reader and its copies share, so
    // `DataLoader<float> loader(TensorDataset<float>(x, y), options)` never dangles; a shared_ptr is shared.
    template <class T, class Target = IndexArray>
    class DatasetSource
    {
    public:
        using dataset_type = Dataset<T, Target>;

        DatasetSource(const dataset_type& named) : dataset_(&named) {}
        template <class Temporary, std::enable_if_t<std::is_base_of<dataset_type, Temporary>::value &&
                                                        !std::is_reference<Temporary>::value,
                                                    int> = 0>
        DatasetSource(Temporary&& temporary)
            : owned_(std::make_shared<Temporary>(std::move(temporary))), dataset_(owned_.get())
        {
        }
        DatasetSource(std::shared_ptr<const dataset_type> shared) : owned_(std::move(shared)), dataset_(owned_.get())
        {
            if (dataset_ == nullptr)
                throw value_error("dataset: a null shared_ptr was given as the dataset");
        }

        const dataset_type& operator*() const { return *dataset_; }
        const dataset_type* operator->() const { return dataset_; }

    private:
        std::shared_ptr<const dataset_type> owned_;   // empty for a named dataset
        const dataset_type* dataset_;
    };

    namespace detail
    {
        // Rows `indices` of `source` (N, ...), stacked as (indices.size(), ...).
        template <class Value>
        xt::xarray<Value> take_rows(const xt::xarray<Value>& source, const std::vector<std::size_t>& indices)
        {
            auto shape = source.shape();
            const std::size_t rows = shape.empty() ? 0 : shape[0];
            const std::size_t row_size = rows == 0 ? 0 : source.size() / rows;
            shape[0] = indices.size();
            xt::xarray<Value> result(shape);
            for (std::size_t i = 0; i < indices.size(); ++i)
            {
                if (indices[i] >= rows)
                    throw value_error("dataset: index " + std::to_string(indices[i]) + " is out of range for " +
                                      std::to_string(rows) + " examples");
                std::copy_n(source.data() + indices[i] * row_size, row_size, result.data() + i * row_size);
            }
            return result;
        }
    }

    // Examples held in memory: inputs (N, ...) and targets (N, ...), e.g. images and their labels.
    template <class T, class Target = IndexArray>
    class TensorDataset : public Dataset<T, Target>
    {
    public:
        TensorDataset(xt::xarray<T> inputs, Target targets) : inputs_(std::move(inputs)), targets_(std::move(targets))
        {
            if (inputs_.dimension() == 0 || targets_.dimension() == 0 || inputs_.shape()[0] != targets_.shape()[0])
                throw shape_error("TensorDataset: inputs of shape " + shape_string(inputs_.shape()) +
                                  " and targets of shape " + shape_string(targets_.shape()) +
                                  " must both have the example count as their first dim");
        }

        std::size_t size() const override { return inputs_.shape()[0]; }
        Batch<T, Target> get_batch(const std::vector<std::size_t>& indices) const override
        {
            return {Tensor<T>(detail::take_rows(inputs_, indices)), detail::take_rows(targets_, indices)};
        }

        const xt::xarray<T>& inputs() const { return inputs_; }
        const Target& targets() const { return targets_; }

    private:
        xt::xarray<T> inputs_;
        Target targets_;
    };

    // The examples of `dataset` at `indices` (a train or validation split, a fold).
    template <class T, class Target = IndexArray>
    class Subset : public Dataset<T, Target>
    {
    public:
        Subset(DatasetSource<T, Target> dataset, std::vector<std::size_t> indices)
            : dataset_(std::move(dataset)), indices_(std::move(indices))
        {
            for (auto i : indices_)
                if (i >= dataset_->size())
                    throw value_error("Subset: index " + std::to_string(i) + " is out of range for " +
                                      std::to_string(dataset_->size()) + " examples");
        }
        std::size_t size() const override { return indices_.size(); }
        Batch<T, Target> get_batch(const std::vector<std::size_t>& indices) const override
        {
            std::vector<std::size_t> mapped;
            for (auto i : indices)
            {
                if (i >= indices_.size())
                    throw value_error("Subset: index " + std::to_string(i) + " is out of range for " +
                                      std::to_string(indices_.size()) + " examples");
                mapped.push_back(indices_[i]);
            }
            return dataset_->get_batch(mapped);
        }

    private:
        DatasetSource<T, Target> dataset_;
        std::vector<std::size_t> indices_;
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_DATA_DATASET_TEMPLATES(EXTERN, T)                                                                       \
    EXTERN template class data::Dataset<T>;                                                                           \
    EXTERN template class data::DatasetSource<T>;                                                                     \
    EXTERN template class data::TensorDataset<T>;                                                                     \
    EXTERN template class data::Subset<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_DATA_DATASET_TEMPLATES)
}
