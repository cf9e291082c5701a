// What a graph walker needs to know about an op beyond its inputs: a convolution's stride, a softmax's dim, the
// ids an index_select picked.  The ONNX exporter reads it to translate a recorded graph.  Ops record it only
// while a RecordOpAttributes guard is alive on the thread, so training never pays for it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"

namespace xgrad
{
    struct OpAttributes
    {
        std::vector<std::pair<const char*, std::vector<std::int64_t>>> integers;   // name -> values
        std::vector<std::pair<const char*, double>> reals;

        OpAttributes& set_ints(const char* name, std::vector<std::int64_t> values)
        {
            integers.emplace_back(name, std::move(values));
            return *this;
        }
        OpAttributes& set_int(const char* name, std::int64_t value) { return set_ints(name, {value}); }
        OpAttributes& set_real(const char* name, double value)
        {
            reals.emplace_back(name, value);
            return *this;
        }
        bool has(const std::string& name) const
        {
            for (const auto& entry : integers)
                if (name == entry.first)
                    return true;
            for (const auto& entry : reals)
                if (name == entry.first)
                    return true;
            return false;
        }
        const std::vector<std::int64_t>& ints(const std::string& name) const
        {
            for (const auto& entry : integers)
                if (name == entry.first)
                    return entry.second;
            throw value_error("op attributes: no integer attribute '" + name + "'");
        }
        std::int64_t integer(const std::string& name) const
        {
            const auto& values = ints(name);
            if (values.size() != 1)
                throw value_error("op attributes: '" + name + "' holds " + std::to_string(values.size()) +
                                  " integers, not one");
            return values[0];
        }
        double real(const std::string& name) const
        {
            for (const auto& entry : reals)
                if (name == entry.first)
                    return entry.second;
            throw value_error("op attributes: no real attribute '" + name + "'");
        }
    };

    namespace detail
    {
        inline bool& op_attributes_recorded()
        {
            thread_local bool recorded = false;
            return recorded;
        }

        // (height, width) of a stride, padding or kernel, as attribute values.
        inline std::vector<std::int64_t> attribute_pair(const std::array<std::size_t, 2>& pair)
        {
            return {static_cast<std::int64_t>(pair[0]), static_cast<std::int64_t>(pair[1])};
        }
    }

    // While alive, ops on this thread attach their OpAttributes to the nodes they make (restored on exit).
    class RecordOpAttributes
    {
    public:
        RecordOpAttributes() : previous_(detail::op_attributes_recorded()) { detail::op_attributes_recorded() = true; }
        ~RecordOpAttributes() { detail::op_attributes_recorded() = previous_; }
        RecordOpAttributes(const RecordOpAttributes&) = delete;
        RecordOpAttributes& operator=(const RecordOpAttributes&) = delete;

    private:
        bool previous_;
    };

    inline bool is_recording_op_attributes() { return detail::op_attributes_recorded(); }
}
