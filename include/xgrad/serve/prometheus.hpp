// Service statistics in the Prometheus text format (version 0.0.4): counters by label and histograms with
// cumulative buckets, safe to update from many threads and to render while they do.
//   # TYPE xgrad_requests_total counter
//   xgrad_requests_total{endpoint="/predict",code="200"} 1027
//   # TYPE xgrad_request_seconds histogram
//   xgrad_request_seconds_bucket{le="0.005"} 980 ... xgrad_request_seconds_bucket{le="+Inf"} 1027
//   xgrad_request_seconds_sum 2.31
//   xgrad_request_seconds_count 1027
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "../error.hpp"

namespace xgrad::serve
{
    // A counter per label set, e.g. {endpoint="/predict",code="200"}.
    class CounterFamily
    {
    public:
        CounterFamily(std::string name, std::string help) : name_(std::move(name)), help_(std::move(help)) {}

        // `labels` as Prometheus writes them inside the braces: endpoint="/predict",code="200".
        void increment(const std::string& labels, std::uint64_t by = 1)
        {
            std::lock_guard<std::mutex> lock(mutex_);
            counts_[labels] += by;
        }

        std::uint64_t value(const std::string& labels) const
        {
            std::lock_guard<std::mutex> lock(mutex_);
            const auto found = counts_.find(labels);
            return found == counts_.end() ? 0 : found->second;
        }

        void render(std::ostream& out) const
        {
            std::lock_guard<std::mutex> lock(mutex_);
            out << "# HELP " << name_ << ' ' << help_ << "\n# TYPE " << name_ << " counter\n";
            for (const auto& [labels, count] : counts_)
                out << name_ << '{' << labels << "} " << count << '\n';
        }

    private:
        std::string name_, help_;
        mutable std::mutex mutex_;
        std::map<std::string, std::uint64_t> counts_;
    };

    // Observations counted in buckets with the given upper bounds (ascending), plus their sum and count.
    class Histogram
    {
    public:
        Histogram(std::string name, std::string help, std::vector<double> upper_bounds)
            : name_(std::move(name)), help_(std::move(help)), bounds_(std::move(upper_bounds)),
              counts_(bounds_.size(), 0)
        {
            for (std::size_t i = 1; i < bounds_.size(); ++i)
                if (!(bounds_[i] > bounds_[i - 1]))
                    throw value_error("Histogram " + name_ + ": bucket bounds must be ascending");
        }

        void observe(double value)
        {
            std::lock_guard<std::mutex> lock(mutex_);
            for (std::size_t i = 0; i < bounds_.size(); ++i)
                if (value <= bounds_[i])
                    ++counts_[i];
            sum_ += value;
            ++count_;
        }

        std::uint64_t count() const
        {
            std::lock_guard<std::mutex> lock(mutex_);
            return count_;
        }

        void render(std::ostream& out) const
        {
            std::lock_guard<std::mutex> lock(mutex_);
            out << "# HELP " << name_ << ' ' << help_ << "\n# TYPE " << name_ << " histogram\n";
            for (std::size_t i = 0; i < bounds_.size(); ++i)
                out << name_ << "_bucket{le=\"" << bounds_[i] << "\"} " << counts_[i] << '\n';
            out << name_ << "_bucket{le=\"+Inf\"} " << count_ << '\n'
                << name_ << "_sum " << sum_ << '\n'
                << name_ << "_count " << count_ << '\n';
        }

    private:
        std::string name_, help_;
        std::vector<double> bounds_;
        mutable std::mutex mutex_;
        std::vector<std::uint64_t> counts_;   // cumulative: observations <= bounds_[i]
        double sum_ = 0;
        std::uint64_t count_ = 0;
    };
}
