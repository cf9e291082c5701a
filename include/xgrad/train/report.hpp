// A training report: one self-contained HTML page (inline SVG and CSS; no script, nothing fetched) that tells how
// a run went: the learning curves, samples/s per epoch, the model, the hyper-parameters, and for a classifier the
// confusion matrix as a heatmap, per-class precision/recall/F1 as bars and ROC curves; the profiler's top ops
// when a profile was recorded.  Its pictures come from viz/plot.hpp, like every other picture of the library.
//   With fit:   a TrainingReport callback, last in the list (after EarlyStopping, which puts the best weights
//               back when training ends, so that the report evaluates the weights that are kept):
//                 options.callbacks.push_back(std::make_shared<train::TrainingReport<float>>(model, "report.html",
//                                                                                          &test_loader, report_options));
//   By hand:    fill a ReportContents (history, evaluation, ...) and call write_training_report(path, contents).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xadapt.hpp>

#include "../io/atomic_file.hpp"
#include "../metrics/classification.hpp"
#include "../profiler.hpp"
#include "../viz/plot.hpp"
#include "fit.hpp"

namespace xgrad::train
{
    // The wall time of one training epoch and the examples it trained on.
    struct EpochTiming
    {
        double seconds = 0.0;
        std::size_t examples = 0;
    };

    // How a classifier did on held-out data: its class scores and the true labels.
    struct ClassifierEvaluation
    {
        xt::xarray<double> scores;               // (N, C), C ≥ 2: logits or probabilities (the order is what counts)
        IndexArray labels;                       // (N), in [0, C)
        std::vector<std::string> class_names;    // optional: C names (else 0, 1, ...)
        std::string data_name = "test set";      // what the scores were computed on
    };

    // Everything a report can show; all but the history are optional.
    struct ReportContents
    {
        std::string title = "Training report";
        std::vector<Logs> history;                                          // per epoch, as fit returns it
        std::vector<EpochTiming> timing;                                    // per epoch
        std::string model_summary;                                          // Module::summary()
        std::vector<std::pair<std::string, std::string>> hyperparameters;   // shown in this order
        std::optional<ClassifierEvaluation> evaluation;
        std::vector<profiler::OpAverage> top_ops;                           // Profile::key_averages()
        std::size_t top_op_rows = 15;
    };

    // The class scores of `model` (eval mode, no graph) over a loader of class labels, for a report.
    template <class T>
    ClassifierEvaluation evaluate_classifier(nn::Module<T>& model, data::DataLoader<T, IndexArray>& loader,
                                             std::vector<std::string> class_names = {},
                                             std::string data_name = "test set")
    {
        const bool was_training = model.is_training();
        model.eval();
        NoGradGuard no_grad;
        std::vector<double> scores;   // (N, C), row after row
        std::vector<std::int64_t> labels;
        std::size_t classes = 0;
        for (const auto& batch : loader)
        {
            const Tensor<T> outputs = model(batch.inputs);   // (B, C)
            if (outputs.ndim() != 2 || outputs.shape(0) != batch.size() || (classes && outputs.shape(1) != classes))
                throw shape_error("evaluate_classifier: the model must return class scores (N, C) for a batch of " +
                                  std::to_string(batch.size()) + ", got " + shape_string(outputs.shape()));
            classes = outputs.shape(1);
            scores.insert(scores.end(), outputs.value().begin(), outputs.value().end());
            labels.insert(labels.end(), batch.targets.begin(), batch.targets.end());
        }
        model.train(was_training);
        if (labels.empty())
            throw value_error("evaluate_classifier: the loader produced no examples");
        ClassifierEvaluation evaluation;
        evaluation.scores = xt::adapt(scores, std::vector<std::size_t>{labels.size(), classes});
        evaluation.labels = xt::adapt(labels, std::vector<std::size_t>{labels.size()});
        evaluation.class_names = std::move(class_names);
        evaluation.data_name = std::move(data_name);
        return evaluation;
    }

    namespace detail
    {
        using viz::detail::xml_escape;

        using viz::detail::fixed;

        // A count with its thousands grouped: 2,048,115.
        inline std::string grouped(double value)
        {
            std::string digits = std::to_string(static_cast<long long>(std::llround(value)));
            for (std::size_t at = digits.size(); at > 3 + (digits[0] == '-'); at -= 3)
                digits.insert(at - 3, ",");
            return digits;
        }

        // A figure of the summary at the top: a big number with a caption.
        inline std::string card(const std::string& value, const std::string& caption)
        {
            return "<div class='card'><div class='value'>" + xml_escape(value) + "</div><div class='caption'>" +
                   xml_escape(caption) + "</div></div>\n";
        }

        // The names logged in some epoch.
        inline std::vector<std::string> logged_names(const std::vector<Logs>& history)
        {
            std::vector<std::string> names;
            for (const auto& logs : history)
                for (const auto& entry : logs)
                    if (std::find(names.begin(), names.end(), entry.first) == names.end())
                        names.push_back(entry.first);
            // The loss first, then the rest as logged (alphabetically: the logs are a map).
            std::stable_partition(names.begin(), names.end(), [](const std::string& name) { return name == "loss"; });
            return names;
        }

        // One series of a logged value over the epochs (NaN where an epoch did not log it).
        inline viz::Series logged_series(const std::vector<Logs>& history, const std::string& key, std::string name)
        {
            viz::Series series = viz::Series::named(std::move(name));
            for (const auto& logs : history)
            {
                const auto found = logs.find(key);
                series.values.push_back(found == logs.end() ? NAN : found->second);
            }
            return series;
        }

        inline viz::LineChart epoch_chart(std::string title, std::string y_label, std::vector<viz::Series> series)
        {
            viz::LineChart chart;
            chart.title = std::move(title);
            chart.x_label = "epoch";
            chart.y_label = std::move(y_label);
            chart.series = std::move(series);
            return chart;
        }

        // A chart per logged quantity: "loss" with "val_loss" beside it, "accuracy" with "val_accuracy", ...,
        // and the learning rate when it changed.
        inline std::vector<viz::LineChart> learning_curves(const std::vector<Logs>& history)
        {
            std::vector<viz::LineChart> charts;
            const auto names = logged_names(history);
            const auto logged = [&](const std::string& name) {
                return std::find(names.begin(), names.end(), name) != names.end();
            };
            for (const auto& name : names)
            {
                if (name == "epoch" || name == "lr" || name.rfind("val_", 0) == 0)
                    continue;
                viz::LineChart chart = epoch_chart(name == "loss" ? "Loss" : name == "accuracy" ? "Accuracy" : name,
                                                   name == "accuracy" ? "accuracy (share correct)" : name,
                                                   {logged_series(history, name, "training")});
                if (logged("val_" + name))
                    chart.series.push_back(logged_series(history, "val_" + name, "validation"));
                charts.push_back(chart);
            }
            for (const auto& name : names)   // validation figures with no training twin
                if (name.rfind("val_", 0) == 0 && !logged(name.substr(4)))
                    charts.push_back(epoch_chart(name, name, {logged_series(history, name, "validation")}));
            if (logged("lr"))
            {
                const viz::Series lr = logged_series(history, "lr", "learning rate");
                const auto [low, high] = std::minmax_element(lr.values.begin(), lr.values.end());
                if (*low != *high)
                    charts.push_back(epoch_chart("Learning rate", "learning rate (during the epoch)", {lr}));
            }
            return charts;
        }

        inline std::string figure(const std::string& svg, const std::string& caption)
        {
            return "<figure>" + svg + "<figcaption>" + xml_escape(caption) + "</figcaption></figure>\n";
        }

        // A ROC curve with at most about 1,000 points: a point within 1/500 of the last one kept, in both x and y,
        // is dropped (the first and last stay), which no eye can tell apart at the size it is drawn.
        inline viz::Series roc_series(const metrics::Curve& curve, const std::string& name)
        {
            viz::Series series = viz::Series::named(name);
            for (std::size_t i = 0; i < curve.x.size(); ++i)
            {
                const bool far = series.x.empty() || std::abs(curve.x[i] - series.x.back()) > 0.002 ||
                                 std::abs(curve.y[i] - series.values.back()) > 0.002;
                if (far || i + 1 == curve.x.size())
                {
                    series.x.push_back(curve.x[i]);
                    series.values.push_back(curve.y[i]);
                }
            }
            return series;
        }

        // Finite scores (N, C ≥ 2), N labels, C class names or none; else a shape_error or value_error saying which.
        inline void check_evaluation(const ClassifierEvaluation& evaluation)
        {
            const auto& scores = evaluation.scores;
            if (scores.dimension() != 2 || scores.shape()[1] < 2)
                throw shape_error("training report: a classifier's scores must be (N, C) with C ≥ 2 classes, got " +
                                  shape_string(scores.shape()) + " (a single logit z of a binary task: pass (-z, z))");
            if (evaluation.labels.dimension() != 1 || evaluation.labels.size() != scores.shape()[0])
                throw shape_error("training report: " + std::to_string(evaluation.labels.size()) + " labels for " +
                                  std::to_string(scores.shape()[0]) + " rows of scores");
            if (!evaluation.class_names.empty() && evaluation.class_names.size() != scores.shape()[1])
                throw value_error("training report: " + std::to_string(evaluation.class_names.size()) +
                                  " class names for " + std::to_string(scores.shape()[1]) + " classes");
            const auto bad = std::find_if(scores.begin(), scores.end(), [](double v) { return !std::isfinite(v); });
            if (bad != scores.end())
                throw value_error("training report: the scores must be finite, row " +
                                  std::to_string(static_cast<std::size_t>(bad - scores.begin()) / scores.shape()[1]) +
                                  " holds " + std::to_string(*bad));
        }

        // `predicted`: the arg-max class of each row of the scores.
        inline std::string evaluation_section(const ClassifierEvaluation& evaluation, const IndexArray& predicted)
        {
            const auto& scores = evaluation.scores;
            const std::size_t classes = scores.shape()[1];
            std::vector<std::string> names = evaluation.class_names;
            for (std::size_t c = names.size(); c < classes; ++c)
                names.push_back(std::to_string(c));

            const metrics::ConfusionMatrix matrix(predicted, evaluation.labels, classes);
            const metrics::ClassificationReport report = metrics::classification_report(matrix);
            const double accuracy = metrics::accuracy(predicted, evaluation.labels);

            viz::Heatmap confusion{"Confusion matrix (" + evaluation.data_name + ")", "predicted class", "true class",
                                   names, names, {}, /*shade_by_row=*/true, 0};
            for (std::size_t r = 0; r < classes; ++r)
            {
                confusion.values.emplace_back();
                for (std::size_t c = 0; c < classes; ++c)
                    confusion.values.back().push_back(static_cast<double>(matrix.counts()(r, c)));
            }
            viz::BarChart bars{"Precision, recall and F1 per class", "class", "score (1 is perfect)", names,
                               {viz::Series::named("precision"), viz::Series::named("recall"), viz::Series::named("F1")},
                               0.0,
                               1.0};
            for (const auto& scores_of_class : report.per_class)
            {
                bars.series[0].values.push_back(scores_of_class.precision);
                bars.series[1].values.push_back(scores_of_class.recall);
                bars.series[2].values.push_back(scores_of_class.f1);
            }

            // ROC: a binary task gets one curve (class 1 against class 0), others one per class against the rest.
            viz::LineChart roc;
            roc.title = classes == 2 ? "ROC curve" : "ROC curves, each class against the rest";
            roc.x_label = "false positive rate";
            roc.y_label = "true positive rate";
            roc.x_min = roc.y_min = 0.0;
            roc.x_max = roc.y_max = 1.0;
            std::vector<double> auc(classes, NAN);
            for (std::size_t c = classes == 2 ? 1 : 0; c < classes; ++c)
            {
                const xt::xarray<double> column = xt::view(scores, xt::all(), c);
                const IndexArray is_class = xt::cast<std::int64_t>(xt::equal(evaluation.labels, std::int64_t(c)));
                const std::size_t positives = static_cast<std::size_t>(xt::sum(is_class)());
                if (positives == 0 || positives == is_class.size())
                    continue;   // ROC is undefined for a class that is always or never there
                auc[c] = metrics::roc_auc(column, is_class);
                roc.series.push_back(
                    roc_series(metrics::roc_curve(column, is_class), names[c] + " (AUC " + fixed(auc[c], 3) + ")"));
            }
            roc.series.push_back({"chance (AUC 0.5)", {0.0, 1.0}, {}, {0.0, 1.0}, "#999999"});

            std::ostringstream html;
            html << "<section><h2>How it classifies the " << xml_escape(evaluation.data_name) << "</h2>\n<p>"
                 << evaluation.labels.size() << " examples, " << classes << " classes: accuracy <b>"
                 << fixed(100 * accuracy, 2) << "%</b>, macro F1 " << fixed(report.macro.f1, 4)
                 << ". Rows of the matrix are the true classes, columns the predictions; the diagonal is right. Each "
                    "cell is shaded by its share of the row, so a dark cell off the diagonal is a common mistake.</p>\n";
            html << figure(viz::to_svg(confusion), "Counts of (true, predicted) pairs.");
            html << figure(viz::to_svg(bars), "Precision: of the examples predicted as the class, the share that are. "
                                              "Recall: of the examples of the class, the share found. F1: their "
                                              "harmonic mean.");
            if (roc.series.size() > 1)
                html << figure(viz::to_svg({roc}, 620, 440),
                               "Each curve sweeps a threshold over the class's score: the higher and further left, "
                               "the better; the diagonal is guessing.");
            html << "<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th>"
                 << "<th>ROC AUC</th></tr>\n";
            for (std::size_t c = 0; c < classes; ++c)
            {
                const auto& s = report.per_class[c];
                html << "<tr><td>" << xml_escape(names[c]) << "</td><td>" << fixed(s.precision, 4) << "</td><td>"
                     << fixed(s.recall, 4) << "</td><td>" << fixed(s.f1, 4) << "</td><td>" << s.support << "</td><td>"
                     << (std::isnan(auc[c]) ? std::string("–") : fixed(auc[c], 4)) << "</td></tr>\n";
            }
            html << "</table></section>\n";
            return html.str();
        }

        inline std::string top_ops_section(const std::vector<profiler::OpAverage>& ops, std::size_t rows)
        {
            std::int64_t all_self_ns = 0;
            for (const auto& op : ops)
                all_self_ns += op.self_ns;
            std::ostringstream html;
            html << "<section><h2>Where the time went (profiler)</h2>\n<p>The ops with the most self time (time in the "
                    "op itself, not in ops it called) over the profiled steps, "
                 << fixed(static_cast<double>(all_self_ns) / 1e6, 1) << " ms in all.</p>\n"
                 << "<table><tr><th>op</th><th>pass</th><th>calls</th><th>self ms</th><th class='wide'>share of self "
                    "time</th><th>µs per call</th><th>MB out</th></tr>\n";
            for (std::size_t i = 0; i < ops.size() && i < rows; ++i)
            {
                const auto& op = ops[i];
                const double share = all_self_ns > 0 ? 100.0 * static_cast<double>(op.self_ns) / all_self_ns : 0.0;
                html << "<tr><td>" << xml_escape(op.name) << "</td><td>"
                     << (op.pass == profiler::Pass::forward ? "forward" : "backward") << "</td><td>" << op.calls
                     << "</td><td>" << fixed(static_cast<double>(op.self_ns) / 1e6, 2)
                     << "</td><td><span class='bar' style='width:" << fixed(share, 1) << "%'></span> " << fixed(share, 1)
                     << "%</td><td>" << fixed(static_cast<double>(op.total_ns) / 1e3 / static_cast<double>(op.calls), 1)
                     << "</td><td>" << fixed(static_cast<double>(op.bytes) / 1e6, 2) << "</td></tr>\n";
            }
            html << "</table></section>\n";
            return html.str();
        }

        constexpr const char* report_style = R"(
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; background: #f6f7f9; margin: 0; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 19px; margin: 0 0 10px; }
.when { color: #666; margin: 0 0 18px; }
section { background: white; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,0.12); padding: 18px 22px;
          margin: 0 0 20px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 0 0 20px; }
.card { background: white; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,0.12); padding: 12px 18px;
        min-width: 140px; }
.card .value { font-size: 24px; font-weight: bold; color: #1f4e8c; }
.card .caption { font-size: 13px; color: #555; margin-top: 2px; }
figure { display: inline-block; margin: 6px 12px 12px 0; vertical-align: top; max-width: 100%; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 13px; color: #555; max-width: 600px; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
th, td { padding: 4px 12px; border-bottom: 1px solid #e3e3e3; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f2f5; }
td.wide, th.wide { min-width: 200px; }
.bar { display: inline-block; height: 10px; background: #6baed6; vertical-align: middle; max-width: 140px; }
pre { background: #f6f7f9; padding: 12px; border-radius: 6px; overflow-x: auto; font-size: 13px; }
)";
    }

    // The report as one HTML page.
    inline std::string training_report_html(const ReportContents& contents)
    {
        using detail::xml_escape;
        using detail::fixed;
        if (contents.history.empty())
            throw value_error("training report: the history has no epoch (nothing was trained)");
        if (contents.evaluation)
            detail::check_evaluation(*contents.evaluation);
        std::ostringstream html;
        html << "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
             << "<meta name='viewport' content='width=device-width, initial-scale=1'>\n<title>" << xml_escape(contents.title)
             << "</title>\n<style>" << detail::report_style << "</style>\n</head>\n<body>\n<main>\n<h1>"
             << xml_escape(contents.title) << "</h1>\n";
        const std::time_t now = std::time(nullptr);
        char when[64];
        std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
        html << "<p class='when'>Written by xgrad " << XGRAD_VERSION_STRING << " on " << when << ".</p>\n";

        // The figures at a glance.
        const Logs& last = contents.history.back();
        html << "<div class='cards'>\n" << detail::card(std::to_string(contents.history.size()), "epochs trained");
        const auto val_loss = detail::logged_series(contents.history, "val_loss", "");
        if (const auto best = std::min_element(val_loss.values.begin(), val_loss.values.end(),
                                               [](double a, double b) { return !std::isnan(a) && (std::isnan(b) || a < b); });
            best != val_loss.values.end() && !std::isnan(*best))
            html << detail::card(fixed(*best, 4), "lowest validation loss (epoch " +
                                                      std::to_string(best - val_loss.values.begin() + 1) + ")");
        else if (last.count("loss"))
            html << detail::card(fixed(last.at("loss"), 4), "training loss, last epoch");
        if (last.count("val_accuracy"))
            html << detail::card(fixed(100 * last.at("val_accuracy"), 2) + "%", "validation accuracy, last epoch");
        const IndexArray predicted = contents.evaluation ? metrics::argmax(contents.evaluation->scores) : IndexArray();
        if (contents.evaluation)
            html << detail::card(fixed(100 * metrics::accuracy(predicted, contents.evaluation->labels), 2) + "%",
                                 "accuracy on the " + contents.evaluation->data_name);
        double seconds = 0.0, examples = 0.0;
        for (const auto& epoch : contents.timing)
        {
            seconds += epoch.seconds;
            examples += static_cast<double>(epoch.examples);
        }
        if (seconds > 0)
        {
            html << detail::card(fixed(seconds, seconds < 100 ? 1 : 0) + " s", "training time (all epochs)");
            html << detail::card(detail::grouped(examples / seconds), "training examples per second");
        }
        html << "</div>\n";

        html << "<section><h2>Learning curves</h2>\n<p>Training figures are the means over each epoch's batches "
                "(while the weights changed); validation figures are measured after the epoch. Validation loss "
                "rising while training loss falls is overfitting.</p>\n";
        for (const auto& chart : detail::learning_curves(contents.history))
            html << detail::figure(viz::to_svg({chart}), chart.title + " per epoch.");
        if (seconds > 0)
        {
            viz::LineChart speed = detail::epoch_chart("Training speed", "examples per second",
                                                       {viz::Series::named("training")});
            speed.y_min = 0.0;
            for (const auto& epoch : contents.timing)
                speed.series[0].values.push_back(epoch.seconds > 0 ? static_cast<double>(epoch.examples) / epoch.seconds
                                                                   : NAN);
            html << detail::figure(viz::to_svg({speed}), "Examples per second of wall time, each epoch.");
        }
        html << "</section>\n";

        if (contents.evaluation)
            html << detail::evaluation_section(*contents.evaluation, predicted);
        if (!contents.model_summary.empty())
            html << "<section><h2>The model</h2>\n<pre>" << xml_escape(contents.model_summary) << "</pre></section>\n";
        if (!contents.hyperparameters.empty())
        {
            html << "<section><h2>Hyper-parameters</h2>\n<table>\n";
            for (const auto& [name, value] : contents.hyperparameters)
                html << "<tr><td>" << xml_escape(name) << "</td><td>" << xml_escape(value) << "</td></tr>\n";
            html << "</table></section>\n";
        }
        if (!contents.top_ops.empty())
            html << detail::top_ops_section(contents.top_ops, contents.top_op_rows);
        if (!contents.timing.empty())
        {
            html << "<section><h2>Epochs</h2>\n<table><tr><th>epoch</th><th>seconds</th><th>examples</th>"
                 << "<th>examples/s</th>";
            const auto names = detail::logged_names(contents.history);
            for (const auto& name : names)
                if (name != "epoch")
                    html << "<th>" << xml_escape(name) << "</th>";
            html << "</tr>\n";
            for (std::size_t e = 0; e < contents.history.size(); ++e)
            {
                html << "<tr><td>" << e + 1 << "</td>";
                if (e < contents.timing.size())
                    html << "<td>" << fixed(contents.timing[e].seconds, 2) << "</td><td>" << contents.timing[e].examples
                         << "</td><td>"
                         << (contents.timing[e].seconds > 0
                                 ? detail::grouped(static_cast<double>(contents.timing[e].examples) / contents.timing[e].seconds)
                                 : std::string("–"))
                         << "</td>";
                else
                    html << "<td>–</td><td>–</td><td>–</td>";
                for (const auto& name : names)
                    if (name != "epoch")
                    {
                        const auto found = contents.history[e].find(name);
                        html << "<td>" << (found == contents.history[e].end() ? std::string("–") : viz::detail::number(found->second))
                             << "</td>";
                    }
                html << "</tr>\n";
            }
            html << "</table></section>\n";
        }
        html << "</main>\n</body>\n</html>\n";
        return html.str();
    }

    // The report written to `path` atomically: a reader sees the old file or the new one, never a part.
    inline void write_training_report(const std::string& path, const ReportContents& contents)
    {
        io::write_file_atomically(path, training_report_html(contents), "write_training_report");
    }

    struct TrainingReportOptions
    {
        std::string title = "Training report";
        std::vector<std::pair<std::string, std::string>> hyperparameters;
        std::vector<std::string> class_names;        // of the evaluation's classes
        std::string evaluation_name = "test set";    // what the evaluation loader holds
        std::size_t profiled_epochs = 0;             // record the first epochs with the profiler (its top ops)
    };

    // fit's report: records each epoch's logs and time, profiles the first epochs if asked, and when training
    // ends evaluates the model on `evaluation` (a loader of class labels; none: no classifier section) and
    // writes the page.  Put it after EarlyStopping so that it evaluates the weights that are kept.
    template <class T>
    class TrainingReport : public Callback
    {
    public:
        TrainingReport(nn::Module<T>& model, std::string path, data::DataLoader<T, IndexArray>* evaluation = nullptr,
                       TrainingReportOptions options = {})
            : model_(model), path_(std::move(path)), evaluation_(evaluation), options_(std::move(options))
        {
        }

        void on_train_begin(RunState&) override
        {
            contents_ = ReportContents{};
            contents_.title = options_.title;
            contents_.hyperparameters = options_.hyperparameters;
            contents_.model_summary = model_.summary();
            if (options_.profiled_epochs > 0)
                profile_ = std::make_unique<profiler::Profile>();
        }

        void on_epoch_begin(RunState&) override { start_ = std::chrono::steady_clock::now(); }

        void on_epoch_end(RunState& state, Logs& logs) override
        {
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
            contents_.timing.push_back({seconds, state.examples});
            contents_.history.push_back(logs);
            if (profile_ && state.epoch == options_.profiled_epochs)
                profile_->stop();
        }

        void on_train_end(RunState&) override
        {
            if (profile_)
            {
                profile_->stop();
                contents_.top_ops = profile_->key_averages();
                profile_.reset();
            }
            if (evaluation_ != nullptr)
                contents_.evaluation =
                    evaluate_classifier(model_, *evaluation_, options_.class_names, options_.evaluation_name);
            write_training_report(path_, contents_);
        }

        // What the report shows (complete once training has ended).
        const ReportContents& contents() const { return contents_; }

    private:
        nn::Module<T>& model_;
        std::string path_;
        data::DataLoader<T, IndexArray>* evaluation_;
        TrainingReportOptions options_;
        ReportContents contents_;
        std::unique_ptr<profiler::Profile> profile_;
        std::chrono::steady_clock::time_point start_;
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_TRAIN_REPORT_TEMPLATES(EXTERN, T)                                                                       \
    EXTERN template train::ClassifierEvaluation train::evaluate_classifier<T>(                                        \
        nn::Module<T>&, data::DataLoader<T, IndexArray>&, std::vector<std::string>, std::string);                    \
    EXTERN template class train::TrainingReport<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_TRAIN_REPORT_TEMPLATES)
}
