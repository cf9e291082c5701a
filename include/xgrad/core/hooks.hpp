// Hooks: callbacks registered on a tensor (run on its gradient) or on a module (run around its forward), each
// removable through the HookHandle its registration returns.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace xgrad
{
    // Removes the hook it was returned for.  remove() may be called any number of times, and after the
    // tensor or module that held the hook is gone (then it does nothing).  Dropping the handle keeps the hook.
    class HookHandle
    {
    public:
        HookHandle() = default;
        explicit HookHandle(std::function<void()> remover) : remover_(std::move(remover)) {}

        void remove()
        {
            if (remover_)
                std::exchange(remover_, nullptr)();
        }

    private:
        std::function<void()> remover_;
    };

    namespace detail
    {
        // A hook that may return nothing or a replacement, as one that always returns a Result; an empty
        // (default-constructed) Result means "keep the value".
        template <class Result, class... Args, class Hook>
        std::function<Result(Args...)> replacing_hook(Hook hook)
        {
            if constexpr (std::is_void_v<std::invoke_result_t<Hook&, Args...>>)
                return [hook = std::move(hook)](Args... args) mutable {
                    hook(args...);
                    return Result();
                };
            else
                return hook;
        }

        // The hooks of one kind on one tensor or module, in registration order.  The list is allocated on the
        // first registration, so an object without hooks pays one null pointer; handles hold it weakly.
        template <class Hook>
        class HookRegistry
        {
        public:
            HookRegistry() = default;
            // A copied module runs the same hooks, but the handles remove them from the original only.
            HookRegistry(const HookRegistry& other)
                : entries_(other.entries_ ? std::make_shared<Entries>(*other.entries_) : nullptr),
                  next_id_(other.next_id_)
            {}
            HookRegistry& operator=(const HookRegistry& other)
            {
                HookRegistry copy(other);
                std::swap(entries_, copy.entries_);
                next_id_ = copy.next_id_;
                return *this;
            }

            HookHandle add(Hook hook)
            {
                if (!entries_)
                    entries_ = std::make_shared<Entries>();
                const std::uint64_t id = next_id_++;
                entries_->emplace_back(id, std::move(hook));
                return HookHandle([weak = std::weak_ptr<Entries>(entries_), id] {
                    if (const auto entries = weak.lock())
                        entries->erase(std::remove_if(entries->begin(), entries->end(),
                                                      [id](const auto& entry) { return entry.first == id; }),
                                       entries->end());
                });
            }

            bool empty() const { return !entries_ || entries_->empty(); }

            // Passes `value` through every hook in order, `call(hook, value)` returning a replacement or an
            // undefined Value to keep it.  The hooks run from a copy of the list: a hook may remove itself.
            template <class Value, class Call>
            void pass_through(Value& value, Call&& call) const
            {
                if (empty())
                    return;
                const Entries hooks = *entries_;
                for (const auto& entry : hooks)
                    if (Value replacement = call(entry.second, value); replacement.defined())
                        value = std::move(replacement);
            }

        private:
            using Entries = std::vector<std::pair<std::uint64_t, Hook>>;
            std::shared_ptr<Entries> entries_;
            std::uint64_t next_id_ = 0;
        };
    }
}
