// Gradient flow, for seeing vanishing and exploding gradients: for each layer, the norm of its gradient, the norm
// of its weights and the size of each update relative to the weights, recorded every N optimizer steps and drawn
// as one line per layer over training; and at chosen steps, a histogram per layer of its gradient's magnitudes.
// A deep stack of sigmoids shows the gradient shrinking layer by layer towards the input; ReLUs with He
// initialisation keep it the same size in every layer (example 17 trains both; the tutorial reads the pictures).
//   With fit:       options.callbacks.push_back(flow)   (it records after each optimizer step)
//   By hand:        train::GradientFlow<float> flow(model);  ...  optimizer.step(); flow.record();
//   The pictures:   flow.save_svg("gradient_flow.svg");    flow.table() for a terminal
#pragma once

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include "../viz/plot.hpp"
#include "fit.hpp"

namespace xgrad::train
{
    struct GradientFlowOptions
    {
        std::size_t every = 10;                        // record at step 1 and every `every` steps
        std::vector<std::size_t> histogram_steps{1};   // steps (1-based) at which to keep gradient histograms
        bool weights_only = true;                      // a layer is a parameter named "weight" (biases left out)
    };

    // What was recorded of one layer, one entry per recorded step.
    struct LayerFlow
    {
        std::string name;                   // "layer 3 (4.weight)": its place among the layers, its parameter
        std::vector<double> gradient_norm;  // ‖∂L/∂W‖₂
        std::vector<double> weight_norm;    // ‖W‖₂ after the step
        std::vector<double> update_ratio;   // ‖ΔW‖₂ / ‖W‖₂ of the step: about 1e-3 is healthy for SGD
    };

    // A histogram of log10 |∂L/∂w| over the entries of each layer's gradient, at one step.
    struct GradientHistogram
    {
        std::size_t step = 0;
        std::vector<double> bin_centres;                 // in log10 units, shared by the layers
        std::vector<std::vector<double>> share;          // [layer][bin]: share of the layer's entries
        std::vector<double> zero_share;                  // [layer]: share of entries exactly 0 (not in the bins)
    };

    template <class T>
    class GradientFlow : public Callback
    {
    public:
        explicit GradientFlow(nn::Module<T>& model, GradientFlowOptions options = {}) : options_(std::move(options))
        {
            if (options_.every == 0)
                throw value_error("GradientFlow: `every` must be at least 1");
            for (const auto& [name, parameter] : model.named_parameters())
            {
                const bool is_weight = name == "weight" || (name.size() > 7 && name.rfind(".weight") == name.size() - 7);
                if (options_.weights_only && !is_weight)
                    continue;
                parameters_.push_back(parameter);
                layers_.push_back({"layer " + std::to_string(layers_.size() + 1) + " (" + name + ")", {}, {}, {}});
            }
            if (parameters_.empty())
                throw value_error(std::string("GradientFlow: the model has no ") +
                                  (options_.weights_only ? "parameter named weight (weights_only = false takes all)"
                                                         : "parameters"));
            keep_weights();   // the weights before step 1, for its update ratio
        }

        // fit calls it after each optimizer step.
        void on_batch_end(RunState&) override { record(); }

        // Call after each optimizer step (the gradients are still there, the weights already updated).
        void record()
        {
            ++step_;
            if (step_ == 1 || step_ % options_.every == 0)
            {
                steps_.push_back(step_);
                for (std::size_t l = 0; l < parameters_.size(); ++l)
                {
                    const xt::xarray<T>& weight = parameters_[l].value();
                    const double weight_norm = norm(weight);
                    layers_[l].gradient_norm.push_back(parameters_[l].has_grad() ? norm(parameters_[l].grad()) : 0.0);
                    layers_[l].weight_norm.push_back(weight_norm);
                    const double kept_norm = kept_step_ + 1 == step_ ? norm(kept_[l]) : 0.0;
                    layers_[l].update_ratio.push_back(kept_norm > 0 ? distance(weight, kept_[l]) / kept_norm : NAN);
                }
            }
            if (std::find(options_.histogram_steps.begin(), options_.histogram_steps.end(), step_) !=
                options_.histogram_steps.end())
                histograms_.push_back(histogram());
            if ((step_ + 1) % options_.every == 0)
                keep_weights();
        }

        const std::vector<std::size_t>& steps() const { return steps_; }
        const std::vector<LayerFlow>& layers() const { return layers_; }
        const std::vector<GradientHistogram>& histograms() const { return histograms_; }

        // The gradient norms, update ratios and weight norms as line charts (a line per layer), then a chart of
        // the histograms of each chosen step.
        std::vector<viz::LineChart> charts(const std::string& title_prefix = "") const
        {
            if (steps_.empty())
                throw value_error("GradientFlow: nothing recorded yet (record() runs after each optimizer step)");
            std::vector<double> x(steps_.begin(), steps_.end());
            const auto lines = [&](std::string title, std::string y_label, bool log_y, auto member) {
                viz::LineChart chart;
                chart.title = title_prefix + title;
                chart.x_label = "optimizer step";
                chart.y_label = std::move(y_label);
                chart.x = x;
                chart.log_y = log_y;
                for (std::size_t l = 0; l < layers_.size(); ++l)
                {
                    std::vector<double> values = layers_[l].*member;
                    if (log_y)   // a zero has no place on a log scale: left out (a gap in its line)
                        std::replace_if(values.begin(), values.end(), [](double v) { return !(v > 0); }, NAN);
                    chart.series.push_back({layers_[l].name, values, {}, {}, layer_colour(l)});
                }
                return chart;
            };
            std::vector<viz::LineChart> all{
                lines("Gradient norm per layer", "‖∂L/∂W‖ (log scale)", true, &LayerFlow::gradient_norm),
                lines("Update size per layer", "‖ΔW‖ / ‖W‖ per step (log scale)", true, &LayerFlow::update_ratio),
                lines("Weight norm per layer", "‖W‖", false, &LayerFlow::weight_norm)};
            for (const GradientHistogram& histogram : histograms_)
            {
                viz::LineChart chart;
                chart.title = title_prefix + "Gradient magnitudes at step " + std::to_string(histogram.step);
                chart.x_label = "log10 |∂L/∂w| of each weight";
                chart.y_label = "share of the layer's weights";
                chart.x = histogram.bin_centres;
                for (std::size_t l = 0; l < layers_.size(); ++l)
                {
                    const std::string zeros = viz::detail::fixed(100 * histogram.zero_share[l], 1) + "% exactly 0";
                    chart.series.push_back({"layer " + std::to_string(l + 1) + (histogram.zero_share[l] > 0 ? ": " + zeros : ""),
                                            histogram.share[l], {}, {}, layer_colour(l)});
                }
                all.push_back(chart);
            }
            return all;
        }

        // The charts, two to a row.
        void save_svg(const std::string& path, const std::string& title_prefix = "") const
        {
            viz::detail::write_file("GradientFlow::save_svg", path, viz::to_svg(charts(title_prefix), 620, 400, 2));
        }

        // The last recorded step as a table: per layer, gradient norm, weight norm and update ratio.
        std::string table() const
        {
            if (steps_.empty())
                throw value_error("GradientFlow: nothing recorded yet (record() runs after each optimizer step)");
            std::ostringstream out;
            out << "step " << steps_.back() << ":\n" << std::left << std::setw(28) << "  layer" << std::right
                << std::setw(12) << "|dL/dW|" << std::setw(12) << "|W|" << std::setw(12) << "|dW|/|W|" << '\n';
            for (const LayerFlow& layer : layers_)
                out << "  " << std::left << std::setw(26) << layer.name << std::right << std::scientific
                    << std::setprecision(2) << std::setw(12) << layer.gradient_norm.back() << std::fixed
                    << std::setprecision(3) << std::setw(12) << layer.weight_norm.back() << std::scientific
                    << std::setprecision(2) << std::setw(12) << layer.update_ratio.back() << '\n';
            return out.str();
        }

    private:
        // Layers coloured in order, dark blue at the input to green at the output (yellow is too pale on white).
        std::string layer_colour(std::size_t layer) const
        {
            return viz::ordered_colour(layers_.size() > 1 ? 0.85 * static_cast<double>(layer) / (layers_.size() - 1) : 0.0);
        }

        static double norm(const xt::xarray<T>& values)
        {
            double sum = 0.0;
            for (T v : values)
                sum += static_cast<double>(v) * static_cast<double>(v);
            return std::sqrt(sum);
        }

        // ‖a − b‖₂ of two arrays of one shape, without an array for the difference.
        static double distance(const xt::xarray<T>& a, const xt::xarray<T>& b)
        {
            double sum = 0.0;
            for (std::size_t i = 0; i < a.size(); ++i)
            {
                const double d = static_cast<double>(a.data()[i]) - static_cast<double>(b.data()[i]);
                sum += d * d;
            }
            return std::sqrt(sum);
        }

        void keep_weights()
        {
            kept_.clear();
            for (const auto& parameter : parameters_)
                kept_.push_back(parameter.value());
            kept_step_ = step_;
        }

        // 40 bins of log10 |g| spanning the nonzero magnitudes of every layer's gradient at this step.
        GradientHistogram histogram() const
        {
            constexpr std::size_t bins = 40;
            double low = INFINITY, high = -INFINITY;
            for (const auto& parameter : parameters_)
                if (parameter.has_grad())
                    for (T g : parameter.grad())
                        if (g != T(0) && std::isfinite(static_cast<double>(g)))
                        {
                            const double magnitude = std::log10(std::abs(static_cast<double>(g)));
                            low = std::min(low, magnitude);
                            high = std::max(high, magnitude);
                        }
            if (!(low <= high))
                low = high = 0.0;
            if (high - low < 1e-6)
                high = low + 1.0;
            const double width = (high - low) / bins;
            GradientHistogram result;
            result.step = step_;
            for (std::size_t b = 0; b < bins; ++b)
                result.bin_centres.push_back(low + width * (static_cast<double>(b) + 0.5));
            for (const auto& parameter : parameters_)
            {
                std::vector<double> counts(bins, 0.0);
                double zeros = 0.0, entries = 0.0;
                if (parameter.has_grad())
                    for (T g : parameter.grad())
                    {
                        entries += 1;
                        if (g == T(0) || !std::isfinite(static_cast<double>(g)))
                        {
                            zeros += g == T(0);
                            continue;
                        }
                        const double at = (std::log10(std::abs(static_cast<double>(g))) - low) / width;
                        counts[std::min(bins - 1, static_cast<std::size_t>(std::max(0.0, at)))] += 1;
                    }
                for (double& count : counts)
                    count = entries > 0 ? count / entries : 0.0;
                result.share.push_back(counts);
                result.zero_share.push_back(entries > 0 ? zeros / entries : 0.0);
            }
            return result;
        }

        GradientFlowOptions options_;
        std::vector<Tensor<T>> parameters_;
        std::vector<LayerFlow> layers_;
        std::vector<std::size_t> steps_;
        std::vector<GradientHistogram> histograms_;
        std::vector<xt::xarray<T>> kept_;   // the weights after step kept_step_, for the next step's update ratio
        std::size_t step_ = 0, kept_step_ = 0;
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_TRAIN_GRADIENT_FLOW_TEMPLATES(EXTERN, T) EXTERN template class train::GradientFlow<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_TRAIN_GRADIENT_FLOW_TEMPLATES)
}
