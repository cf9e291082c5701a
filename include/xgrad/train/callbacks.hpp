// Callbacks for train::fit: a progress bar, early stopping, checkpoints of the best and last weights,
// a CSV log of every epoch, and learning-rate scheduling.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>

#include <unistd.h>

#include "../config.hpp"
#include "../io/safetensors.hpp"
#include "fit.hpp"

namespace xgrad::train
{
    // Which way a monitored value improves: min for a loss, max for an accuracy.
    enum class Mode
    {
        min,
        max
    };

    namespace detail
    {
        // True when `value` is better than `best` by more than `min_delta` in direction `mode`.
        inline bool improves(Mode mode, double value, double best, double min_delta = 0.0)
        {
            return mode == Mode::min ? value < best - min_delta : value > best + min_delta;
        }

        // The logged value of `monitor`, or a value_error listing what was logged.
        inline double monitored(const Logs& logs, const std::string& monitor, const char* who)
        {
            auto found = logs.find(monitor);
            if (found == logs.end())
            {
                std::string known;
                for (const auto& [name, value] : logs)
                    known += (known.empty() ? "" : ", ") + name;
                throw value_error(std::string(who) + ": monitored value '" + monitor + "' is not logged (logged: " +
                                  known + "; pass a validation loader for val_* values)");
            }
            return found->second;
        }

        inline std::string format_duration(double seconds)
        {
            const auto total = static_cast<long>(std::max(0.0, seconds));
            std::ostringstream out;
            out << std::setfill('0') << std::setw(2) << total / 60 << ':' << std::setw(2) << total % 60;
            return out.str();
        }
    }

    // Batches done, rate, ETA, running loss and accuracy; redrawn in place on a terminal, plain lines
    // (one per epoch) when the output is a file or a pipe.
    class ProgressBar : public Callback
    {
    public:
        explicit ProgressBar(std::ostream& out = std::cout, std::optional<bool> interactive = std::nullopt)
            : out_(out), interactive_(interactive.value_or(&out == &std::cout && isatty(fileno(stdout))))
        {
        }

        void on_epoch_begin(RunState&) override { start_ = std::chrono::steady_clock::now(); }

        void on_batch_end(RunState& state) override
        {
            if (!interactive_)
                return;
            const double elapsed = seconds_since_start();
            const double rate = static_cast<double>(state.batch) / std::max(elapsed, 1e-9);
            const std::size_t width = 30;
            const std::size_t filled = state.batches ? width * state.batch / state.batches : width;
            out_ << "\rEpoch " << state.epoch << '/' << state.epochs << " [" << std::string(filled, '=')
                 << std::string(width - filled, ' ') << "] " << state.batch << '/' << state.batches << ' '
                 << std::fixed << std::setprecision(1) << rate << " batch/s ETA "
                 << detail::format_duration(static_cast<double>(state.batches - state.batch) / rate) << " loss "
                 << std::setprecision(4) << state.running_loss;
            if (state.running_accuracy >= 0.0)
                out_ << " acc " << state.running_accuracy;
            out_ << std::flush;
        }

        void on_epoch_end(RunState& state, Logs& logs) override
        {
            out_ << (interactive_ ? "\r" : "") << "Epoch " << state.epoch << '/' << state.epochs << " ("
                 << detail::format_duration(seconds_since_start()) << ")" << std::fixed << std::setprecision(4);
            for (const auto& [name, value] : logs)
                if (name != "epoch")
                    out_ << "  " << name << ' ' << value;
            out_ << std::string(interactive_ ? 20 : 0, ' ') << '\n' << std::flush;
        }

    private:
        double seconds_since_start() const
        {
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        }
        std::ostream& out_;
        bool interactive_;
        std::chrono::steady_clock::time_point start_;
    };

    // Stops when `monitor` has not improved by more than min_delta for `patience` epochs; optionally puts
    // back the weights of the best epoch.  `mode` says which way is better: Mode::max for an accuracy.
    template <class T>
    class EarlyStopping : public Callback
    {
    public:
        EarlyStopping(nn::Module<T>& model, std::string monitor = "val_loss", std::size_t patience = 5,
                      double min_delta = 0.0, bool restore_best_weights = true, Mode mode = Mode::min)
            : model_(model), monitor_(std::move(monitor)), patience_(patience), min_delta_(min_delta),
              restore_(restore_best_weights), mode_(mode)
        {
        }

        void on_epoch_end(RunState& state, Logs& logs) override
        {
            const double value = detail::monitored(logs, monitor_, "EarlyStopping");
            const bool improved = !best_ || detail::improves(mode_, value, *best_, min_delta_);
            if (improved)
            {
                best_ = value;
                best_epoch_ = state.epoch;
                waited_ = 0;
                if (restore_)
                    best_state_ = model_.state_dict();
            }
            else if (++waited_ >= patience_)
                state.stop_training = true;
        }

        void on_train_end(RunState&) override
        {
            if (restore_ && best_ && !best_state_.empty())
                model_.load_state_dict(best_state_);
        }
        // The logs are the same everywhere, so every process restores the same best weights.
        bool runs_on_every_process() const override { return true; }

        std::size_t best_epoch() const { return best_epoch_; }
        std::optional<double> best_value() const { return best_; }

    private:
        nn::Module<T>& model_;
        std::string monitor_;
        std::size_t patience_;
        double min_delta_;
        bool restore_;
        Mode mode_;
        std::optional<double> best_;
        std::size_t best_epoch_ = 0;
        std::size_t waited_ = 0;
        nn::StateDict<T> best_state_;
    };

    // Saves the weights as safetensors: after every epoch to `last_path` (if not empty), and to `best_path`
    // whenever `monitor` improves (in direction `mode`).  Saves are atomic, so an interrupted run never destroys a saved file.
    template <class T>
    class ModelCheckpoint : public Callback
    {
    public:
        ModelCheckpoint(const nn::Module<T>& model, std::string best_path, std::string last_path = "",
                        std::string monitor = "val_loss", Mode mode = Mode::min)
            : model_(model), best_path_(std::move(best_path)), last_path_(std::move(last_path)),
              monitor_(std::move(monitor)), mode_(mode)
        {
        }

        void on_epoch_end(RunState& state, Logs& logs) override
        {
            const std::map<std::string, std::string> metadata{{"epoch", std::to_string(state.epoch)}};
            if (!last_path_.empty())
                io::save_safetensors(model_.state_dict(), last_path_, metadata);
            if (best_path_.empty())
                return;
            const double value = detail::monitored(logs, monitor_, "ModelCheckpoint");
            if (!best_ || detail::improves(mode_, value, *best_))
            {
                best_ = value;
                io::save_safetensors(model_.state_dict(), best_path_, metadata);
            }
        }

    private:
        const nn::Module<T>& model_;
        std::string best_path_, last_path_, monitor_;
        Mode mode_;
        std::optional<double> best_;
    };

    // One CSV row per epoch: epoch and every logged value, in the order of the first epoch's columns.
    class CSVLogger : public Callback
    {
    public:
        explicit CSVLogger(std::string path) : path_(std::move(path)) {}

        void on_train_begin(RunState&) override
        {
            out_.open(path_, std::ios::trunc);
            if (!out_)
                throw io_error("CSVLogger: cannot open " + path_ + " for writing");
            columns_.clear();
        }

        void on_epoch_end(RunState&, Logs& logs) override
        {
            if (columns_.empty())
            {
                columns_.push_back("epoch");
                for (const auto& [name, value] : logs)
                    if (name != "epoch")
                        columns_.push_back(name);
                for (std::size_t i = 0; i < columns_.size(); ++i)
                    out_ << (i ? "," : "") << columns_[i];
                out_ << '\n';
            }
            out_ << std::setprecision(8);
            for (std::size_t i = 0; i < columns_.size(); ++i)
            {
                auto found = logs.find(columns_[i]);
                out_ << (i ? "," : "");
                if (found != logs.end())
                    out_ << found->second;
            }
            out_ << '\n' << std::flush;
        }

    private:
        std::string path_;
        std::ofstream out_;
        std::vector<std::string> columns_;
    };

    namespace detail
    {
        // Whether a scheduler's step takes the monitored metric (ReduceLROnPlateau) or nothing (StepLR, ...).
        template <class Scheduler, class = void>
        struct steps_on_metric : std::false_type
        {
        };
        template <class Scheduler>
        struct steps_on_metric<Scheduler, std::void_t<decltype(std::declval<Scheduler&>().step(0.0))>> : std::true_type
        {
        };
    }

    // Steps an epoch-based lr scheduler (StepLR, CosineAnnealingLR, ...) after every epoch, or a
    // ReduceLROnPlateau with the monitored value (default "val_loss").
    template <class Scheduler>
    class LRSchedulerCallback : public Callback
    {
    public:
        explicit LRSchedulerCallback(Scheduler& scheduler, std::string monitor = "val_loss")
            : scheduler_(scheduler), monitor_(std::move(monitor))
        {
        }

        void on_epoch_end(RunState&, Logs& logs) override
        {
            if constexpr (detail::steps_on_metric<Scheduler>::value)
                scheduler_.step(detail::monitored(logs, monitor_, "LRSchedulerCallback"));
            else
                scheduler_.step();
        }
        bool runs_on_every_process() const override { return true; }   // every replica needs the same rate

    private:
        Scheduler& scheduler_;
        std::string monitor_;
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_TRAIN_CALLBACKS_TEMPLATES(EXTERN, T)                                                                    \
    EXTERN template class train::EarlyStopping<T>;                                                                    \
    EXTERN template class train::ModelCheckpoint<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_TRAIN_CALLBACKS_TEMPLATES)
}
