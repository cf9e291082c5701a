// Learning-rate schedules, as torch.optim.lr_scheduler: call step() once per epoch (or per batch for
// warm-up), after optimizer.step().  Each sets the lr of every parameter group from the group's base lr.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
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
        const Optim& optimizer() const { return optimizer_; }

    protected:
        // The base lrs are the groups' initial_lr, which the first scheduler sets from their lr (as torch).
        explicit LRScheduler(Optim& optimizer) : optimizer_(optimizer)
        {
            for (auto& group : optimizer.param_groups())
            {
                if (!group.initial_lr)
                    group.initial_lr = group.options.lr();
                base_lrs_.push_back(*group.initial_lr);
            }
        }
        // The lr of parameter group `group` (base lr `base_lr`) at `epoch`.
        virtual double lr_at(std::size_t group, double base_lr, std::size_t epoch) const = 0;
        // Sets every group's lr for the current epoch (a schedule that sets more overrides it).
        virtual void apply()
        {
            auto& groups = optimizer_.param_groups();
            for (std::size_t i = 0; i < groups.size(); ++i)
                groups[i].options.lr(lr_at(i, base_lrs_[i], epoch_));
        }
        Optim& mutable_optimizer() { return optimizer_; }

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
        double lr_at(std::size_t, double base, std::size_t epoch) const override
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
        double lr_at(std::size_t, double base, std::size_t epoch) const override
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
        double lr_at(std::size_t, double base, std::size_t epoch) const override
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
        double lr_at(std::size_t, double base, std::size_t epoch) const override
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
        LinearLR(Optim& optimizer, double start_factor = 1.0 / 3.0, double end_factor = 1.0,
                 std::size_t total_iters = 5)
            : LRScheduler<Optim>(optimizer), start_(start_factor), end_(end_factor), total_(total_iters)
        {
            if (!(start_factor > 0.0 && start_factor <= 1.0) || !(end_factor >= 0.0 && end_factor <= 1.0) ||
                total_iters == 0)
                throw value_error("LinearLR: start_factor must be in (0, 1], end_factor in [0, 1] and total_iters "
                                  "positive");
            this->set_last_epoch(0);
        }

    protected:
        double lr_at(std::size_t, double base, std::size_t epoch) const override
        {
            const double progress = std::min(1.0, static_cast<double>(epoch) / static_cast<double>(total_));
            return base * (start_ + (end_ - start_) * progress);
        }

    private:
        double start_, end_;
        std::size_t total_;
    };

    namespace detail
    {
        // Whether optimizer options have Adam's beta1 or SGD's (and RMSprop's) momentum.
        template <class Options, class = void>
        struct has_beta1 : std::false_type
        {};
        template <class Options>
        struct has_beta1<Options, std::void_t<decltype(std::declval<Options&>().beta1(0.0))>> : std::true_type
        {};
        template <class Options, class = void>
        struct has_momentum : std::false_type
        {};
        template <class Options>
        struct has_momentum<Options, std::void_t<decltype(std::declval<Options&>().momentum(0.0))>> : std::true_type
        {};
    }

    enum class AnnealStrategy
    {
        cos,     // end + (start - end) (1 + cos(pi pct)) / 2
        linear   // start + (end - start) pct
    };

    inline AnnealStrategy parse_anneal_strategy(const std::string& name)
    {
        if (name == "cos")
            return AnnealStrategy::cos;
        if (name == "linear")
            return AnnealStrategy::linear;
        throw value_error("OneCycleLR: anneal_strategy must be \"cos\" or \"linear\", got \"" + name + "\"");
    }

    // The 1cycle policy, as torch's OneCycleLR; call step() once per batch, total_steps times at most.  The lr
    // climbs from initial = max_lr / div_factor to max_lr over the first pct_start of the steps, then anneals
    // to initial / final_div_factor.  three_phase: up to max_lr, back down to initial (as long), then to the
    // minimum.  max_lr is one value for every parameter group or one per group.  With cycle_momentum the
    // momentum (SGD's and RMSprop's momentum, Adam's beta1) moves the other way, between max_momentum and
    // base_momentum; an optimizer without one is a value_error, as torch's.
    template <class Optim>
    class OneCycleLR : public LRScheduler<Optim>
    {
    public:
        OneCycleLR(Optim& optimizer, std::vector<double> max_lrs, std::size_t total_steps, double pct_start = 0.3,
                   const std::string& anneal_strategy = "cos", bool cycle_momentum = true, double base_momentum = 0.85,
                   double max_momentum = 0.95, double div_factor = 25.0, double final_div_factor = 1e4,
                   bool three_phase = false)
            : LRScheduler<Optim>(optimizer), total_steps_(total_steps), anneal_(parse_anneal_strategy(anneal_strategy)),
              cycle_momentum_(cycle_momentum)
        {
            using Options = std::decay_t<decltype(optimizer.param_groups()[0].options)>;
            auto& groups = optimizer.param_groups();
            if (max_lrs.size() != groups.size())
                throw value_error("OneCycleLR: expected " + std::to_string(groups.size()) +
                                  " values for max_lr (one per "
                                  "parameter group), got " +
                                  std::to_string(max_lrs.size()));
            if (total_steps == 0)
                throw value_error("OneCycleLR: total_steps must be positive");
            if (!(pct_start >= 0.0 && pct_start <= 1.0))
                throw value_error("OneCycleLR: pct_start must be in [0, 1], got " + std::to_string(pct_start));
            if (cycle_momentum && !detail::has_beta1<Options>::value && !detail::has_momentum<Options>::value)
                throw value_error("OneCycleLR: the optimizer has no momentum to cycle; pass cycle_momentum = false");
            // A first phase of no steps: torch divides by zero building it.  (Tested on the product, which
            // no fused multiply-add rounds differently.)
            if (pct_start * static_cast<double>(total_steps) == 1.0)
                throw value_error("OneCycleLR: a phase of no steps (pct_start * total_steps is 1)");
            for (std::size_t i = 0; i < groups.size(); ++i)
            {
                const double initial = max_lrs[i] / div_factor;
                levels_.push_back({initial, max_lrs[i], initial / final_div_factor});
                groups[i].initial_lr = initial;
            }
            const double steps = static_cast<double>(total_steps), rise_end = pct_start * steps - 1.0;
            if (three_phase)
                phases_ = {{rise_end, Level::initial, Level::max, max_momentum, base_momentum},
                           {2.0 * pct_start * steps - 2.0, Level::max, Level::initial, base_momentum, max_momentum},
                           {steps - 1.0, Level::initial, Level::min, max_momentum, max_momentum}};
            else
                phases_ = {{rise_end, Level::initial, Level::max, max_momentum, base_momentum},
                           {steps - 1.0, Level::max, Level::min, base_momentum, max_momentum}};
            this->set_last_epoch(0);
        }
        // One max_lr for every group.
        OneCycleLR(Optim& optimizer, double max_lr, std::size_t total_steps, double pct_start = 0.3,
                   const std::string& anneal_strategy = "cos", bool cycle_momentum = true, double base_momentum = 0.85,
                   double max_momentum = 0.95, double div_factor = 25.0, double final_div_factor = 1e4,
                   bool three_phase = false)
            : OneCycleLR(optimizer, std::vector<double>(optimizer.param_groups().size(), max_lr), total_steps,
                         pct_start, anneal_strategy, cycle_momentum, base_momentum, max_momentum, div_factor,
                         final_div_factor, three_phase)
        {}

        // The momentum of step `epoch` (max_momentum at the start).
        double momentum_at(std::size_t epoch) const
        {
            const auto [phase, pct] = phase_at(epoch);
            return anneal(phase.start_momentum, phase.end_momentum, pct);
        }

    protected:
        double lr_at(std::size_t group, double, std::size_t epoch) const override
        {
            const auto [phase, pct] = phase_at(epoch);
            return anneal(levels_[group][phase.start], levels_[group][phase.end], pct);
        }
        void apply() override
        {
            LRScheduler<Optim>::apply();
            if (!cycle_momentum_)
                return;
            using Options = std::decay_t<decltype(this->optimizer().param_groups()[0].options)>;
            const double momentum = momentum_at(this->last_epoch());
            for (auto& group : this->mutable_optimizer().param_groups())
            {
                if constexpr (detail::has_beta1<Options>::value)
                    group.options.beta1(momentum);
                else if constexpr (detail::has_momentum<Options>::value)
                    group.options.momentum(momentum);
            }
        }

    private:
        // A group's three lrs: initial (max / div_factor), max, and the minimum it anneals to.
        enum Level : std::size_t
        {
            initial,
            max,
            min
        };
        struct Phase
        {
            double end_step;
            Level start, end;
            double start_momentum, end_momentum;
        };

        double anneal(double start, double end, double pct) const
        {
            const double pi = 3.14159265358979323846;
            return anneal_ == AnnealStrategy::cos ? end + (start - end) / 2.0 * (std::cos(pi * pct) + 1.0)
                                                  : (end - start) * pct + start;
        }

        // The phase that holds step `epoch` (the last takes every later step) and how far into it, as torch.
        std::pair<Phase, double> phase_at(std::size_t epoch) const
        {
            if (epoch > total_steps_)
                throw value_error("OneCycleLR: tried to step " + std::to_string(epoch + 1) + " times; total_steps is " +
                                  std::to_string(total_steps_));
            const double step = static_cast<double>(epoch);
            double start_step = 0.0;
            for (std::size_t i = 0;; ++i)
            {
                const Phase& phase = phases_[i];
                if (step <= phase.end_step || i + 1 == phases_.size())
                {
                    if (phase.end_step == start_step)
                        throw value_error("OneCycleLR: a phase of no steps (pct_start * total_steps is 1)");
                    return {phase, (step - start_step) / (phase.end_step - start_step)};
                }
                start_step = phase.end_step;
            }
        }

        std::size_t total_steps_;
        AnnealStrategy anneal_;
        bool cycle_momentum_;
        std::vector<std::array<double, 3>> levels_;   // (groups, Level)
        std::vector<Phase> phases_;
    };

    // Schedules one after another, as torch's SequentialLR: schedulers[i] rules from milestones[i - 1] on,
    // counting its epochs from that milestone (warm-up then cosine: a LinearLR and a CosineAnnealingLR with
    // milestones {warmup}).  The schedulers act on `optimizer` and must outlive this one.
    template <class Optim>
    class SequentialLR
    {
    public:
        SequentialLR(Optim& optimizer, std::vector<LRScheduler<Optim>*> schedulers, std::vector<std::size_t> milestones)
            : optimizer_(optimizer), schedulers_(std::move(schedulers)), milestones_(std::move(milestones))
        {
            if (schedulers_.empty() || milestones_.size() + 1 != schedulers_.size())
                throw value_error("SequentialLR: expected one milestone fewer than schedulers, got " +
                                  std::to_string(schedulers_.size()) + " schedulers and " +
                                  std::to_string(milestones_.size()) + " milestones");
            for (std::size_t i = 0; i < schedulers_.size(); ++i)
                if (schedulers_[i] == nullptr || &schedulers_[i]->optimizer() != &optimizer)
                    throw value_error("SequentialLR: scheduler " + std::to_string(i) +
                                      " is null or belongs to another optimizer");
            if (!std::is_sorted(milestones_.begin(), milestones_.end()))
                throw value_error("SequentialLR: milestones must be in increasing order");
            for (auto& group : optimizer.param_groups())
                group.options.lr(*group.initial_lr);
            set_last_epoch(0);
        }

        void step() { set_last_epoch(epoch_ + 1); }
        std::size_t last_epoch() const { return epoch_; }
        // Restores the position (from a checkpoint): the scheduler that rules at `epoch`, at its own epoch.
        void set_last_epoch(std::size_t epoch)
        {
            epoch_ = epoch;
            const auto index = static_cast<std::size_t>(
                std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin());
            schedulers_[index]->set_last_epoch(index == 0 ? epoch : epoch - milestones_[index - 1]);
        }
        std::vector<double> get_last_lr() const
        {
            std::vector<double> lrs;
            for (const auto& group : optimizer_.param_groups())
                lrs.push_back(group.options.lr());
            return lrs;
        }

    private:
        Optim& optimizer_;
        std::vector<LRScheduler<Optim>*> schedulers_;
        std::vector<std::size_t> milestones_;
        std::size_t epoch_ = 0;
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
