// StateDict: named arrays in a fixed order, found by name in constant time.  Modules and optimizers give their state as one, checkpoints
// and safetensors files store one; it lives at the bottom so that io/ and optim/ need no layer above them.
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include "../config.hpp"
#include "../error.hpp"

namespace xgrad
{
    // What Module::state_dict() and Optimizer::state_dict() return and their load_state_dict() take, and
    // what io::save_safetensors writes.
    template <class T>
    class StateDict
    {
    public:
        using Entry = std::pair<std::string, xt::xarray<T>>;

        void insert(std::string name, xt::xarray<T> value)
        {
            if (!positions_.emplace(name, entries_.size()).second)
                throw value_error("state dict: duplicate entry '" + name + "'");
            entries_.emplace_back(std::move(name), std::move(value));
        }
        bool contains(const std::string& name) const { return find(name) != nullptr; }
        const xt::xarray<T>& at(const std::string& name) const
        {
            const auto* value = find(name);
            if (value == nullptr)
                throw value_error("state dict: no entry named '" + name + "'");
            return *value;
        }
        const xt::xarray<T>& operator[](const std::string& name) const { return at(name); }
        std::size_t size() const { return entries_.size(); }
        bool empty() const { return entries_.empty(); }
        auto begin() const { return entries_.begin(); }
        auto end() const { return entries_.end(); }

    private:
        const xt::xarray<T>* find(const std::string& name) const
        {
            const auto position = positions_.find(name);
            return position == positions_.end() ? nullptr : &entries_[position->second].second;
        }
        std::vector<Entry> entries_;                              // in insertion order
        std::unordered_map<std::string, std::size_t> positions_;   // name -> index in entries_
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_CORE_STATE_DICT_TEMPLATES(EXTERN, T)                                                                    \
    EXTERN template class StateDict<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_CORE_STATE_DICT_TEMPLATES)
}
