// Classification metrics, with scikit-learn's definitions: accuracy, top-k accuracy, the confusion
// matrix, precision/recall/F1 per class and macro/micro/weighted, ROC and precision-recall curves, ROC-AUC
// (binary and one-vs-rest) and average precision.  A class never predicted (or never present) gets a
// precision (recall) of 0, never a division by zero.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iomanip>
#include <numeric>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include "../config.hpp"
#include "../core/tensor.hpp"
#include "../core/types.hpp"

namespace xgrad::metrics
{
    namespace detail
    {
        inline void check_same_length(const char* metric, std::size_t a, std::size_t b)
        {
            if (a != b)
                throw shape_error(std::string(metric) + ": " + std::to_string(a) + " predictions for " +
                                  std::to_string(b) + " labels");
        }

        inline double ratio(double numerator, double denominator)
        {
            return denominator > 0.0 ? numerator / denominator : 0.0;
        }
    }

    // The highest-scoring class of each row of scores (N, C).
    template <class T>
    IndexArray argmax(const xt::xarray<T>& scores)
    {
        if (scores.dimension() != 2 || scores.shape()[1] == 0)
            throw shape_error("argmax: scores must be (N, C) with C > 0, got shape " + shape_string(scores.shape()));
        const std::size_t rows = scores.shape()[0], classes = scores.shape()[1];
        IndexArray best = IndexArray::from_shape({rows});
        for (std::size_t i = 0; i < rows; ++i)
        {
            const T* row = scores.data() + i * classes;
            best(i) = std::max_element(row, row + classes) - row;
        }
        return best;
    }

    // Fraction of predictions equal to the labels.
    inline double accuracy(const IndexArray& predicted, const IndexArray& labels)
    {
        detail::check_same_length("accuracy", predicted.size(), labels.size());
        if (labels.size() == 0)
            throw value_error("accuracy: no examples");
        std::size_t correct = 0;
        for (std::size_t i = 0; i < labels.size(); ++i)
            correct += predicted.data()[i] == labels.data()[i];
        return static_cast<double>(correct) / static_cast<double>(labels.size());
    }

    // Accuracy of the arg-max of scores (N, C) (logits or probabilities).
    template <class T, std::enable_if_t<std::is_floating_point<T>::value, int> = 0>
    double accuracy(const xt::xarray<T>& scores, const IndexArray& labels)
    {
        return accuracy(argmax(scores), labels);
    }

    // Fraction of rows whose label is among the k highest scores.  Ties at the k-th score count as hits.
    template <class T>
    double top_k_accuracy(const xt::xarray<T>& scores, const IndexArray& labels, std::size_t k)
    {
        if (scores.dimension() != 2)
            throw shape_error("top_k_accuracy: scores must be (N, C), got shape " + shape_string(scores.shape()));
        detail::check_same_length("top_k_accuracy", scores.shape()[0], labels.size());
        const std::size_t rows = scores.shape()[0], classes = scores.shape()[1];
        if (k == 0 || rows == 0)
            throw value_error("top_k_accuracy: needs k > 0 and at least one example");
        std::size_t hits = 0;
        for (std::size_t i = 0; i < rows; ++i)
        {
            const T* row = scores.data() + i * classes;
            const auto label = labels(i);
            if (label < 0 || static_cast<std::size_t>(label) >= classes)
                throw value_error("top_k_accuracy: label " + std::to_string(label) + " out of range");
            const std::size_t better = static_cast<std::size_t>(
                std::count_if(row, row + classes, [&](T s) { return s > row[label]; }));
            hits += better < k;
        }
        return static_cast<double>(hits) / static_cast<double>(rows);
    }

    // Counts of (true class, predicted class) pairs: rows are true classes, columns predictions.
    class ConfusionMatrix
    {
    public:
        ConfusionMatrix(const IndexArray& predicted, const IndexArray& labels, std::size_t num_classes)
            : counts_(xt::zeros<std::size_t>({num_classes, num_classes}))
        {
            detail::check_same_length("confusion_matrix", predicted.size(), labels.size());
            for (std::size_t i = 0; i < labels.size(); ++i)
            {
                const auto truth = labels.data()[i], guess = predicted.data()[i];
                if (truth < 0 || guess < 0 || static_cast<std::size_t>(truth) >= num_classes ||
                    static_cast<std::size_t>(guess) >= num_classes)
                    throw value_error("confusion_matrix: class " + std::to_string(truth < 0 || static_cast<std::size_t>(truth) >= num_classes ? truth : guess) +
                                      " at position " + std::to_string(i) + " is out of range for " +
                                      std::to_string(num_classes) + " classes");
                ++counts_(static_cast<std::size_t>(truth), static_cast<std::size_t>(guess));
            }
        }

        std::size_t num_classes() const { return counts_.shape()[0]; }
        std::size_t operator()(std::size_t truth, std::size_t predicted) const { return counts_(truth, predicted); }
        const xt::xarray<std::size_t>& counts() const { return counts_; }

        std::size_t true_positives(std::size_t c) const { return counts_(c, c); }
        std::size_t predicted_as(std::size_t c) const { return xt::sum(xt::view(counts_, xt::all(), c))(); }
        std::size_t support(std::size_t c) const { return xt::sum(xt::view(counts_, c, xt::all()))(); }
        std::size_t total() const { return xt::sum(counts_)(); }

        // A table with row and column headers (class names, or indices when none are given).
        std::string to_string(const std::vector<std::string>& class_names = {}) const
        {
            const std::size_t n = num_classes();
            auto name = [&](std::size_t c) { return c < class_names.size() ? class_names[c] : std::to_string(c); };
            std::size_t width = 5;
            for (std::size_t c = 0; c < n; ++c)
                width = std::max({width, name(c).size() + 1, std::to_string(support(c)).size() + 1});
            std::ostringstream out;
            const std::string corner = "true\\pred";
            out << std::setw(static_cast<int>(std::max(width, corner.size() + 1))) << corner;
            for (std::size_t c = 0; c < n; ++c)
                out << std::setw(static_cast<int>(width)) << name(c);
            out << '\n';
            for (std::size_t r = 0; r < n; ++r)
            {
                out << std::setw(static_cast<int>(std::max(width, corner.size() + 1))) << name(r);
                for (std::size_t c = 0; c < n; ++c)
                    out << std::setw(static_cast<int>(width)) << counts_(r, c);
                out << '\n';
            }
            return out.str();
        }

    private:
        xt::xarray<std::size_t> counts_;
    };

    inline std::ostream& operator<<(std::ostream& out, const ConfusionMatrix& matrix) { return out << matrix.to_string(); }

    struct ClassScores
    {
        double precision = 0, recall = 0, f1 = 0;
        std::size_t support = 0;
    };

    // Per-class precision, recall, F1 and support, and their macro (plain mean), weighted (by support) and
    // micro (pooled counts; equals accuracy for single-label data) averages.
    struct ClassificationReport
    {
        std::vector<ClassScores> per_class;
        ClassScores macro, weighted, micro;

        std::string to_string(const std::vector<std::string>& class_names = {}) const
        {
            std::ostringstream out;
            out << std::fixed << std::setprecision(4);
            out << std::setw(14) << "" << std::setw(11) << "precision" << std::setw(11) << "recall" << std::setw(11)
                << "f1" << std::setw(10) << "support" << '\n';
            auto row = [&](const std::string& name, const ClassScores& s) {
                out << std::setw(14) << name << std::setw(11) << s.precision << std::setw(11) << s.recall
                    << std::setw(11) << s.f1 << std::setw(10) << s.support << '\n';
            };
            for (std::size_t c = 0; c < per_class.size(); ++c)
                row(c < class_names.size() ? class_names[c] : std::to_string(c), per_class[c]);
            row("micro avg", micro);
            row("macro avg", macro);
            row("weighted avg", weighted);
            return out.str();
        }
    };

    inline ClassificationReport classification_report(const ConfusionMatrix& matrix)
    {
        ClassificationReport report;
        const std::size_t n = matrix.num_classes();
        const double total = static_cast<double>(matrix.total());
        std::size_t pooled_tp = 0;
        for (std::size_t c = 0; c < n; ++c)
        {
            ClassScores s;
            const double tp = static_cast<double>(matrix.true_positives(c));
            s.support = matrix.support(c);
            s.precision = detail::ratio(tp, static_cast<double>(matrix.predicted_as(c)));
            s.recall = detail::ratio(tp, static_cast<double>(s.support));
            s.f1 = detail::ratio(2.0 * s.precision * s.recall, s.precision + s.recall);
            report.per_class.push_back(s);
            pooled_tp += matrix.true_positives(c);
            const double share = detail::ratio(static_cast<double>(s.support), total);
            report.macro.precision += s.precision / static_cast<double>(n);
            report.macro.recall += s.recall / static_cast<double>(n);
            report.macro.f1 += s.f1 / static_cast<double>(n);
            report.weighted.precision += s.precision * share;
            report.weighted.recall += s.recall * share;
            report.weighted.f1 += s.f1 * share;
        }
        report.macro.support = report.weighted.support = report.micro.support = matrix.total();
        report.micro.precision = report.micro.recall = report.micro.f1 = detail::ratio(static_cast<double>(pooled_tp), total);
        return report;
    }

    inline ClassificationReport classification_report(const IndexArray& predicted, const IndexArray& labels,
                                                      std::size_t num_classes)
    {
        return classification_report(ConfusionMatrix(predicted, labels, num_classes));
    }

    // A curve over decreasing score thresholds: at thresholds[i], the examples with score >= thresholds[i]
    // are predicted positive.
    struct Curve
    {
        std::vector<double> x, y, thresholds;
    };

    namespace detail
    {
        // Cumulative true and false positives at each distinct score, highest first (ties grouped).
        struct RankedCounts
        {
            std::vector<double> true_positives, false_positives, thresholds;
            double positives = 0, negatives = 0;
        };

        template <class T>
        RankedCounts ranked_counts(const char* metric, const xt::xarray<T>& scores, const IndexArray& labels)
        {
            check_same_length(metric, scores.size(), labels.size());
            for (std::size_t i = 0; i < scores.size(); ++i)
                if (std::isnan(static_cast<double>(scores.data()[i])))
                    throw value_error(std::string(metric) + ": score " + std::to_string(i) + " is NaN");
            std::vector<std::size_t> order(scores.size());
            std::iota(order.begin(), order.end(), std::size_t(0));
            std::stable_sort(order.begin(), order.end(),
                             [&](std::size_t a, std::size_t b) { return scores.data()[a] > scores.data()[b]; });
            RankedCounts counts;
            double tp = 0, fp = 0;
            for (std::size_t i = 0; i < order.size(); ++i)
            {
                const auto label = labels.data()[order[i]];
                if (label != 0 && label != 1)
                    throw value_error(std::string(metric) + ": binary labels must be 0 or 1, got " + std::to_string(label));
                (label == 1 ? tp : fp) += 1;
                const bool last_of_tie = i + 1 == order.size() || scores.data()[order[i + 1]] != scores.data()[order[i]];
                if (last_of_tie)
                {
                    counts.true_positives.push_back(tp);
                    counts.false_positives.push_back(fp);
                    counts.thresholds.push_back(static_cast<double>(scores.data()[order[i]]));
                }
            }
            counts.positives = tp;
            counts.negatives = fp;
            return counts;
        }
    }

    // ROC curve of binary labels (0/1) against scores (higher = more positive): x = false positive rate,
    // y = true positive rate, starting at (0, 0).
    template <class T>
    Curve roc_curve(const xt::xarray<T>& scores, const IndexArray& labels)
    {
        const auto counts = detail::ranked_counts("roc_curve", scores, labels);
        if (counts.positives == 0 || counts.negatives == 0)
            throw value_error("roc_curve: needs both positive and negative examples (ROC is undefined otherwise)");
        Curve curve{{0.0}, {0.0}, {std::numeric_limits<double>::infinity()}};
        for (std::size_t i = 0; i < counts.thresholds.size(); ++i)
        {
            curve.x.push_back(counts.false_positives[i] / counts.negatives);
            curve.y.push_back(counts.true_positives[i] / counts.positives);
            curve.thresholds.push_back(counts.thresholds[i]);
        }
        return curve;
    }

    // Area under the ROC curve (trapezoids; tied scores count half), binary labels.
    template <class T>
    double roc_auc(const xt::xarray<T>& scores, const IndexArray& labels)
    {
        const Curve curve = roc_curve(scores, labels);
        double area = 0.0;
        for (std::size_t i = 1; i < curve.x.size(); ++i)
            area += (curve.x[i] - curve.x[i - 1]) * (curve.y[i] + curve.y[i - 1]) / 2.0;
        return area;
    }

    // One-vs-rest ROC-AUC of scores (N, C) against class labels, averaged over the classes (macro).
    template <class T>
    double roc_auc_ovr(const xt::xarray<T>& scores, const IndexArray& labels)
    {
        if (scores.dimension() != 2)
            throw shape_error("roc_auc_ovr: scores must be (N, C), got shape " + shape_string(scores.shape()));
        const std::size_t classes = scores.shape()[1];
        double total = 0.0;
        for (std::size_t c = 0; c < classes; ++c)
        {
            xt::xarray<T> column = xt::view(scores, xt::all(), c);
            IndexArray is_class = xt::cast<std::int64_t>(xt::equal(labels, static_cast<std::int64_t>(c)));
            total += roc_auc(column, is_class);
        }
        return total / static_cast<double>(classes);
    }

    // Precision-recall curve of binary labels against scores: x = recall, y = precision, by decreasing
    // threshold, ending at (recall 1) as the lowest threshold is reached.
    template <class T>
    Curve precision_recall_curve(const xt::xarray<T>& scores, const IndexArray& labels)
    {
        const auto counts = detail::ranked_counts("precision_recall_curve", scores, labels);
        if (counts.positives == 0)
            throw value_error("precision_recall_curve: needs at least one positive example");
        Curve curve;
        for (std::size_t i = 0; i < counts.thresholds.size(); ++i)
        {
            curve.x.push_back(counts.true_positives[i] / counts.positives);
            curve.y.push_back(counts.true_positives[i] / (counts.true_positives[i] + counts.false_positives[i]));
            curve.thresholds.push_back(counts.thresholds[i]);
        }
        return curve;
    }

    // Average precision: sum over thresholds of (R_n - R_{n-1}) P_n, as sklearn's average_precision_score.
    template <class T>
    double average_precision(const xt::xarray<T>& scores, const IndexArray& labels)
    {
        const Curve curve = precision_recall_curve(scores, labels);
        double ap = 0.0, previous_recall = 0.0;
        for (std::size_t i = 0; i < curve.x.size(); ++i)
        {
            ap += (curve.x[i] - previous_recall) * curve.y[i];
            previous_recall = curve.x[i];
        }
        return ap;
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_METRICS_CLASSIFICATION_TEMPLATES(EXTERN, T)                                                             \
    EXTERN template IndexArray metrics::argmax<T>(const xt::xarray<T>&);                                              \
    EXTERN template double metrics::accuracy<T>(const xt::xarray<T>&, const IndexArray&);                             \
    EXTERN template double metrics::top_k_accuracy<T>(const xt::xarray<T>&, const IndexArray&, std::size_t);          \
    EXTERN template metrics::Curve metrics::roc_curve<T>(const xt::xarray<T>&, const IndexArray&);                    \
    EXTERN template double metrics::roc_auc<T>(const xt::xarray<T>&, const IndexArray&);                              \
    EXTERN template double metrics::roc_auc_ovr<T>(const xt::xarray<T>&, const IndexArray&);                          \
    EXTERN template metrics::Curve metrics::precision_recall_curve<T>(const xt::xarray<T>&, const IndexArray&);       \
    EXTERN template double metrics::average_precision<T>(const xt::xarray<T>&, const IndexArray&);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_METRICS_CLASSIFICATION_TEMPLATES)
}
