// Learning-rate schedules, as torch.optim.lr_scheduler: call step() once per epoch (or per batch for
// warm-up), after optimizer.step().  Each sets the lr of every parameter group from the group's base lr.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "optimizer.hpp"

namespace xgrad::optim
{
    // A schedule that is a function of the epoch count: lr = base_lr * factor(epoch) (or a closed form).
    template <class Optim>
    class LRScheduler
    {
    public:
        virtual ~LRScheduler() = default;

        void step()
        {
            ++epoch_;
            apply();
        }
        std::size_t last_epoch() const { return epoch_; }
        // Restores the schedule's position (from a checkpoint).
        void set_last_epoch(std::size_t epoch)
        {
            epoch_ = epoch;
            apply();
        }
        std::vector<double> get_last_lr() const
        {
            std::vector<double> lrs;
            for (const auto& group : optimizer_.param_groups())
                lrs.push_back(group.options.lr());
            return lrs;
        }

    protected:
        explicit LRScheduler(Optim& optimizer) : optimizer_(optimizer)
        {
            for (const auto& group : optimizer.param_groups())
                base_lrs_.push_back(group.options.lr());
        }
        virtual double lr_at(double base_lr, std::size_t epoch) const = 0;
        void apply()
        {
            auto& groups = optimizer_.param_groups();
            for (std::size_t i = 0; i < groups.size(); ++i)
                groups[i].options.lr(lr_at(base_lrs_[i], epoch_));
        }

    private:
        Optim& optimizer_;
        std::vector<double> base_lrs_;
        std::size_t epoch_ = 0;
    };

    // lr = base * gamma^floor(epoch / step_size)
    template <class Optim>
    class StepLR : public LRScheduler<Optim>
    {
    public:
        StepLR(Optim& optimizer, std::size_t step_size, double gamma = 0.1)
            : LRScheduler<Optim>(optimizer), step_size_(step_size), gamma_(gamma)
        {
            if (step_size == 0)
                throw value_error("StepLR: step_size must be positive");
        }

    protected:
        double lr_at(double base, std::size_t epoch) const override
        {
            return base * std::pow(gamma_, static_cast<double>(epoch / step_size_));
        }

    private:
        std::size_t step_size_;
        double gamma_;
    };

    // lr = base * gamma^(number of milestones reached)
    template <class Optim>
    class MultiStepLR : public LRScheduler<Optim>
    {
    public:
        MultiStepLR(Optim& optimizer, std::vector<std::size_t> milestones, double gamma = 0.1)
            : LRScheduler<Optim>(optimizer), milestones_(std::move(milestones)), gamma_(gamma)
        {
            std::sort(milestones_.begin(), milestones_.end());
        }

    protected:
        double lr_at(double base, std::size_t epoch) const override
        {
            const auto reached = std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
            return base * std::pow(gamma_, static_cast<double>(reached));
        }

    private:
        std::vector<std::size_t> milestones_;
        double gamma_;
    };

    // lr = base * gamma^epoch
    template <class Optim>
    class ExponentialLR : public LRScheduler<Optim>
    {
    public:
        ExponentialLR(Optim& optimizer, double gamma) : LRScheduler<Optim>(optimizer), gamma_(gamma) {}

    protected:
        double lr_at(double base, std::size_t epoch) const override
        {
            return base * std::pow(gamma_, static_cast<double>(epoch));
        }

    private:
        double gamma_;
    };

    // lr = eta_min + (base - eta_min) (1 + cos(pi epoch / T_max)) / 2
    template <class Optim>
    class CosineAnnealingLR : public LRScheduler<Optim>
    {
    public:
        CosineAnnealingLR(Optim& optimizer, std::size_t t_max, double eta_min = 0.0)
            : LRScheduler<Optim>(optimizer), t_max_(t_max), eta_min_(eta_min)
        {
            if (t_max == 0)
                throw value_error("CosineAnnealingLR: T_max must be positive");
        }

    protected:
        double lr_at(double base, std::size_t epoch) const override
        {
            const double pi = 3.14159265358979323846;
            return eta_min_ + (base - eta_min_) *
                                  (1.0 + std::cos(pi * static_cast<double>(epoch) / static_cast<double>(t_max_))) / 2.0;
        }

    private:
        std::size_t t_max_;
        double eta_min_;
    };

    // Linear warm-up: the factor goes from start_factor to end_factor over total_iters steps, then stays.
    template <class Optim>
    class LinearLR : public LRScheduler<Optim>
    {
    public:
        LinearLR(Optim& optimizer, double start_factor = 1.0 / 3.0, double end_factor = 1.0, std::size_t total_iters = 5)
            : LRScheduler<Optim>(optimizer), start_(start_factor), end_(end_factor), total_(total_iters)
        {
            if (!(start_factor > 0.0 && start_factor <= 1.0) || !(end_factor >= 0.0 && end_factor <= 1.0) ||
                total_iters == 0)
                throw value_error("LinearLR: start_factor must be in (0, 1], end_factor in [0, 1] and total_iters "
                                  "positive");
            this->set_last_epoch(0);
        }

    protected:
        double lr_at(double base, std::size_t epoch) const override
        {
            const double progress = std::min(1.0, static_cast<double>(epoch) / static_cast<double>(total_));
            return base * (start_ + (end_ - start_) * progress);
        }

    private:
        double start_, end_;
        std::size_t total_;
    };

    // Cuts the lr by `factor` when a monitored metric has not improved for `patience` epochs
    // (mode "min": lower is better, e.g. validation loss; "max": higher is better, e.g. accuracy).
    template <class Optim>
    class ReduceLROnPlateau
    {
    public:
        ReduceLROnPlateau(Optim& optimizer, std::string mode = "min", double factor = 0.1, std::size_t patience = 10,
                          double threshold = 1e-4, std::size_t cooldown = 0, double min_lr = 0.0)
            : optimizer_(optimizer), minimize_(mode == "min"), factor_(factor), patience_(patience),
              threshold_(threshold), cooldown_(cooldown), min_lr_(min_lr)
        {
            if (mode != "min" && mode != "max")
                throw value_error("ReduceLROnPlateau: mode must be \"min\" or \"max\", got \"" + mode + "\"");
            if (!(factor > 0.0 && factor < 1.0))
                throw value_error("ReduceLROnPlateau: factor must be in (0, 1)");
            best_ = minimize_ ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
        }

        // Call once per epoch with the monitored metric.
        void step(double metric)
        {
            if (std::isnan(metric))
                throw value_error("ReduceLROnPlateau: the monitored metric is NaN");
            // Relative threshold, as PyTorch's default threshold_mode "rel".
            const bool improved = minimize_ ? metric < best_ * (1.0 - threshold_) : metric > best_ * (1.0 + threshold_);
            if (improved)
            {
                best_ = metric;
                bad_epochs_ = 0;
            }
            else
                ++bad_epochs_;
            if (cooldown_left_ > 0)
            {
                --cooldown_left_;
                bad_epochs_ = 0;
            }
            if (bad_epochs_ > patience_)
            {
                // As torch, a cut smaller than 1e-8 (the lr is at min_lr already) leaves the lr as it is.
                for (auto& group : optimizer_.param_groups())
                {
                    const double reduced = std::max(group.options.lr() * factor_, min_lr_);
                    if (group.options.lr() - reduced > 1e-8)
                        group.options.lr(reduced);
                }
                cooldown_left_ = cooldown_;
                bad_epochs_ = 0;
            }
        }

    private:
        Optim& optimizer_;
        bool minimize_;
        double factor_;
        std::size_t patience_;
        double threshold_;
        std::size_t cooldown_;
        double min_lr_;
        double best_;
        std::size_t bad_epochs_ = 0;
        std::size_t cooldown_left_ = 0;
    };
}
