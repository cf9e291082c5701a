// Metrics on small cases computed by hand (the arithmetic is in the comments): accuracy and top-k, the
// confusion matrix and its printout, precision/recall/F1 with a class never predicted, ROC and PR curves
// with tied scores, ROC-AUC (binary and one-vs-rest), average precision, MSE/MAE/R².
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <xgrad/metrics.hpp>
#include <xgrad/xgrad.hpp>

using namespace xgrad;

TEST_CASE("accuracy, from labels and from scores")
{
    // predicted 0 1 2 1 0 / labels 0 2 2 1 1: positions 0, 2, 3 agree -> 3/5
    CHECK(metrics::accuracy(IndexArray{0, 1, 2, 1, 0}, IndexArray{0, 2, 2, 1, 1}) == doctest::Approx(0.6));
    // arg-max per row: 1, 0, 0 (a tie goes to the first class) against labels 1, 1, 0 -> 2/3
    const xt::xarray<float> scores{{0.1f, 0.9f}, {0.8f, 0.2f}, {0.5f, 0.5f}};
    CHECK(metrics::argmax(scores) == IndexArray{1, 0, 0});
    CHECK(metrics::accuracy(scores, IndexArray{1, 1, 0}) == doctest::Approx(2.0 / 3.0));

    CHECK_THROWS_AS(metrics::accuracy(IndexArray{0, 1}, IndexArray{0}), shape_error);
    CHECK_THROWS_AS(metrics::accuracy(IndexArray::from_shape({0}), IndexArray::from_shape({0})), value_error);
    CHECK_THROWS_AS(metrics::argmax(xt::xarray<float>::from_shape({2, 0})), shape_error);
    CHECK_THROWS_AS(metrics::argmax(xt::xarray<float>{1.0f, 2.0f}), shape_error);
}

TEST_CASE("top-k accuracy, ties at the k-th score count as hits")
{
    const xt::xarray<double> scores{
        {0.1, 0.5, 0.3, 0.1},   // label 2: one score (0.5) above it -> a hit from k = 2
        {0.4, 0.1, 0.2, 0.3},   // label 0: none above -> a hit from k = 1
        {0.2, 0.2, 0.2, 0.4},   // label 1: one above (0.4), two tied with it -> a hit from k = 2
        {0.0, 0.1, 0.2, 0.7},   // label 0: three above -> a hit only at k = 4
    };
    const IndexArray labels{2, 0, 1, 0};
    CHECK(metrics::top_k_accuracy(scores, labels, 1) == doctest::Approx(0.25));
    CHECK(metrics::top_k_accuracy(scores, labels, 2) == doctest::Approx(0.75));
    CHECK(metrics::top_k_accuracy(scores, labels, 3) == doctest::Approx(0.75));
    CHECK(metrics::top_k_accuracy(scores, labels, 4) == doctest::Approx(1.0));
    CHECK(metrics::top_k_accuracy(scores, labels, 10) == doctest::Approx(1.0));

    CHECK_THROWS_AS(metrics::top_k_accuracy(scores, labels, 0), value_error);
    CHECK_THROWS_AS(metrics::top_k_accuracy(scores, IndexArray{2, 0, 1, 4}, 1), value_error);
    CHECK_THROWS_AS(metrics::top_k_accuracy(scores, IndexArray{2, 0, 1, -1}, 1), value_error);
    CHECK_THROWS_AS(metrics::top_k_accuracy(scores, IndexArray{2, 0, 1}, 1), shape_error);
    CHECK_THROWS_AS(metrics::top_k_accuracy(xt::xarray<double>{0.1, 0.9}, IndexArray{1, 0}, 1), shape_error);
}

namespace
{
    // 3 classes; class 2 is never predicted.
    //   labels    0 0 0 1 1 2 2
    //   predicted 0 0 1 1 0 1 0
    // rows = true class, columns = prediction:
    //   true 0: 2 1 0     true 1: 1 1 0     true 2: 1 1 0
    const IndexArray labels7{0, 0, 0, 1, 1, 2, 2};
    const IndexArray predicted7{0, 0, 1, 1, 0, 1, 0};
}

TEST_CASE("confusion matrix: counts, totals, printout")
{
    const metrics::ConfusionMatrix matrix(predicted7, labels7, 3);
    CHECK(matrix.counts() == xt::xarray<std::size_t>{{2, 1, 0}, {1, 1, 0}, {1, 1, 0}});
    CHECK(matrix(0, 1) == 1);
    CHECK(matrix.true_positives(0) == 2);
    CHECK(matrix.predicted_as(0) == 4);
    CHECK(matrix.predicted_as(2) == 0);
    CHECK(matrix.support(0) == 3);
    CHECK(matrix.support(2) == 2);
    CHECK(matrix.total() == 7);

    // Column width: the widest of 5, a name + 1 and a count + 1; the row-header column fits "true\pred".
    const std::string expected = " true\\pred  cat  dog bird\n"
                                 "       cat    2    1    0\n"
                                 "       dog    1    1    0\n"
                                 "      bird    1    1    0\n";
    CHECK(matrix.to_string({"cat", "dog", "bird"}) == expected);
    std::ostringstream printed;
    printed << matrix;
    CHECK(printed.str() == " true\\pred    0    1    2\n"
                           "         0    2    1    0\n"
                           "         1    1    1    0\n"
                           "         2    1    1    0\n");

    CHECK_THROWS_AS(metrics::ConfusionMatrix(IndexArray{0, 3}, IndexArray{0, 1}, 3), value_error);
    CHECK_THROWS_AS(metrics::ConfusionMatrix(IndexArray{0, 1}, IndexArray{-1, 1}, 3), value_error);
    CHECK_THROWS_AS(metrics::ConfusionMatrix(IndexArray{0, 1}, IndexArray{0}, 3), shape_error);
}

TEST_CASE("classification report: a class never predicted has precision 0, never NaN")
{
    const auto report = metrics::classification_report(predicted7, labels7, 3);
    REQUIRE(report.per_class.size() == 3);
    // precision = tp / predicted: 2/4, 1/3, 0/0 -> 0;   recall = tp / support: 2/3, 1/2, 0/2
    CHECK(report.per_class[0].precision == doctest::Approx(0.5));
    CHECK(report.per_class[1].precision == doctest::Approx(1.0 / 3.0));
    CHECK(report.per_class[2].precision == 0.0);
    CHECK(report.per_class[0].recall == doctest::Approx(2.0 / 3.0));
    CHECK(report.per_class[1].recall == doctest::Approx(0.5));
    CHECK(report.per_class[2].recall == 0.0);
    // f1 = 2 p r / (p + r): 2 (1/2)(2/3) / (7/6) = 4/7;  2 (1/3)(1/2) / (5/6) = 2/5;  0 (p + r = 0)
    CHECK(report.per_class[0].f1 == doctest::Approx(4.0 / 7.0));
    CHECK(report.per_class[1].f1 == doctest::Approx(0.4));
    CHECK(report.per_class[2].f1 == 0.0);
    CHECK(report.per_class[0].support == 3);
    for (const auto& s : report.per_class)
        CHECK_FALSE((std::isnan(s.precision) || std::isnan(s.recall) || std::isnan(s.f1)));

    // macro: plain means: p (1/2 + 1/3 + 0) / 3 = 5/18;  r (2/3 + 1/2 + 0) / 3 = 7/18;  f1 (4/7 + 2/5) / 3 = 34/105
    CHECK(report.macro.precision == doctest::Approx(5.0 / 18.0));
    CHECK(report.macro.recall == doctest::Approx(7.0 / 18.0));
    CHECK(report.macro.f1 == doctest::Approx(34.0 / 105.0));
    // weighted by support 3, 2, 2 of 7: p (3/2 + 2/3) / 7 = 13/42;  r (2 + 1) / 7 = 3/7;  f1 (12/7 + 4/5) / 7 = 88/245
    CHECK(report.weighted.precision == doctest::Approx(13.0 / 42.0));
    CHECK(report.weighted.recall == doctest::Approx(3.0 / 7.0));
    CHECK(report.weighted.f1 == doctest::Approx(88.0 / 245.0));
    // micro: pooled tp 3 of 7 = accuracy
    CHECK(report.micro.precision == doctest::Approx(3.0 / 7.0));
    CHECK(report.micro.recall == doctest::Approx(3.0 / 7.0));
    CHECK(report.micro.f1 == doctest::Approx(metrics::accuracy(predicted7, labels7)));
    CHECK(report.macro.support == 7);

    const std::string text = report.to_string({"cat", "dog", "bird"});
    CHECK(text.find("precision") != std::string::npos);
    CHECK(text.find("bird") != std::string::npos);
    CHECK(text.find("macro avg") != std::string::npos);
    CHECK(text.find("nan") == std::string::npos);

    // No examples of a class at all (class 3): recall 0, precision 0, no NaN anywhere.
    const auto sparse = metrics::classification_report(IndexArray{0, 1}, IndexArray{0, 1}, 4);
    CHECK(sparse.per_class[3].precision == 0.0);
    CHECK(sparse.per_class[3].recall == 0.0);
    CHECK(sparse.macro.precision == doctest::Approx(0.5));
}

namespace
{
    // Scores with ties, highest first:   0.9  0.8  0.8  0.7  0.6  0.6  0.3
    //                          labels:     1    1    0    1    0    0    1      (4 positives, 3 negatives)
    // Cumulative at each distinct threshold:
    //   >= 0.9: tp 1 fp 0;  >= 0.8: tp 2 fp 1;  >= 0.7: tp 3 fp 1;  >= 0.6: tp 3 fp 3;  >= 0.3: tp 4 fp 3
    const xt::xarray<double> tied_scores{0.8, 0.9, 0.6, 0.7, 0.3, 0.8, 0.6};
    const IndexArray tied_labels{1, 1, 0, 1, 1, 0, 0};
}

TEST_CASE("ROC curve and AUC with tied scores")
{
    const auto curve = metrics::roc_curve(tied_scores, tied_labels);
    // fpr = fp / 3, tpr = tp / 4, from (0, 0) at threshold +inf
    const std::vector<double> fpr{0.0, 0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0, 1.0};
    const std::vector<double> tpr{0.0, 0.25, 0.5, 0.75, 0.75, 1.0};
    REQUIRE(curve.x.size() == fpr.size());
    for (std::size_t i = 0; i < fpr.size(); ++i)
    {
        CHECK(curve.x[i] == doctest::Approx(fpr[i]));
        CHECK(curve.y[i] == doctest::Approx(tpr[i]));
    }
    CHECK(std::isinf(curve.thresholds[0]));
    CHECK(curve.thresholds[2] == 0.8);   // the tie is one point, not two
    CHECK(curve.thresholds.back() == 0.3);

    // Trapezoids: 1/3 * (1/4 + 1/2) / 2 + 2/3 * 3/4 = 0.125 + 0.5 = 0.625.  Mann-Whitney agrees: of the 12
    // (positive, negative) pairs, 0.9 beats 3, 0.8 beats 2 and ties 1 (2.5), 0.7 beats 2, 0.3 beats 0: 7.5 / 12.
    CHECK(metrics::roc_auc(tied_scores, tied_labels) == doctest::Approx(0.625));
    // Float scores give the same.
    CHECK(metrics::roc_auc(xt::xarray<float>(xt::cast<float>(tied_scores)), tied_labels) == doctest::Approx(0.625));
    // All scores tied: the diagonal, 0.5.
    CHECK(metrics::roc_auc(xt::xarray<double>{0.5, 0.5, 0.5, 0.5}, IndexArray{0, 1, 1, 0}) == doctest::Approx(0.5));
    // Perfect and reversed rankings.
    CHECK(metrics::roc_auc(xt::xarray<double>{0.1, 0.9, 0.8, 0.2}, IndexArray{0, 1, 1, 0}) == doctest::Approx(1.0));
    CHECK(metrics::roc_auc(xt::xarray<double>{0.9, 0.1, 0.2, 0.8}, IndexArray{0, 1, 1, 0}) == doctest::Approx(0.0));
}

TEST_CASE("ROC of a single class, non-binary labels, length mismatch -> errors")
{
    const xt::xarray<double> scores{0.1, 0.4, 0.35};
    CHECK_THROWS_AS(metrics::roc_curve(scores, IndexArray{1, 1, 1}), value_error);
    CHECK_THROWS_AS(metrics::roc_auc(scores, IndexArray{0, 0, 0}), value_error);
    CHECK_THROWS_AS(metrics::roc_auc(scores, IndexArray{0, 2, 1}), value_error);
    CHECK_THROWS_AS(metrics::roc_auc(scores, IndexArray{0, 1}), shape_error);
    CHECK_THROWS_AS(metrics::precision_recall_curve(scores, IndexArray{0, 0, 0}), value_error);
    CHECK_THROWS_AS(metrics::average_precision(scores, IndexArray{0, 0, 0}), value_error);
    // One-vs-rest with a class absent from the labels: its ROC is undefined.
    CHECK_THROWS_AS(metrics::roc_auc_ovr(xt::xarray<double>{{0.2, 0.8, 0.0}, {0.7, 0.3, 0.0}}, IndexArray{1, 0}),
                    value_error);
}

TEST_CASE("precision-recall curve and average precision with tied scores")
{
    const auto curve = metrics::precision_recall_curve(tied_scores, tied_labels);
    // recall = tp / 4; precision = tp / (tp + fp): 1/1, 2/3, 3/4, 3/6, 4/7
    const std::vector<double> recall{0.25, 0.5, 0.75, 0.75, 1.0};
    const std::vector<double> precision{1.0, 2.0 / 3.0, 0.75, 0.5, 4.0 / 7.0};
    REQUIRE(curve.x.size() == recall.size());
    for (std::size_t i = 0; i < recall.size(); ++i)
    {
        CHECK(curve.x[i] == doctest::Approx(recall[i]));
        CHECK(curve.y[i] == doctest::Approx(precision[i]));
    }
    // AP = sum (R_n - R_{n-1}) P_n = 1/4 (1 + 2/3 + 3/4 + 4/7) + 0 * 1/2 = 251/336 = 0.74702...
    CHECK(metrics::average_precision(tied_scores, tied_labels) == doctest::Approx(251.0 / 336.0));
    // Only positives: precision 1 everywhere, AP 1.
    CHECK(metrics::average_precision(xt::xarray<double>{0.3, 0.2}, IndexArray{1, 1}) == doctest::Approx(1.0));
}

TEST_CASE("one-vs-rest ROC-AUC averages the classes")
{
    // labels 0 0 1 1 2 2.  Column 0 ranks its class above all others (AUC 1), column 1 too (AUC 1), column 2
    // ranks its class below all others (AUC 0): the mean is 2/3.
    const xt::xarray<double> scores{{0.9, 0.05, 0.05}, {0.8, 0.1, 0.1}, {0.1, 0.7, 0.2},
                                    {0.2, 0.6, 0.2},   {0.3, 0.2, 0.0}, {0.1, 0.3, 0.01}};
    CHECK(metrics::roc_auc_ovr(scores, IndexArray{0, 0, 1, 1, 2, 2}) == doctest::Approx(2.0 / 3.0));
    CHECK_THROWS_AS(metrics::roc_auc_ovr(xt::xarray<double>{0.1, 0.2}, IndexArray{0, 1}), shape_error);
}

TEST_CASE("MSE, MAE and R² (scikit-learn's documented example)")
{
    // predicted 2.5 0 2 8 / target 3 -0.5 2 7: errors -0.5 0.5 0 1
    //   MSE = (0.25 + 0.25 + 0 + 1) / 4 = 0.375;  MAE = (0.5 + 0.5 + 0 + 1) / 4 = 0.5
    //   mean target 2.875: SS_tot = 0.125^2 + 3.375^2 + 0.875^2 + 4.125^2 = 29.1875;  SS_res = 1.5
    //   R² = 1 - 1.5 / 29.1875 = 0.948608137...
    const xt::xarray<double> predicted{2.5, 0.0, 2.0, 8.0}, target{3.0, -0.5, 2.0, 7.0};
    CHECK(metrics::mean_squared_error(predicted, target) == doctest::Approx(0.375));
    CHECK(metrics::mean_absolute_error(predicted, target) == doctest::Approx(0.5));
    CHECK(metrics::r2_score(predicted, target) == doctest::Approx(0.9486081370449679));
    const xt::xarray<float> predicted32 = xt::cast<float>(predicted), target32 = xt::cast<float>(target);
    CHECK(metrics::mean_squared_error(predicted32, target32) == doctest::Approx(0.375));
    CHECK(metrics::r2_score(predicted32, target32) == doctest::Approx(0.9486081370449679));
    // 2-D works element-wise.
    CHECK(metrics::mean_absolute_error(xt::xarray<double>{{1.0, 2.0}, {3.0, 4.0}},
                                       xt::xarray<double>{{1.0, 0.0}, {3.0, 8.0}}) == doctest::Approx(1.5));

    // A constant target: 1 for a perfect fit, else 0 (no division by zero).
    CHECK(metrics::r2_score(xt::xarray<double>{5.0, 5.0}, xt::xarray<double>{5.0, 5.0}) == 1.0);
    CHECK(metrics::r2_score(xt::xarray<double>{4.0, 6.0}, xt::xarray<double>{5.0, 5.0}) == 0.0);
    // Worse than predicting the mean: negative.
    CHECK(metrics::r2_score(xt::xarray<double>{3.0, 1.0}, xt::xarray<double>{1.0, 3.0}) == doctest::Approx(-3.0));

    CHECK_THROWS_AS(metrics::mean_squared_error(xt::xarray<double>{1.0, 2.0}, xt::xarray<double>{1.0}), shape_error);
    CHECK_THROWS_AS(metrics::mean_absolute_error(xt::xarray<double>{{1.0, 2.0}}, xt::xarray<double>{1.0, 2.0}),
                    shape_error);
    CHECK_THROWS_AS(metrics::r2_score(xt::xarray<double>::from_shape({0}), xt::xarray<double>::from_shape({0})),
                    shape_error);
}
