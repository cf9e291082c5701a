// The optimizer base: parameter groups, each with its own options; per-parameter state in the optimizer's
// own struct (momentum buffers, moment estimates, integer step counts), indexed by group and parameter, which
// only state_dict() and load_state_dict() turn into names for checkpoints; and zero_grad.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../core/state_dict.hpp"
#include "../core/tensor.hpp"

namespace xgrad::optim
{
    // One state buffer of one parameter, absent until the update first needs it.
    template <class T>
    using StateBuffer = std::optional<xt::xarray<T>>;

    // A buffer of an optimizer's state struct with its checkpoint name ("exp_avg", as torch names it).
    template <class State, class T>
    struct NamedBuffer
    {
        const char* name;
        StateBuffer<T> State::*member;
    };

    namespace detail
    {
        // `buffer`, created as zeros shaped like `like` on first use (`created` tells whether it was).
        template <class T>
        xt::xarray<T>& zeros_on_first_use(StateBuffer<T>& buffer, const xt::xarray<T>& like, bool* created = nullptr)
        {
            const bool create = !buffer.has_value();
            if (create)
                buffer = xt::xarray<T>(xt::zeros<T>(like.shape()));
            if (created)
                *created = create;
            return *buffer;
        }

        // A step count saved as a scalar of T ("step", "<group>.<param>.step"), checked before it is trusted:
        // shape (), finite, whole, not negative, and within std::size_t.
        template <class T>
        std::size_t saved_count(const std::string& key, const xt::xarray<T>& value)
        {
            if (value.dimension() != 0)
                throw shape_error("optimizer load_state_dict: entry '" + key + "' is a step count, a scalar of shape (), "
                                  "but has shape " + shape_string(value.shape()));
            const double count = static_cast<double>(value());
            // The largest std::size_t rounds up to a power of two as a double: a count below it converts exactly.
            const double limit = static_cast<double>(std::numeric_limits<std::size_t>::max());
            if (!std::isfinite(count) || count < 0.0 || count != std::floor(count) || !(count < limit))
            {
                std::ostringstream shown;
                shown.precision(std::numeric_limits<double>::max_digits10);
                shown << count;
                throw value_error("optimizer load_state_dict: entry '" + key +
                                  "' is a step count and must be a whole number from zero within std::size_t, got " +
                                  shown.str());
            }
            return static_cast<std::size_t>(count);
        }

        // An index as state_dict() writes it: decimal digits, no sign, space or leading zero, below `bound`.
        inline std::optional<std::size_t> saved_index(std::string_view digits, std::size_t bound)
        {
            if (digits.empty() || (digits.size() > 1 && digits.front() == '0'))
                return std::nullopt;
            std::size_t index = 0;
            for (const char c : digits)
            {
                if (c < '0' || c > '9')
                    return std::nullopt;
                const auto digit = static_cast<std::size_t>(c - '0');
                if (index > (std::numeric_limits<std::size_t>::max() - digit) / 10)
                    return std::nullopt;
                index = index * 10 + digit;
            }
            if (index >= bound)
                return std::nullopt;
            return index;
        }
    }

    // State is the optimizer's per-parameter struct: its StateBuffer<T> members listed by a static buffers(),
    // and, when counts_steps, a std::size_t `step` (each parameter counts the steps it took, as torch does).
    template <class T, class Options, class State>
    class Optimizer
    {
    public:
        struct ParamGroup
        {
            std::vector<Tensor<T>> params;
            Options options;
            // The lr schedules start from (torch's group["initial_lr"]): set by the first scheduler built on
            // the optimizer, so that schedulers built after one that changed the lr share its starting point.
            std::optional<double> initial_lr;
        };
        using state_type = State;

        virtual ~Optimizer() = default;

        // One update of every parameter that has a gradient (those without one are skipped).
        virtual void step() = 0;

        void zero_grad()
        {
            for (auto& group : groups_)
                for (auto& p : group.params)
                    p.zero_grad();
        }

        // A further set of parameters with options of its own (e.g. no weight decay for biases).
        void add_param_group(std::vector<Tensor<T>> params, Options options)
        {
            for (const auto& p : params)
                if (!p.defined() || !p.requires_grad())
                    throw value_error("optimizer: every parameter must be a defined tensor that requires grad");
            state_.emplace_back(params.size());
            groups_.push_back({std::move(params), std::move(options), std::nullopt});
        }
        std::vector<ParamGroup>& param_groups() { return groups_; }
        const std::vector<ParamGroup>& param_groups() const { return groups_; }

        // The state of parameter `index` of group `group` (empty buffers and no steps until its first update).
        const State& state(std::size_t group, std::size_t index) const { return state_.at(group).at(index); }

        // The optimizer's state, by name "<group>.<param>.<buffer>" plus "step": for checkpoints.  Step counts
        // are written as scalars of T, the format checkpoints have always had.
        StateDict<T> state_dict() const;

        // Restores what state_dict() saved, treating it as untrusted: "step" and every per-parameter step count
        // a whole number in range; every other entry a buffer this optimizer keeps, of a parameter it has, with
        // that parameter's shape.  Everything is checked before anything changes: on a value_error or
        // shape_error (naming the entry) the optimizer is as it was.
        void load_state_dict(const StateDict<T>& saved);

        std::size_t step_count() const { return step_count_; }

    protected:
        Optimizer(std::vector<Tensor<T>> params, Options defaults) { add_param_group(std::move(params), std::move(defaults)); }

        // Calls update(options, state, param, grad) for each parameter with a gradient, then counts the step.
        template <class Update>
        void for_each_parameter(Update&& update)
        {
            ++step_count_;
            for (std::size_t g = 0; g < groups_.size(); ++g)
                for (std::size_t i = 0; i < groups_[g].params.size(); ++i)
                {
                    Tensor<T>& p = groups_[g].params[i];
                    if (p.has_grad())
                        update(groups_[g].options, state_[g][i], p.mutable_value(), p.grad());
                }
        }

    private:
        // Checks one "<group>.<param>.<buffer>" entry and puts it into `restored`.
        void restore_entry(const std::string& key, const xt::xarray<T>& value,
                           std::vector<std::vector<State>>& restored) const
        {
            const std::string_view name(key);
            const std::size_t first_dot = name.find('.');
            const std::size_t second_dot = first_dot == std::string_view::npos ? first_dot : name.find('.', first_dot + 1);
            const auto group = first_dot == std::string_view::npos ? std::nullopt
                                                                   : detail::saved_index(name.substr(0, first_dot), groups_.size());
            const auto index = group && second_dot != std::string_view::npos
                                   ? detail::saved_index(name.substr(first_dot + 1, second_dot - first_dot - 1),
                                                         groups_[*group].params.size())
                                   : std::nullopt;
            if (!index)
                throw value_error("optimizer load_state_dict: entry '" + key + "' names no parameter of this optimizer");
            const std::string_view buffer_name = name.substr(second_dot + 1);
            State& state = restored[*group][*index];
            if constexpr (State::counts_steps)
                if (buffer_name == "step")
                {
                    state.step = detail::saved_count(key, value);
                    return;
                }
            for (const auto& buffer : State::buffers())
                if (buffer_name == buffer.name)
                {
                    const Shape expected = groups_[*group].params[*index].shape();
                    if (!std::equal(value.shape().begin(), value.shape().end(), expected.begin(), expected.end()))
                        throw shape_error("optimizer load_state_dict: entry '" + key + "' has shape " +
                                          shape_string(value.shape()) + ", but its parameter needs " +
                                          shape_string(expected));
                    state.*buffer.member = value;
                    return;
                }
            std::string known = State::counts_steps ? "step" : "";
            for (const auto& buffer : State::buffers())
                known += (known.empty() ? "" : ", ") + std::string(buffer.name);
            throw value_error("optimizer load_state_dict: entry '" + key + "': '" + std::string(buffer_name) +
                              "' is not a buffer of this optimizer (it keeps " + known + ")");
        }

        std::vector<ParamGroup> groups_;
        std::vector<std::vector<State>> state_;   // [group][param], as groups_
        std::size_t step_count_ = 0;
    };

    template <class T, class Options, class State>
    void Optimizer<T, Options, State>::load_state_dict(const StateDict<T>& saved)
    {
        if (!saved.contains("step"))
            throw value_error("optimizer load_state_dict: the state has no 'step' entry");
        const std::size_t step_count = detail::saved_count("step", saved.at("step"));
        std::vector<std::vector<State>> restored;
        for (const auto& group : groups_)
            restored.emplace_back(group.params.size());
        for (const auto& [key, value] : saved)
            if (key != "step")
                restore_entry(key, value, restored);
        state_ = std::move(restored);
        step_count_ = step_count;
    }

    template <class T, class Options, class State>
    StateDict<T> Optimizer<T, Options, State>::state_dict() const
    {
        StateDict<T> saved;
        saved.insert("step", xt::xarray<T>(static_cast<T>(step_count_)));
        for (std::size_t g = 0; g < state_.size(); ++g)
            for (std::size_t i = 0; i < state_[g].size(); ++i)
            {
                const State& state = state_[g][i];
                const std::string prefix = std::to_string(g) + "." + std::to_string(i) + ".";
                if constexpr (State::counts_steps)
                    if (state.step > 0)
                        saved.insert(prefix + "step", xt::xarray<T>(static_cast<T>(state.step)));
                for (const auto& buffer : State::buffers())
                    if (const auto& value = state.*buffer.member)
                        saved.insert(prefix + buffer.name, *value);
            }
        return saved;
    }
}
