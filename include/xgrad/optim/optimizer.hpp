// The optimizer base: parameter groups, each with its own options, per-parameter state (momentum
// buffers, moment estimates) that can be saved and restored, and zero_grad.
#pragma once

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../core/state_dict.hpp"
#include "../core/tensor.hpp"

namespace xgrad::optim
{
    template <class T, class Options>
    class Optimizer
    {
    public:
        struct ParamGroup
        {
            std::vector<Tensor<T>> params;
            Options options;
        };

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
            groups_.push_back({std::move(params), std::move(options)});
        }
        std::vector<ParamGroup>& param_groups() { return groups_; }
        const std::vector<ParamGroup>& param_groups() const { return groups_; }

        // The optimizer's state, by name "<group>.<param>.<buffer>" plus "step": for checkpoints.
        StateDict<T> state_dict() const
        {
            StateDict<T> state;
            state.insert("step", xt::xarray<T>(static_cast<T>(step_count_)));
            for (const auto& [key, value] : state_)
                state.insert(key, value);
            return state;
        }
        // Restores what state_dict() saved (strict: the same parameters with the same shapes).  An entry that
        // names no parameter of this optimizer, or has another shape, throws and nothing is changed.
        void load_state_dict(const StateDict<T>& saved)
        {
            std::map<std::string, xt::xarray<T>> restored;
            for (const auto& [key, value] : saved)
                if (key != "step")
                {
                    check_state_entry(key, value);
                    restored.emplace(key, value);
                }
            step_count_ = static_cast<std::size_t>(saved.at("step")());
            state_ = std::move(restored);
        }

        std::size_t step_count() const { return step_count_; }

    protected:
        Optimizer(std::vector<Tensor<T>> params, Options defaults) { add_param_group(std::move(params), std::move(defaults)); }

        // Counts one more step of parameter `index` of group `group` and returns its count.  As in torch, each
        // parameter counts its own steps (one that had no gradient on some steps has had fewer), for Adam's
        // bias correction and Adagrad's lr decay; the count is kept with its state as "<group>.<param>.step".
        double count_step(std::size_t group, std::size_t index)
        {
            xt::xarray<T>& steps = buffer(group, index, "step", xt::xarray<T>(T(0)));
            steps() += T(1);
            return static_cast<double>(steps());
        }

        // The named state buffer of parameter `index` of group `group`, created as zeros like the parameter
        // on first use (`created` tells whether it was).
        xt::xarray<T>& buffer(std::size_t group, std::size_t index, const char* name, const xt::xarray<T>& like,
                              bool* created = nullptr)
        {
            const std::string key = std::to_string(group) + "." + std::to_string(index) + "." + name;
            auto [position, inserted] = state_.try_emplace(key);
            if (inserted)
                position->second = xt::zeros<T>(like.shape());
            if (created)
                *created = inserted;
            return position->second;
        }

        // Calls update(group index, param index, param, grad) for each parameter with a gradient, then counts the step.
        template <class Update>
        void for_each_parameter(Update&& update)
        {
            ++step_count_;
            for (std::size_t g = 0; g < groups_.size(); ++g)
                for (std::size_t i = 0; i < groups_[g].params.size(); ++i)
                {
                    Tensor<T>& p = groups_[g].params[i];
                    if (p.has_grad())
                        update(g, i, groups_[g].options, p.mutable_value(), p.grad());
                }
        }

    private:
        // A state entry is "<group>.<param>.<buffer>": a parameter of this optimizer, and its shape (a step
        // count is a scalar).
        void check_state_entry(const std::string& key, const xt::xarray<T>& value) const
        {
            std::size_t group = 0, index = 0;
            int consumed = 0;
            const bool parsed = std::sscanf(key.c_str(), "%zu.%zu.%n", &group, &index, &consumed) == 2 && consumed > 0 &&
                                static_cast<std::size_t>(consumed) < key.size();
            if (!parsed || group >= groups_.size() || index >= groups_[group].params.size())
                throw value_error("optimizer load_state_dict: entry '" + key + "' names no parameter of this optimizer");
            const Shape expected = key.compare(static_cast<std::size_t>(consumed), std::string::npos, "step") == 0
                                       ? Shape{}
                                       : groups_[group].params[index].shape();
            if (!std::equal(value.shape().begin(), value.shape().end(), expected.begin(), expected.end()))
                throw shape_error("optimizer load_state_dict: entry '" + key + "' has shape " +
                                  shape_string(value.shape()) + ", but its parameter needs " + shape_string(expected));
        }

        std::vector<ParamGroup> groups_;
        std::map<std::string, xt::xarray<T>> state_;
        std::size_t step_count_ = 0;
    };
}
