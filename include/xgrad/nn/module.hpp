// nn::Module: the base of every layer and model.  A module owns named parameters (trained), named buffers
// (state that is saved but not trained, like running statistics) and named child modules; names and
// nesting follow torch.nn ("0.weight", "encoder.layers.1.linear1.bias"), so state dicts match PyTorch's.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../core/autograd.hpp"
#include "../core/hooks.hpp"
#include "../core/state_dict.hpp"
#include "../core/tensor.hpp"

namespace xgrad::nn
{
    // A setting as it reads in a printout: 0.1, not 0.100000.
    inline std::string format_setting(double value)
    {
        std::ostringstream out;
        out << value;
        return out.str();
    }

    // The named arrays of a module's state (core/state_dict.hpp), by the name torch.nn users know it by.
    using xgrad::StateDict;

    template <class T = float>
    class Module
    {
    public:
        using value_type = T;
        using NamedTensors = std::vector<std::pair<std::string, Tensor<T>>>;
        // Called before forward with the input; returns a replacement input, or an undefined Tensor to keep it.
        using ForwardPreHook = std::function<Tensor<T>(Module& module, const Tensor<T>& input)>;
        // Called after forward with the input it got and its output; returns a replacement output, or an
        // undefined Tensor to keep it.
        using ForwardHook = std::function<Tensor<T>(Module& module, const Tensor<T>& input, const Tensor<T>& output)>;

        virtual ~Module() = default;

        // The layer's computation.  Layers with several inputs (attention) add their own overloads.
        virtual Tensor<T> forward(const Tensor<T>& input) = 0;
        // Calling a module runs forward between its hooks: the forward pre-hooks, in registration order, may
        // replace the input; the forward hooks may replace the output.  Calling forward() itself, or a
        // several-input overload, runs no hooks (as in torch.nn).
        Tensor<T> operator()(const Tensor<T>& input)
        {
            if (forward_pre_hooks_.empty() && forward_hooks_.empty())
                return forward(input);
            Tensor<T> hooked_input = input;
            forward_pre_hooks_.pass_through(hooked_input, [this](const ForwardPreHook& hook, const Tensor<T>& current) {
                return hook(*this, current);
            });
            Tensor<T> output = forward(hooked_input);
            forward_hooks_.pass_through(output, [&](const ForwardHook& hook, const Tensor<T>& current) {
                return hook(*this, hooked_input, current);
            });
            return output;
        }

        // --- hooks ---
        // hook(module, input), called before each forward through operator(); it returns nothing, or the
        // Tensor forward is to receive instead.  The handle's remove() takes the hook off again.
        template <class Hook>
        HookHandle register_forward_pre_hook(Hook hook)
        {
            return forward_pre_hooks_.add(
                xgrad::detail::replacing_hook<Tensor<T>, Module&, const Tensor<T>&>(std::move(hook)));
        }
        // hook(module, input, output), called after each forward through operator(); it returns nothing, or the
        // Tensor the call is to return instead.
        template <class Hook>
        HookHandle register_forward_hook(Hook hook)
        {
            return forward_hooks_.add(
                xgrad::detail::replacing_hook<Tensor<T>, Module&, const Tensor<T>&, const Tensor<T>&>(std::move(hook)));
        }

        // The class name shown in printouts ("Linear"), and its settings ("in_features=4, out_features=2").
        virtual std::string type_name() const = 0;
        virtual std::string extra_repr() const { return {}; }

        // --- parameters, buffers and children ---
        NamedTensors named_parameters(bool recurse = true) const
        {
            NamedTensors all;
            collect("", recurse, all, [](const Module& m) -> const NamedTensors& { return m.parameters_; });
            return all;
        }
        std::vector<Tensor<T>> parameters(bool recurse = true) const
        {
            std::vector<Tensor<T>> all;
            for (auto& [name, tensor] : named_parameters(recurse))
                all.push_back(tensor);
            return all;
        }
        NamedTensors named_buffers(bool recurse = true) const
        {
            NamedTensors all;
            collect("", recurse, all, [](const Module& m) -> const NamedTensors& { return m.buffers_; });
            return all;
        }
        const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const
        {
            return children_;
        }
        // Number of trainable scalars.
        std::size_t parameter_count() const
        {
            std::size_t count = 0;
            for (const auto& p : parameters())
                count += p.numel();
            return count;
        }

        void zero_grad()
        {
            for (auto& p : parameters())
                p.zero_grad();
        }

        // Training mode (the default) or evaluation mode, for this module and all its children: dropout
        // and batch norm behave differently in the two.
        void train(bool on = true)
        {
            training_ = on;
            for (auto& [name, child] : children_)
                child->train(on);
        }
        void eval() { train(false); }
        bool is_training() const { return training_; }

        // --- state ---
        // Parameters then buffers, by dotted name, as torch.nn.Module.state_dict (copies of the values).
        StateDict<T> state_dict() const
        {
            StateDict<T> state;
            for (auto& [name, tensor] : named_state())
                state.insert(name, tensor.value());
            return state;
        }

        // Loads values by name into the existing tensors.  Strict: a missing, unexpected or wrong-shaped
        // entry throws (shape_error / value_error) naming it, and nothing is changed.
        void load_state_dict(const StateDict<T>& state);

        // A PyTorch-style printout of the module tree with parameter counts.
        void print(std::ostream& out, const std::string& indent = "") const;

        // The printout, then the number of trainable parameters.
        std::string summary() const
        {
            std::ostringstream out;
            print(out);
            out << "\nTrainable parameters: " << parameter_count() << '\n';
            return out.str();
        }

    protected:
        Module() = default;
        Module(const Module&) = default;
        Module& operator=(const Module&) = default;

        // A trained tensor, saved in state_dict() under `name`.  It is marked requires_grad.
        Tensor<T> register_parameter(std::string name, Tensor<T> tensor)
        {
            tensor.requires_grad_(true);
            parameters_.emplace_back(std::move(name), tensor);
            return tensor;
        }

        // Saved state that is not trained (running statistics).
        Tensor<T> register_buffer(std::string name, Tensor<T> tensor)
        {
            buffers_.emplace_back(std::move(name), tensor);
            return tensor;
        }

        // A child whose parameters are this module's, under "name.".
        template <class M>
        std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> child)
        {
            children_.emplace_back(std::move(name), child);
            return child;
        }
        template <class M, class = std::enable_if_t<std::is_base_of<Module, std::decay_t<M>>::value>>
        std::shared_ptr<std::decay_t<M>> register_module(std::string name, M&& child)
        {
            return register_module(std::move(name), std::make_shared<std::decay_t<M>>(std::forward<M>(child)));
        }
        // Puts another module in the place of the child at `index` (same name).  Only for a container whose
        // forward goes through named_children(), as Sequential's: a module that keeps its children in members
        // of its own would go on calling the old one.
        void replace_module(std::size_t index, std::shared_ptr<Module> child)
        {
            if (index >= children_.size())
                throw value_error(type_name() + ": no child " + std::to_string(index) + " to replace, it has " +
                                  std::to_string(children_.size()));
            children_[index].second = std::move(child);
        }

    private:
        template <class Select>
        void collect(const std::string& prefix, bool recurse, NamedTensors& out, Select&& select) const
        {
            for (const auto& [name, tensor] : NamedTensors(select(*this)))
                out.emplace_back(prefix + name, tensor);
            if (recurse)
                for (const auto& [name, child] : children_)
                    child->collect(prefix + name + ".", true, out, select);
        }

        // Parameters then buffers of each module, then its children: torch's state_dict order.
        NamedTensors named_state() const
        {
            NamedTensors state;
            collect("", true, state, [](const Module& m) {
                NamedTensors own = m.parameters_;
                own.insert(own.end(), m.buffers_.begin(), m.buffers_.end());
                return own;
            });
            return state;
        }

        NamedTensors parameters_;
        NamedTensors buffers_;
        std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
        bool training_ = true;
        xgrad::detail::HookRegistry<ForwardPreHook> forward_pre_hooks_;
        xgrad::detail::HookRegistry<ForwardHook> forward_hooks_;
    };

    template <class T>
    void Module<T>::print(std::ostream& out, const std::string& indent) const
    {
        out << type_name() << '(';
        if (children_.empty())
            out << extra_repr();
        else
        {
            out << '\n';
            if (!extra_repr().empty())
                out << indent << "  " << extra_repr() << '\n';
            for (const auto& [name, child] : children_)
            {
                out << indent << "  (" << name << "): ";
                child->print(out, indent + "  ");
                out << '\n';
            }
            out << indent;
        }
        out << ')';
    }

    template <class T>
    void Module<T>::load_state_dict(const StateDict<T>& state)
    {
        const NamedTensors own = named_state();
        for (auto& [name, tensor] : own)
        {
            if (!state.contains(name))
                throw value_error("load_state_dict: " + type_name() + " expects an entry '" + name +
                                  "', which the state dict lacks");
            const auto& value = state.at(name);
            if (!std::equal(value.shape().begin(), value.shape().end(), tensor.value().shape().begin(),
                            tensor.value().shape().end()))
                throw shape_error("load_state_dict: entry '" + name + "' has shape " + shape_string(value.shape()) +
                                  " but the " + type_name() + " expects " + shape_string(tensor.shape()));
        }
        for (const auto& entry : state)
        {
            // (a named entry, not a structured binding: C++17 lambdas cannot capture those, and clang says so)
            const std::string& name = entry.first;
            const bool known = std::any_of(own.begin(), own.end(), [&](const auto& e) { return e.first == name; });
            if (!known)
                throw value_error("load_state_dict: unexpected entry '" + name + "' for " + type_name());
        }
        for (auto& [name, tensor] : own)
            tensor.mutable_value() = state.at(name);
    }

    template <class T>
    std::ostream& operator<<(std::ostream& out, const Module<T>& module)
    {
        module.print(out);
        return out;
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_NN_MODULE_TEMPLATES(EXTERN, T)                                                                          \
    EXTERN template class nn::Module<T>;                                                                              \
    EXTERN template std::ostream& nn::operator<< <T>(std::ostream&, const nn::Module<T>&);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_NN_MODULE_TEMPLATES)
}
