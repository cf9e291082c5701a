// A training loop for those who want one: fit() runs epochs of forward, loss, backward and optimizer step
// over a DataLoader, evaluates on a validation loader, and calls callbacks (progress bar, early stopping,
// checkpoints, CSV log, lr schedules).  The plain hand-written loop stays first-class: fit is a convenience.
#pragma once

#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../core/autograd.hpp"
#include "../data/loader.hpp"
#include "../metrics/classification.hpp"
#include "../nn/module.hpp"

namespace xgrad::train
{
    // What one epoch produced: "loss", "accuracy" (classification), "val_loss", "val_accuracy", "lr", ...
    using Logs = std::map<std::string, double>;

    class Callback;

    // The state of a run that callbacks see and may change (stop_training).
    struct RunState
    {
        std::size_t epoch = 0;           // 1-based, the epoch under way
        std::size_t epochs = 0;          // planned
        std::size_t batch = 0;           // 1-based, within the epoch
        std::size_t batches = 0;         // per epoch
        std::size_t examples = 0;        // training examples seen in the epoch so far
        double running_loss = 0.0;       // mean loss of the epoch so far
        double running_accuracy = -1.0;  // mean accuracy so far (classification), -1 otherwise
        bool stop_training = false;
        std::vector<Logs> history;       // one entry per finished epoch
    };

    class Callback
    {
    public:
        virtual ~Callback() = default;
        virtual void on_train_begin(RunState&) {}
        virtual void on_epoch_begin(RunState&) {}
        virtual void on_batch_end(RunState&) {}
        // `logs` may be extended (e.g. with "lr") before it is stored in the history.
        virtual void on_epoch_end(RunState&, Logs&) {}
        virtual void on_train_end(RunState&) {}
        // When several processes train together (FitOptions::processes), a callback runs on the main process
        // only (progress, logs, checkpoints), unless it changes what every process must hold alike (the
        // learning rate, the weights early stopping restores) and says so here.
        virtual bool runs_on_every_process() const { return false; }
    };

    // How fit runs when it runs in each of several processes that train one model together (data parallel):
    // which process is the main one, and how numbers are combined across processes.  The defaults are a
    // process alone; distributed::fit_processes(group) fills them from a ProcessGroup.
    struct ProcessHooks
    {
        bool is_main_process = true;
        // Sums each value over the processes, in place: the epoch's loss and hit sums and example counts, so
        // that the logs hold figures of the whole data set, the same on every process.
        std::function<void(std::vector<double>&)> sum_over_processes;
        // The main process's value of a flag, on every process: stop_training after each epoch's callbacks,
        // so that early stopping is decided once for all.
        std::function<bool(bool)> main_process_flag;
    };

    namespace detail
    {
        // The number of correct arg-max predictions in a batch of class scores, or -1 when not classifying.
        template <class T, class Target>
        double correct_predictions(const Tensor<T>& outputs, const Target& targets)
        {
            if constexpr (std::is_same<Target, IndexArray>::value)
            {
                if (outputs.ndim() == 2 && targets.dimension() == 1 && outputs.shape(0) == targets.size())
                    return metrics::accuracy(outputs.value(), targets) * static_cast<double>(targets.size());
            }
            return -1.0;
        }
    }

    template <class T>
    struct EvaluateResult
    {
        double loss = 0.0;
        double accuracy = -1.0;   // -1 when the targets are not class labels
        std::size_t examples = 0;
    };

    // Mean loss (and accuracy, for class labels) of `model` over a loader, in eval mode and without a graph.
    template <class T, class Target, class LossFn>
    EvaluateResult<T> evaluate(nn::Module<T>& model, LossFn&& loss_fn, data::DataLoader<T, Target>& loader)
    {
        const bool was_training = model.is_training();
        model.eval();
        NoGradGuard no_grad;
        double loss_sum = 0.0, correct = 0.0;
        std::size_t seen = 0;
        bool classifying = true;
        for (const auto& batch : loader)
        {
            const Tensor<T> outputs = model(batch.inputs);
            loss_sum += static_cast<double>(loss_fn(outputs, batch.targets).item()) * static_cast<double>(batch.size());
            const double hits = detail::correct_predictions(outputs, batch.targets);
            classifying = classifying && hits >= 0.0;
            correct += hits;
            seen += batch.size();
        }
        model.train(was_training);
        if (seen == 0)
            throw value_error("evaluate: the loader produced no examples");
        return {loss_sum / static_cast<double>(seen), classifying ? correct / static_cast<double>(seen) : -1.0, seen};
    }

    template <class T, class Target>
    struct FitOptions
    {
        std::size_t epochs = 1;
        data::DataLoader<T, Target>* validation = nullptr;   // evaluated after every epoch when given
        std::vector<std::shared_ptr<Callback>> callbacks;
        ProcessHooks processes;   // when several processes train together
    };

    namespace detail
    {
        // sum_i values_i over the processes (the values themselves when alone).
        inline void sum_over_processes(const ProcessHooks& processes, std::vector<double>& values)
        {
            if (processes.sum_over_processes)
                processes.sum_over_processes(values);
        }
    }

    // Trains `model` and returns the per-epoch logs.  A NaN or infinite loss stops training with a
    // value_error naming the epoch and batch (nothing is stepped with it).
    template <class T, class Target, class LossFn, class Optim>
    std::vector<Logs> fit(nn::Module<T>& model, LossFn&& loss_fn, Optim& optimizer, data::DataLoader<T, Target>& train_loader,
                          const FitOptions<T, Target>& options)
    {
        RunState state;
        state.epochs = options.epochs;
        state.batches = train_loader.size();
        std::vector<std::shared_ptr<Callback>> callbacks;   // those that run in this process
        for (const auto& callback : options.callbacks)
            if (options.processes.is_main_process || callback->runs_on_every_process())
                callbacks.push_back(callback);
        for (auto& callback : callbacks)
            callback->on_train_begin(state);
        for (state.epoch = 1; state.epoch <= options.epochs && !state.stop_training; ++state.epoch)
        {
            model.train();
            for (auto& callback : callbacks)
                callback->on_epoch_begin(state);
            double loss_sum = 0.0, correct = 0.0;
            std::size_t seen = 0;
            state.batch = 0;
            state.examples = 0;
            for (const auto& batch : train_loader)
            {
                const Tensor<T> outputs = model(batch.inputs);
                const Tensor<T> loss = loss_fn(outputs, batch.targets);
                const double value = static_cast<double>(loss.item());
                if (!std::isfinite(value))
                    throw value_error("fit: the loss is " + std::to_string(value) + " at epoch " +
                                      std::to_string(state.epoch) + ", batch " + std::to_string(state.batch + 1) +
                                      " (try a lower learning rate, or check the inputs for NaN)");
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();

                ++state.batch;
                seen += batch.size();
                state.examples = seen;
                loss_sum += value * static_cast<double>(batch.size());
                const double hits = detail::correct_predictions(outputs, batch.targets);
                correct = hits >= 0.0 && correct >= 0.0 ? correct + hits : -1.0;
                state.running_loss = loss_sum / static_cast<double>(seen);
                state.running_accuracy = correct >= 0.0 ? correct / static_cast<double>(seen) : -1.0;
                for (auto& callback : callbacks)
                    callback->on_batch_end(state);
            }
            // The epoch's figures over every process's examples.
            std::vector<double> train_sums{loss_sum, correct, static_cast<double>(seen)};
            detail::sum_over_processes(options.processes, train_sums);
            if (train_sums[2] > 0.0)
            {
                state.running_loss = train_sums[0] / train_sums[2];
                state.running_accuracy = train_sums[1] >= 0.0 ? train_sums[1] / train_sums[2] : -1.0;   // -1: not classifying
            }
            Logs logs{{"epoch", static_cast<double>(state.epoch)}, {"loss", state.running_loss}};
            if (state.running_accuracy >= 0.0)
                logs["accuracy"] = state.running_accuracy;
            logs["lr"] = optimizer.param_groups().front().options.lr();
            if (options.validation != nullptr)
            {
                const auto validation = evaluate(model, loss_fn, *options.validation);
                const double examples = static_cast<double>(validation.examples);
                std::vector<double> sums{validation.loss * examples, validation.accuracy * examples, examples};
                detail::sum_over_processes(options.processes, sums);
                logs["val_loss"] = sums[0] / sums[2];
                if (validation.accuracy >= 0.0)
                    logs["val_accuracy"] = sums[1] / sums[2];
            }
            for (auto& callback : callbacks)
                callback->on_epoch_end(state, logs);
            if (options.processes.main_process_flag)
                state.stop_training = options.processes.main_process_flag(state.stop_training);
            state.history.push_back(logs);
        }
        for (auto& callback : callbacks)
            callback->on_train_end(state);
        return state.history;
    }
}
