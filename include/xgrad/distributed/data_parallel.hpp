// DistributedDataParallel: one model replicated on every process of a ProcessGroup, each process training on its
// own share of every batch, the gradients averaged across processes during backward, so that every replica
// takes the same optimizer step (torch.nn.parallel.DistributedDataParallel's design).
//   distributed::DistributedDataParallel<float> model(std::make_shared<Net>(), group);
//   loss_fn(model(x), y).backward();   // gradients averaged over the processes when backward returns
//   optimizer.step();                  // the same step everywhere
#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../core/autograd.hpp"
#include "../nn/module.hpp"
#include "communication_thread.hpp"
#include "process_group.hpp"

namespace xgrad::distributed
{
    class DataParallelOptions : public ChainedOptions<DataParallelOptions>
    {
        // Gradients travel in buckets: parameters are added to a bucket (in the order backward finishes them)
        // until it holds at least this many bytes, so each all-reduce is not dominated by latency...
        XGRAD_OPTION(std::size_t, bucket_bytes) = 25u << 20;
        // ...but the first bucket closes at this size (or bucket_bytes, when smaller), so that it starts early
        // in backward and travels while the rest of backward computes (PyTorch's two sizes, 1 MB then 25 MB).
        XGRAD_OPTION(std::size_t, first_bucket_bytes) = 1u << 20;
        // Sum the buckets on a communication thread, so that they travel during backward.  It needs MPI at
        // MPI_THREAD_MULTIPLE (what xgrad asks for when it initialises MPI); when the program initialised MPI at
        // a lower level, or with this off, the hooks start the buckets themselves and MPI moves them on only
        // inside those calls, mostly at the end of backward: the same results, without overlap
        // (overlaps_communication() says which).
        XGRAD_OPTION(bool, communication_thread) = true;
        // Parameters the forward did not use get no gradient from backward; with this on, each forward finds
        // them (a walk of its graph) and they take part in the average with a zero gradient, as PyTorch's
        // find_unused_parameters.  Off, a parameter that got no gradient is an error naming it.
        XGRAD_OPTION(bool, find_unused_parameters) = false;
        // Copy rank 0's buffers (batch norm's running statistics) to every process before each forward in
        // training mode, so that every replica holds the same ones.
        XGRAD_OPTION(bool, broadcast_buffers) = true;
    };

    // When gradients are averaged.  Each parameter's gradient hook fires once its gradient for the pass is
    // final (the engine visits a leaf right after the backward of its earliest-created user).  The hook copies
    // the parameter's whole local gradient (what grad() held, from passes under no_sync(), plus this pass's)
    // into its bucket; a full bucket is handed at once to the communication thread, which sums it over the
    // processes while backward goes on through the earlier layers.  Buckets start in a fixed order (reverse
    // parameter order, the order backward reaches them), the same on every process, as MPI requires of
    // collectives.  When the last parameter's hook fires, every bucket has started; the hook then waits for
    // them all, divides by the number of processes and stores the averages in grad(): when backward()
    // returns, the gradients are synchronised and optimizer.step() may run.
    template <class T = float>
    class DistributedDataParallel : public nn::Module<T>
    {
    public:
        // Broadcasts rank 0's parameters and buffers to every process (after checking that every process holds
        // a model of the same size), then hooks the gradients.
        DistributedDataParallel(std::shared_ptr<nn::Module<T>> module, ProcessGroup group,
                                DataParallelOptions options = DataParallelOptions())
            : module_(this->register_module("module", std::move(module))), group_(std::move(group)), options_(options)
        {
            if (options_.bucket_bytes() == 0 || options_.first_bucket_bytes() == 0)
                throw value_error("DistributedDataParallel: bucket_bytes and first_bucket_bytes must be positive");
            std::unordered_set<const void*> seen;   // a parameter shared by two layers is averaged once
            for (const auto& [name, parameter] : module_->named_parameters())
                if (seen.insert(parameter.node().get()).second)
                    parameters_.push_back({name, parameter});
            check_same_model_everywhere();
            for (const auto& parameter : parameters_)
                group_.broadcast(parameter.tensor, 0);
            broadcast_buffers();
            build_buckets();
            if (options_.communication_thread() && detail::mpi_thread_multiple())
            {
                // A communicator of its own: the thread's all-reduces never meet the program's collectives.
                bucket_group_.emplace(group_.communicator());
                communication_thread_ = std::make_unique<detail::CommunicationThread>();
            }
            for (std::size_t i = 0; i < parameters_.size(); ++i)
                if (parameters_[i].tensor.requires_grad())
                    hooks_.push_back(parameters_[i].tensor.register_hook(
                        [this, i](const Tensor<T>& gradient) { return on_gradient(i, gradient); }));
        }
        DistributedDataParallel(const DistributedDataParallel&) = delete;   // the hooks point at this object
        DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;
        ~DistributedDataParallel() override
        {
            for (auto& hook : hooks_)
                hook.remove();
        }

        Tensor<T> forward(const Tensor<T>& input) override
        {
            check_previous_pass_finished();
            if (options_.broadcast_buffers() && this->is_training())
                broadcast_buffers();
            Tensor<T> output = (*module_)(input);
            if (sync_enabled_ && is_grad_enabled() && output.requires_grad())
                prepare_pass(output);
            return output;
        }

        std::string type_name() const override { return "DistributedDataParallel"; }

        nn::Module<T>& module() { return *module_; }
        const ProcessGroup& process_group() const { return group_; }

        // While the guard lives, forward/backward passes only accumulate gradients locally (no communication);
        // the first pass after it averages everything accumulated (gradient accumulation, as PyTorch's
        // no_sync).  What counts is where the forward runs.
        class NoSyncGuard
        {
        public:
            explicit NoSyncGuard(DistributedDataParallel& model)
                : model_(model), previous_(std::exchange(model.sync_enabled_, false))
            {}
            NoSyncGuard(const NoSyncGuard&) = delete;
            NoSyncGuard& operator=(const NoSyncGuard&) = delete;
            ~NoSyncGuard() { model_.sync_enabled_ = previous_; }

        private:
            DistributedDataParallel& model_;
            bool previous_;
        };
        [[nodiscard]] NoSyncGuard no_sync() { return NoSyncGuard(*this); }

        // The number of gradient buckets (each one all-reduce per step).
        std::size_t bucket_count() const { return buckets_.size(); }
        // The number of values in each bucket, in the order they travel.
        std::vector<std::size_t> bucket_sizes() const
        {
            std::vector<std::size_t> sizes;
            for (const auto& bucket : buckets_)
                sizes.push_back(bucket.values->size());
            return sizes;
        }
        // Whether the buckets travel on the communication thread while backward computes (see
        // DataParallelOptions::communication_thread).
        bool overlaps_communication() const { return communication_thread_ != nullptr; }
        // How long the last averaged backward waited at its end (in the last parameter's hook) for the buckets'
        // all-reduces, in seconds: the communication backward did not hide (as PyTorch's DDP logs it).
        double last_communication_wait() const { return last_communication_wait_; }

    private:
        struct Parameter
        {
            std::string name;
            Tensor<T> tensor;
            std::size_t bucket = 0;   // where its gradient travels
            std::size_t offset = 0;   // in that bucket's values
            bool ready = false;       // its gradient for this pass is in the bucket
        };
        struct Bucket
        {
            std::vector<std::size_t> parameters;   // indices into parameters_
            // Their gradients, one after another; shared with the communication thread.
            std::shared_ptr<std::vector<T>> values = std::make_shared<std::vector<T>>();
            std::size_t pending = 0;   // parameters not ready yet in this pass
            Request request;           // without the communication thread: the all-reduce under way
        };

        void check_same_model_everywhere() const
        {
            std::size_t elements = 0;
            for (const auto& parameter : parameters_)
                elements += parameter.tensor.numel();
            if (!group_.same_on_every_process({double(parameters_.size()), double(elements)}))
                throw value_error("DistributedDataParallel: the processes hold different models (this one has " +
                                  std::to_string(parameters_.size()) + " parameters, " + std::to_string(elements) +
                                  " values)");
        }

        void broadcast_buffers() const
        {
            for (const auto& [name, buffer] : module_->named_buffers())
                group_.broadcast(buffer, 0);
        }

        // Reverse parameter order (the order backward finishes them); a bucket closes once it holds
        // first_bucket_bytes (the first) or bucket_bytes (the others), as PyTorch's.
        void build_buckets()
        {
            std::size_t limit = std::min(options_.first_bucket_bytes(), options_.bucket_bytes());
            bool open = false;   // the last bucket takes more parameters
            for (std::size_t k = parameters_.size(); k-- > 0;)
            {
                Parameter& parameter = parameters_[k];
                if (!parameter.tensor.requires_grad())
                    continue;
                if (!open)
                    buckets_.emplace_back(), open = true;
                Bucket& bucket = buckets_.back();
                std::vector<T>& values = *bucket.values;
                parameter.bucket = buckets_.size() - 1;
                parameter.offset = values.size();
                bucket.parameters.push_back(k);
                values.resize(values.size() + parameter.tensor.numel());
                if (values.size() * sizeof(T) >= limit)
                    open = false, limit = options_.bucket_bytes();
            }
        }

        // A forward whose gradients will be averaged: every parameter starts not ready; with
        // find_unused_parameters, those the output does not depend on are ready at once (a zero gradient).
        void prepare_pass(const Tensor<T>& output)
        {
            for (auto& bucket : buckets_)
                bucket.pending = bucket.parameters.size();
            for (auto& parameter : parameters_)
                parameter.ready = false;
            next_bucket_ = 0;
            pass_pending_ = true;
            gradient_arrived_ = false;
            if (options_.find_unused_parameters())
            {
                const std::unordered_set<const void*> used = reachable_leaves(output);
                for (std::size_t i = 0; i < parameters_.size(); ++i)
                    if (parameters_[i].tensor.requires_grad() && used.count(parameters_[i].tensor.node().get()) == 0)
                        mark_ready(i, Tensor<T>());
                if (next_bucket_ == buckets_.size())
                    finish_pass(buckets_.size());
            }
        }

        // The nodes of `output`'s graph without parents (where its gradients can flow), by address.
        static std::unordered_set<const void*> reachable_leaves(const Tensor<T>& output)
        {
            std::unordered_set<const void*> seen{output.node().get()}, leaves;
            std::vector<Tensor<T>> stack{output};   // explicit, so that a deep graph cannot overflow the stack
            while (!stack.empty())
            {
                const Tensor<T> node = std::move(stack.back());
                stack.pop_back();
                if (node.parents().empty())
                    leaves.insert(node.node().get());
                for (const auto& parent : node.parents())
                    if (parent.requires_grad() && seen.insert(parent.node().get()).second)
                        stack.push_back(parent);
            }
            return leaves;
        }

        // The gradient hook of parameter i; returns the averaged gradient for the last parameter of the pass
        // (to be stored in its grad()), nothing otherwise.
        Tensor<T> on_gradient(std::size_t i, const Tensor<T>& gradient)
        {
            if (!pass_pending_)   // a forward under no_sync(), or without grad: local accumulation only
                return Tensor<T>();
            if (parameters_[i].ready)
                throw autograd_error("DistributedDataParallel: parameter '" + parameters_[i].name +
                                     "' received a gradient twice in one pass (each backward needs its own forward)");
            gradient_arrived_ = true;
            mark_ready(i, gradient);
            if (next_bucket_ < buckets_.size())
            {
                // Without the communication thread, only these calls move the started transfers on.
                for (std::size_t b = 0; b < next_bucket_; ++b)
                    buckets_[b].request.test();
                return Tensor<T>();
            }
            return finish_pass(i);
        }

        // Copies parameter i's whole local gradient (grad() so far plus this pass's, which may be undefined for
        // an unused parameter) into its bucket, and starts the all-reduce of every bucket that is full, in order.
        void mark_ready(std::size_t i, const Tensor<T>& gradient)
        {
            Parameter& parameter = parameters_[i];
            Bucket& bucket = buckets_[parameter.bucket];
            T* slot = bucket.values->data() + parameter.offset;
            const std::size_t n = parameter.tensor.numel();
            std::fill(slot, slot + n, T(0));
            if (parameter.tensor.has_grad())
                add_into(slot, parameter.tensor.grad());
            if (gradient.defined())
                add_into(slot, gradient.value());
            parameter.ready = true;
            --bucket.pending;
            while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0)
            {
                Bucket& full = buckets_[next_bucket_++];
                if (communication_thread_)
                    communication_thread_->start([group = *bucket_group_, values = full.values] {
                        return group.start_all_reduce_sum(values->data(), values->size());
                    });
                else
                    full.request = group_.start_all_reduce_sum(full.values->data(), full.values->size());
            }
        }

        // Every started bucket summed over the processes.
        void wait_for_buckets()
        {
            if (communication_thread_)
                communication_thread_->wait_all();
            for (auto& bucket : buckets_)
                bucket.request.wait();
        }

        static void add_into(T* slot, const typename Tensor<T>::array_type& values)
        {
            const T* source = values.data();
            for (std::size_t k = 0; k < values.size(); ++k)
                slot[k] += source[k];
        }

        // Waits for every bucket and stores the averages in grad().  `current` is the parameter whose hook is
        // running (or parameters_.size()): the engine has yet to add its gradient to grad(), so its average is
        // returned as the hook's replacement and its grad() cleared, for the engine to store.
        Tensor<T> finish_pass(std::size_t current)
        {
            pass_pending_ = false;
            const auto wait_start = std::chrono::steady_clock::now();
            wait_for_buckets();
            last_communication_wait_ =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
            const T scale = T(1) / static_cast<T>(group_.world_size());
            Tensor<T> current_average;
            for (std::size_t i = 0; i < parameters_.size(); ++i)
            {
                Parameter& parameter = parameters_[i];
                if (!parameter.tensor.requires_grad())
                    continue;
                const T* slot = buckets_[parameter.bucket].values->data() + parameter.offset;
                auto average = Tensor<T>::array_type::from_shape(parameter.tensor.value().shape());
                for (std::size_t k = 0; k < average.size(); ++k)
                    average.data()[k] = slot[k] * scale;
                if (i == current)
                {
                    parameter.tensor.zero_grad();
                    current_average = Tensor<T>(std::move(average));
                }
                else
                    parameter.tensor.set_grad(Tensor<T>(std::move(average)));
            }
            return current_average;
        }

        // A pass whose forward ran but whose backward reached only some parameters cannot be averaged: the
        // other processes wait for the missing gradients.  Name them.  (A forward without a backward, as in
        // evaluation with grad mode on, is no error.)
        void check_previous_pass_finished()
        {
            if (!pass_pending_)
                return;
            pass_pending_ = false;
            wait_for_buckets();   // what started (unused parameters' buckets) ends before reuse
            if (!gradient_arrived_)
                return;
            std::string missing;
            for (const auto& parameter : parameters_)
                if (!parameter.ready && parameter.tensor.requires_grad())
                    missing += (missing.empty() ? "'" : ", '") + parameter.name + "'";
            throw autograd_error("DistributedDataParallel: the last backward gave no gradient to " + missing +
                                 ", so the gradients could not be averaged; if the forward does not use every "
                                 "parameter, pass DataParallelOptions().find_unused_parameters(true)");
        }

        std::shared_ptr<nn::Module<T>> module_;
        ProcessGroup group_;
        DataParallelOptions options_;
        std::vector<Parameter> parameters_;
        std::vector<Bucket> buckets_;
        std::vector<HookHandle> hooks_;
        std::optional<ProcessGroup> bucket_group_;                            // the communication thread's
        std::unique_ptr<detail::CommunicationThread> communication_thread_;   // null: the hooks start the buckets
        std::size_t next_bucket_ = 0;     // the first bucket not started in this pass
        bool pass_pending_ = false;       // a forward's gradients are still to be averaged
        bool gradient_arrived_ = false;   // a hook of that pass has fired
        bool sync_enabled_ = true;        // false under no_sync()
        double last_communication_wait_ = 0.0;
    };
}
