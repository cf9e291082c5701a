// nn::Sequential: modules applied one after another; children are named "0", "1", ... as in torch.nn.
#pragma once

#include <memory>
#include <string>
#include <type_traits>

#include "../config.hpp"
#include "module.hpp"

namespace xgrad::nn
{
    template <class T = float>
    class Sequential : public Module<T>
    {
        template <class M>
        using enable_if_module = std::enable_if_t<std::is_base_of<Module<T>, std::decay_t<M>>::value &&
                                                  !std::is_same<std::decay_t<M>, Sequential>::value, int>;

    public:
        Sequential() = default;

        // nn::Sequential<float> model(nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 1));
        template <class First, class... Rest, enable_if_module<First> = 0>
        explicit Sequential(First&& first, Rest&&... rest)
        {
            push_back(std::forward<First>(first));
            (push_back(std::forward<Rest>(rest)), ...);
        }

        template <class M>
        void push_back(M&& module)
        {
            this->register_module(std::to_string(size()), std::forward<M>(module));
        }
        template <class M>
        void push_back(std::shared_ptr<M> module)
        {
            this->register_module(std::to_string(size()), std::move(module));
        }

        Tensor<T> forward(const Tensor<T>& input) override
        {
            Tensor<T> x = input;
            for (const auto& [name, child] : this->named_children())
                x = (*child)(x);   // through operator(), so the child's hooks run
            return x;
        }

        std::size_t size() const { return this->named_children().size(); }
        Module<T>& operator[](std::size_t index) const
        {
            if (index >= size())
                throw value_error("Sequential: index " + std::to_string(index) + " is out of range for " +
                                  std::to_string(size()) + " modules");
            return *this->named_children()[index].second;
        }

        // model.set(1, std::make_shared<nn::Tanh<float>>()): another module in place of the one at `index`, as
        // torch's model[1] = ... (the parameters are the new module's).
        void set(std::size_t index, std::shared_ptr<Module<T>> module)
        {
            this->replace_module(index, std::move(module));
        }

        std::string type_name() const override { return "Sequential"; }
    };

    // nn::Sequential model{nn::Linear(4, 8), nn::ReLU(), ...} takes the scalar type of its first module.
    template <class First, class... Rest>
    Sequential(First, Rest...) -> Sequential<typename First::value_type>;
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_NN_SEQUENTIAL_TEMPLATES(EXTERN, T) EXTERN template class nn::Sequential<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_NN_SEQUENTIAL_TEMPLATES)
}
