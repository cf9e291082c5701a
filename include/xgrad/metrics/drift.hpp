// Data drift: how far a live sample of a model's inputs (and of its predicted classes) has moved from the
// reference it was trained on, per feature, with bins fitted on the reference:
//   - continuous features: quantile bins, the edges at the reference's quantiles k/B (NumPy's default,
//     linear interpolation), repeated edges merged; a value v falls in bin searchsorted(edges, v, "right");
//   - labels: one bin per category.
// Proportions are smoothed so that an empty bin never divides by zero: p_i = (count_i + a) / (n + a * bins).
//   PSI(ref, live) = sum_i (live_i - ref_i) * ln(live_i / ref_i)        (population stability index)
//   KL(live || ref) = sum_i live_i * ln(live_i / ref_i)                  (scipy.stats.entropy(live, ref))
// The usual reading of the PSI: below 0.1 no shift, 0.1 to 0.25 a moderate one, above 0.25 a major one. A few
// live rows say little (one row alone puts every feature in one bin): below `min_rows`, no level is given.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include "../core/types.hpp"
#include "../error.hpp"

namespace xgrad::metrics
{
    enum class DriftLevel
    {
        none,
        moderate,
        major
    };

    inline const char* drift_level_name(DriftLevel level)
    {
        return level == DriftLevel::none ? "none" : level == DriftLevel::moderate ? "moderate" : "major";
    }

    // Bins fitted on a reference sample: quantile edges for a continuous feature, or categories 0..n-1.
    class DriftBins
    {
    public:
        // `bins` quantile bins of `reference` (at most: equal quantiles merge).
        static DriftBins quantiles(std::vector<double> reference, std::size_t bins)
        {
            if (reference.empty())
                throw value_error("DriftBins::quantiles: the reference sample is empty");
            if (bins < 2)
                throw value_error("DriftBins::quantiles: need at least 2 bins, got " + std::to_string(bins));
            for (const double v : reference)
                if (!std::isfinite(v))
                    throw value_error("DriftBins::quantiles: the reference sample holds a NaN or infinity");
            std::sort(reference.begin(), reference.end());
            DriftBins fitted;
            for (std::size_t k = 1; k < bins; ++k)
            {
                // numpy.quantile(reference, k / bins), its arithmetic step by step (so the edges are the same
                // doubles): the position q (n - 1), then a linear interpolation taken from the nearer end.
                const double position = (double(k) / double(bins)) * double(reference.size() - 1);
                const auto below = std::size_t(std::floor(position));
                const std::size_t above = std::min(below + 1, reference.size() - 1);
                const double t = position - double(below), gap = reference[above] - reference[below];
                const double edge = t >= 0.5 ? reference[above] - gap * (1 - t) : reference[below] + gap * t;
                if (fitted.edges_.empty() || edge > fitted.edges_.back())
                    fitted.edges_.push_back(edge);
            }
            return fitted;
        }

        // One bin per category 0..count-1.
        static DriftBins categories(std::size_t count)
        {
            if (count < 2)
                throw value_error("DriftBins::categories: need at least 2 categories, got " + std::to_string(count));
            DriftBins fitted;
            fitted.categories_ = count;
            return fitted;
        }

        std::size_t size() const { return categories_ > 0 ? categories_ : edges_.size() + 1; }
        const std::vector<double>& edges() const { return edges_; }

        // The bin of a value (a category must be a whole number below the count: value_error otherwise).
        std::size_t bin_of(double value) const
        {
            if (!std::isfinite(value))
                throw value_error("drift: a live value is NaN or infinite");
            if (categories_ == 0)
                return std::size_t(std::upper_bound(edges_.begin(), edges_.end(), value) - edges_.begin());
            if (value < 0 || value >= double(categories_) || value != std::floor(value))
                throw value_error("drift: label " + std::to_string(value) + " is not one of the " +
                                  std::to_string(categories_) + " categories");
            return std::size_t(value);
        }

    private:
        std::vector<double> edges_;    // ascending, distinct (continuous features)
        std::size_t categories_ = 0;   // > 0 for labels
    };

    // Smoothed proportions of bin counts: (count_i + smoothing) / (total + smoothing * bins).
    inline std::vector<double> smoothed_proportions(const std::vector<double>& counts, double smoothing)
    {
        double total = 0;
        for (const double c : counts)
            total += c;
        const double denominator = total + smoothing * double(counts.size());
        if (!(denominator > 0))
            throw value_error("drift: no observations and no smoothing: the proportions are undefined");
        std::vector<double> proportions;
        for (const double c : counts)
            proportions.push_back((c + smoothing) / denominator);
        return proportions;
    }

    namespace detail
    {
        inline void check_distributions(const char* what, const std::vector<double>& p, const std::vector<double>& q)
        {
            if (p.size() != q.size() || p.empty())
                throw shape_error(std::string(what) + ": distributions of " + std::to_string(p.size()) + " and " +
                                  std::to_string(q.size()) + " bins");
            for (std::size_t i = 0; i < p.size(); ++i)
                if (!(p[i] > 0) || !(q[i] > 0))
                    throw value_error(std::string(what) + ": every proportion must be positive (smooth empty bins)");
        }
    }

    // PSI between two distributions over the same bins (each positive, summing to 1).
    inline double population_stability_index(const std::vector<double>& reference, const std::vector<double>& live)
    {
        detail::check_distributions("population_stability_index", reference, live);
        double psi = 0;
        for (std::size_t i = 0; i < reference.size(); ++i)
            psi += (live[i] - reference[i]) * std::log(live[i] / reference[i]);
        return psi;
    }

    // KL(p || q) = sum p_i ln(p_i / q_i).
    inline double kl_divergence(const std::vector<double>& p, const std::vector<double>& q)
    {
        detail::check_distributions("kl_divergence", p, q);
        double kl = 0;
        for (std::size_t i = 0; i < p.size(); ++i)
            kl += p[i] * std::log(p[i] / q[i]);
        return kl;
    }

    struct DriftOptions
    {
        std::size_t bins = 10;        // quantile bins per continuous feature
        double smoothing = 0.5;       // pseudo-count added to every bin
        double moderate_psi = 0.1;    // PSI from which a shift is moderate
        double major_psi = 0.25;      // PSI from which a shift is major
        std::size_t window = 0;       // live rows kept (the most recent); 0: every row since reset()
        std::size_t min_rows = 100;   // fewer live rows than this: PSI and KL are computed but no level is set
    };

    struct FeatureDrift
    {
        double psi = 0;
        double kl = 0;   // KL(live || reference)
        DriftLevel level = DriftLevel::none;
    };

    struct DriftReport
    {
        std::size_t live_rows = 0;
        bool enough_rows = false;             // live_rows >= min_rows: otherwise every level is none
        std::vector<FeatureDrift> features;   // one per input feature
        FeatureDrift predictions;             // the predicted class distribution
        double mean_feature_psi = 0;
        std::size_t moderate_features = 0;   // features at moderate or above
        std::size_t major_features = 0;
        DriftLevel overall = DriftLevel::none;   // the level of max(mean feature PSI, predictions' PSI)
    };

    // Fitted once on a reference sample (inputs (N, F) and predicted labels (N)), then fed live batches;
    // report() compares what it has seen (the last `window` rows) with the reference.
    class DriftMonitor
    {
    public:
        DriftMonitor(const xt::xarray<double>& reference_inputs, const IndexArray& reference_labels,
                     std::size_t classes, DriftOptions options = {})
            : options_(options)
        {
            if (!(options.smoothing > 0) || !(options.moderate_psi > 0) || !(options.major_psi >= options.moderate_psi))
                throw value_error("DriftMonitor: need smoothing > 0 and 0 < moderate_psi <= major_psi");
            if (reference_inputs.dimension() != 2 || reference_inputs.shape(0) == 0 || reference_inputs.shape(1) == 0)
                throw shape_error("DriftMonitor: the reference inputs must be a non-empty (N, F) array, got " +
                                  shape_string(reference_inputs.shape()));
            const std::size_t rows = reference_inputs.shape(0), features = reference_inputs.shape(1);
            if (reference_labels.size() != rows)
                throw shape_error("DriftMonitor: " + std::to_string(rows) + " reference rows but " +
                                  std::to_string(reference_labels.size()) + " labels");
            for (std::size_t f = 0; f < features; ++f)
            {
                std::vector<double> column(rows);
                for (std::size_t r = 0; r < rows; ++r)
                    column[r] = reference_inputs(r, f);
                bins_.push_back(DriftBins::quantiles(column, options.bins));
            }
            bins_.push_back(DriftBins::categories(classes));
            reference_ = counts_of(reference_inputs, reference_labels);
            reset();
        }

        std::size_t features() const { return bins_.size() - 1; }

        // Adds a batch of live inputs (n, F) and the labels predicted for them (n). All or nothing: a NaN, a
        // label out of range or a wrong shape is an error and nothing is counted.
        void observe(const xt::xarray<double>& inputs, const IndexArray& labels)
        {
            const std::vector<std::vector<std::uint32_t>> rows = bin_rows(inputs, labels);
            for (const auto& row : rows)
            {
                add(row, 1);
                if (options_.window == 0)
                    continue;
                window_.push_back(row);
                if (window_.size() > options_.window)
                {
                    add(window_.front(), -1);
                    window_.pop_front();
                }
            }
            live_rows_ += rows.size();
        }

        void reset()
        {
            live_.assign(bins_.size(), {});
            for (std::size_t j = 0; j < bins_.size(); ++j)
                live_[j].assign(bins_[j].size(), 0.0);
            window_.clear();
            live_rows_ = 0;
        }

        DriftReport report() const
        {
            DriftReport report;
            report.live_rows = options_.window > 0 ? window_.size() : live_rows_;
            report.enough_rows = report.live_rows >= options_.min_rows;
            for (std::size_t j = 0; j < bins_.size(); ++j)
            {
                const std::vector<double> reference = smoothed_proportions(reference_[j], options_.smoothing);
                const std::vector<double> live = smoothed_proportions(live_[j], options_.smoothing);
                FeatureDrift drift{population_stability_index(reference, live), kl_divergence(live, reference), {}};
                drift.level = report.enough_rows ? level_of(drift.psi) : DriftLevel::none;
                if (j + 1 == bins_.size())
                    report.predictions = drift;
                else
                {
                    report.features.push_back(drift);
                    report.mean_feature_psi += drift.psi / double(features());
                    report.moderate_features += drift.level != DriftLevel::none;
                    report.major_features += drift.level == DriftLevel::major;
                }
            }
            report.overall = report.enough_rows ? level_of(std::max(report.mean_feature_psi, report.predictions.psi))
                                                : DriftLevel::none;
            return report;
        }

        DriftLevel level_of(double psi) const
        {
            return psi >= options_.major_psi      ? DriftLevel::major
                   : psi >= options_.moderate_psi ? DriftLevel::moderate
                                                  : DriftLevel::none;
        }

    private:
        // Each row's bin per feature, then its label's bin (checked whole before anything is counted).
        std::vector<std::vector<std::uint32_t>> bin_rows(const xt::xarray<double>& inputs,
                                                         const IndexArray& labels) const
        {
            if (inputs.dimension() != 2 || inputs.shape(1) != features())
                throw shape_error("DriftMonitor: live inputs must be (n, " + std::to_string(features()) + "), got " +
                                  shape_string(inputs.shape()));
            if (labels.size() != inputs.shape(0))
                throw shape_error("DriftMonitor: " + std::to_string(inputs.shape(0)) + " live rows but " +
                                  std::to_string(labels.size()) + " labels");
            std::vector<std::vector<std::uint32_t>> rows(inputs.shape(0), std::vector<std::uint32_t>(bins_.size()));
            for (std::size_t r = 0; r < rows.size(); ++r)
            {
                for (std::size_t f = 0; f < features(); ++f)
                    rows[r][f] = std::uint32_t(bins_[f].bin_of(inputs(r, f)));
                rows[r][features()] = std::uint32_t(bins_.back().bin_of(double(labels(r))));
            }
            return rows;
        }

        std::vector<std::vector<double>> counts_of(const xt::xarray<double>& inputs, const IndexArray& labels) const
        {
            std::vector<std::vector<double>> counts(bins_.size());
            for (std::size_t j = 0; j < bins_.size(); ++j)
                counts[j].assign(bins_[j].size(), 0.0);
            for (const auto& row : bin_rows(inputs, labels))
                for (std::size_t j = 0; j < row.size(); ++j)
                    counts[j][row[j]] += 1;
            return counts;
        }

        void add(const std::vector<std::uint32_t>& row, double count)
        {
            for (std::size_t j = 0; j < row.size(); ++j)
                live_[j][row[j]] += count;
        }

        DriftOptions options_;
        std::vector<DriftBins> bins_;                     // one per feature, then the labels'
        std::vector<std::vector<double>> reference_;      // bin counts of the reference
        std::vector<std::vector<double>> live_;           // bin counts of the live rows in the window
        std::deque<std::vector<std::uint32_t>> window_;   // the window's rows' bins, oldest first (window > 0)
        std::size_t live_rows_ = 0;
    };
}
