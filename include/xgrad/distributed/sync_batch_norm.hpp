// SyncBatchNorm: batch normalisation whose statistics are those of the global batch (every process's share),
// as torch.nn.SyncBatchNorm, built on a differentiable all-reduce, so that its backward reduces what it must.
// Use it where a model would have BatchNorm1d or BatchNorm2d (same parameters, buffers and state-dict names), or
// convert a model's: model = distributed::convert_sync_batch_norm(model, group), before DistributedDataParallel
// and the optimizer take its parameters (torch.nn.SyncBatchNorm.convert_sync_batchnorm).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "../nn/norm.hpp"
#include "../nn/sequential.hpp"
#include "../ops/norm.hpp"
#include "../ops/reduce.hpp"
#include "process_group.hpp"

namespace xgrad::distributed
{
    // y = sum over the processes of x (every process gets the same y).
    //   Each process's loss depends on every x_r through y, so dL/dx_r = sum over the processes of dL/dy:
    //   the backward is the same all-reduce (and so differentiable again).
    template <class T>
    Tensor<T> all_reduce_sum(const Tensor<T>& x, const ProcessGroup& group)
    {
        xt::xarray<T> total = x.value();
        group.all_reduce(total.data(), total.size(), ReduceOp::sum);
        return make_result<T>("all_reduce_sum", std::move(total), {x},
                              [group](const Tensor<T>& dout) -> Grads<T> { return {all_reduce_sum(dout, group)}; });
    }

    // Batch normalisation over (N, C, ...) inputs with the mean and variance of the global batch: in training
    // mode two all-reduces in forward (the sums, then the squared deviations from the global mean) and two in
    // backward; in evaluation mode the running statistics, as BatchNorm.  Every process must construct and call
    // it alike (construction duplicates the communicator, a collective).
    template <class T = float>
    class SyncBatchNorm : public nn::BatchNorm<T>
    {
    public:
        SyncBatchNorm(std::size_t num_features, const ProcessGroup& group, double eps = 1e-5, double momentum = 0.1,
                      bool affine = true)
            // A communicator of its own: its collectives never interleave with the gradient buckets'.
            : nn::BatchNorm<T>("SyncBatchNorm", num_features, eps, momentum, affine), group_(group.communicator()),
              num_features_(num_features), eps_(eps), momentum_(momentum)
        {}

        Tensor<T> forward(const Tensor<T>& input) override
        {
            if (input.ndim() < 2 || input.shape(1) != num_features_)
                throw shape_error("SyncBatchNorm(" + std::to_string(num_features_) +
                                  "): expected input (N, C, ...) with C = " + std::to_string(num_features_) +
                                  ", got shape " + shape_string(input.shape()));
            if (!this->is_training())
                return batch_norm(input, this->running_mean, this->running_var, this->weight, this->bias, false,
                                  momentum_, eps_);
            Dims dims{0};   // every dimension but the channels'
            for (std::size_t d = 2; d < input.ndim(); ++d)
                dims.push_back(static_cast<std::ptrdiff_t>(d));
            double count = static_cast<double>(input.numel() / num_features_);   // values per channel, all processes
            group_.all_reduce(&count, 1, ReduceOp::sum);
            if (count < 2)
                throw value_error("SyncBatchNorm: training needs more than one value per channel over all processes, "
                                  "got input shape " +
                                  shape_string(input.shape()) + " here");
            const T inverse_count = T(1 / count);
            const Tensor<T> global_mean =
                mul(all_reduce_sum(sum(input, dims, true), group_), inverse_count);   // (1, C, 1...)
            const Tensor<T> centered = sub(input, global_mean);
            const Tensor<T> variance =
                mul(all_reduce_sum(sum(mul(centered, centered), dims, true), group_), inverse_count);   // biased
            Tensor<T> y = div(centered, sqrt(add(variance, T(eps_))));
            update_running_statistics(global_mean, variance, count);
            this->num_batches_tracked.mutable_value() += T(1);
            if (this->weight.defined())
                y = mul(y, xgrad::detail::per_channel(this->weight, input.ndim()));
            return this->bias.defined() ? add(y, xgrad::detail::per_channel(this->bias, input.ndim())) : y;
        }

        std::string type_name() const override { return "SyncBatchNorm"; }

    private:
        // running = (1 - momentum) running + momentum * statistic, with the unbiased variance, as BatchNorm.
        void update_running_statistics(const Tensor<T>& global_mean, const Tensor<T>& variance, double count)
        {
            const T m = T(momentum_), unbiased = T(count / (count - 1));
            this->running_mean.mutable_value() =
                (T(1) - m) * this->running_mean.value() + m * xt::flatten(global_mean.value());
            this->running_var.mutable_value() =
                (T(1) - m) * this->running_var.value() + m * unbiased * xt::flatten(variance.value());
        }

        ProcessGroup group_;
        std::size_t num_features_;
        double eps_, momentum_;
    };
}

namespace xgrad::distributed
{
    namespace detail
    {
        template <class T>
        bool is_batch_norm_to_convert(const nn::Module<T>& module)
        {
            return dynamic_cast<const nn::BatchNorm<T>*>(&module) && !dynamic_cast<const SyncBatchNorm<T>*>(&module);
        }

        inline std::string child_path(const std::string& path, const std::string& name)
        {
            return path.empty() ? name : path + "." + name;
        }

        // Whether a BatchNorm to convert is `module` or below it; its path in `found`.
        template <class T>
        bool holds_batch_norm(const nn::Module<T>& module, const std::string& path, std::string& found)
        {
            if (is_batch_norm_to_convert(module))
            {
                found = path;
                return true;
            }
            for (const auto& [name, child] : module.named_children())
                if (holds_batch_norm(*child, child_path(path, name), found))
                    return true;
            return false;
        }

        // Throws when a BatchNorm to convert sits inside a module other than nn::Sequential, before anything is
        // converted, so that a model is converted whole or not at all.
        template <class T>
        void check_convertible(const nn::Module<T>& module, const std::string& path)
        {
            if (is_batch_norm_to_convert(module))
                return;
            const bool sequential = dynamic_cast<const nn::Sequential<T>*>(&module) != nullptr;
            for (const auto& [name, child] : module.named_children())
            {
                std::string found;
                if (sequential)
                    check_convertible(*child, child_path(path, name));
                else if (holds_batch_norm(*child, child_path(path, name), found))
                    throw value_error("convert_sync_batch_norm: '" + found + "' is inside " + module.type_name() +
                                      (path.empty() ? std::string() : " '" + path + "'") +
                                      ", which is not an nn::Sequential: its forward calls the layers it holds "
                                      "itself, so they cannot be replaced; build it with SyncBatchNorm instead");
            }
        }

        template <class T>
        std::shared_ptr<nn::Module<T>> convert_batch_norms(std::shared_ptr<nn::Module<T>> module,
                                                           const ProcessGroup& group)
        {
            if (is_batch_norm_to_convert(*module))
            {
                const auto& norm = static_cast<const nn::BatchNorm<T>&>(*module);
                auto synced = std::make_shared<SyncBatchNorm<T>>(norm.num_features(), group, norm.eps(),
                                                                 norm.momentum(), norm.weight.defined());
                const auto copy = [](const Tensor<T>& from, const Tensor<T>& to) { to.mutable_value() = from.value(); };
                if (norm.weight.defined())
                    copy(norm.weight, synced->weight), copy(norm.bias, synced->bias);
                copy(norm.running_mean, synced->running_mean);
                copy(norm.running_var, synced->running_var);
                copy(norm.num_batches_tracked, synced->num_batches_tracked);
                synced->train(norm.is_training());
                return synced;
            }
            if (const auto sequence = std::dynamic_pointer_cast<nn::Sequential<T>>(module))
                for (std::size_t i = 0; i < sequence->size(); ++i)
                    sequence->set(i, convert_batch_norms(sequence->named_children()[i].second, group));
            return module;
        }
    }

    // `module` with every BatchNorm1d/BatchNorm2d replaced by a SyncBatchNorm over `group` with the same
    // settings, parameters (values copied), running statistics and mode, as torch.nn.SyncBatchNorm's
    // convert_sync_batchnorm: a BatchNorm itself becomes a new module (returned), and nn::Sequential containers
    // are converted in place, at any depth.  A BatchNorm held by another kind of module is a value_error, since
    // its forward goes on calling the layer it holds.  Every process must convert alike (SyncBatchNorm's
    // construction is a collective); convert before DistributedDataParallel and the optimizer take the
    // parameters.
    template <class T>
    std::shared_ptr<nn::Module<T>> convert_sync_batch_norm(std::shared_ptr<nn::Module<T>> module,
                                                           const ProcessGroup& group)
    {
        detail::check_convertible(*module, "");
        return detail::convert_batch_norms(std::move(module), group);
    }
}

namespace xgrad::nn
{
    // Beside the other layers by name (torch.nn.SyncBatchNorm); it lives in distributed/, as it needs MPI.
    template <class T = float>
    using SyncBatchNorm = distributed::SyncBatchNorm<T>;
}
