// The pictures: viz/plot.hpp's charts (nice ticks, legends beside the data, heatmaps, bars), the training report
// (train/report.hpp) and gradient flow (train/gradient_flow.hpp).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;
using xgrad_test::check_error;
using xgrad_test::TempDir;

namespace
{
    std::size_t occurrences(const std::string& text, const std::string& part)
    {
        std::size_t count = 0;
        for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
            ++count;
        return count;
    }

    // The numbers of every attribute `name='...'` in the SVG, in order.
    std::vector<double> attribute_values(const std::string& svg, const std::string& name)
    {
        std::vector<double> values;
        const std::string key = " " + name + "='";
        for (std::size_t at = svg.find(key); at != std::string::npos; at = svg.find(key, at + 1))
            values.push_back(std::stod(svg.substr(at + key.size())));
        return values;
    }
}

TEST_CASE("axes get nice ticks: 1, 2, 2.5 or 5 times a power of ten, labelled with the decimals they need")
{
    // The learning curve of the issue: losses from 0.4575 to 0.5673 were ticked at unrounded values.
    const viz::detail::Axis loss = viz::detail::linear_axis(0.4575, 0.5673, false);
    REQUIRE(loss.ticks.size() >= 3);
    CHECK(loss.ticks.size() <= 7);
    const double step = loss.ticks[1] - loss.ticks[0];
    CHECK(step == doctest::Approx(0.025));
    for (std::size_t i = 0; i < loss.ticks.size(); ++i)
    {
        CHECK(loss.ticks[i] >= 0.4575);
        CHECK(loss.ticks[i] <= 0.5673);
        CHECK(std::abs(loss.ticks[i] / step - std::round(loss.ticks[i] / step)) < 1e-9);
        CHECK(std::stod(loss.labels[i]) == doctest::Approx(loss.ticks[i]));
        CHECK(loss.labels[i].size() <= 5);   // "0.475": three decimals for a step of 0.025, no more
    }
    CHECK(viz::detail::linear_axis(0.0, 1.0, false).labels ==
          std::vector<std::string>{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"});
    // Whole numbers (epochs) keep whole steps: 1, 2, 3, not 1.5.
    CHECK(viz::detail::linear_axis(1, 3, true).labels == std::vector<std::string>{"1", "2", "3"});
    CHECK(viz::detail::linear_axis(1, 10, true).labels == std::vector<std::string>{"2", "4", "6", "8", "10"});
    CHECK(viz::detail::linear_axis(0, 12, true).labels == std::vector<std::string>{"0", "5", "10"});
    // Zero is "0", never "-0.0" or 1e-17.
    const auto across_zero = viz::detail::linear_axis(-0.3, 0.3, false).labels;
    CHECK(std::find(across_zero.begin(), across_zero.end(), "0.0") != across_zero.end());
    CHECK(std::find(across_zero.begin(), across_zero.end(), "-0.0") == across_zero.end());
    CHECK(viz::detail::tick_label(2e6, 5e5) == "2e6");
    CHECK(viz::detail::tick_label(2.5e-5, 5e-6) == "2.5e-5");
    CHECK(viz::detail::tick_label(1500, 500) == "1500");
    // Logarithmic axes: the powers of ten, or 1-2-5 when fewer than two powers fit.
    CHECK(viz::detail::log_axis(3e-4, 2.0).labels == std::vector<std::string>{"0.001", "0.01", "0.1", "1"});
    CHECK(viz::detail::log_axis(1e-8, 1e-5).labels == std::vector<std::string>{"1e-8", "1e-7", "1e-6", "1e-5"});
    CHECK(viz::detail::log_axis(1.5, 30).labels == std::vector<std::string>{"2", "5", "10", "20"});
    CHECK(viz::detail::log_axis(10, 320).labels == std::vector<std::string>{"10", "20", "50", "100", "200"});
}

TEST_CASE("a line chart's legend stands beside the plot, clear of every line")
{
    viz::LineChart chart{"Loss", "epoch", "cross-entropy (nats)",
                         {{"training", {0.5673, 0.4575, 0.41, 0.39}}, {"validation", {0.52, 0.47, 0.45, 0.452}}}};
    const std::string svg = viz::to_svg({chart});
    // The polylines' points lie left of the legend's swatches (the legend's lines are the last two <line>s).
    double rightmost_point = 0;
    for (std::size_t at = svg.find("points='"); at != std::string::npos; at = svg.find("points='", at + 1))
    {
        std::istringstream points(svg.substr(at + 8, svg.find('\'', at + 8) - at - 8));
        std::string point;
        while (points >> point)
            rightmost_point = std::max(rightmost_point, std::stod(point.substr(0, point.find(','))));
    }
    const std::vector<double> line_starts = attribute_values(svg, "x1");
    REQUIRE(line_starts.size() >= 2);
    CHECK(rightmost_point < line_starts[line_starts.size() - 2]);
    CHECK(rightmost_point < line_starts.back());
    CHECK(svg.find(">training</text>") != std::string::npos);
    CHECK(svg.find(">cross-entropy (nats)</text>") != std::string::npos);
    // Text is escaped for SVG and HTML.
    chart.title = "loss < 1 & falling";
    CHECK(viz::to_svg({chart}).find("loss &lt; 1 &amp; falling") != std::string::npos);
    // Charts in a grid: three charts two to a row make an SVG two charts wide and two high.
    const std::string grid = viz::to_svg({chart, chart, chart}, 300, 200, 2);
    CHECK(grid.find("width='600' height='400'") != std::string::npos);
}

TEST_CASE("a series may have its own non-decreasing x (ROC curves), and fixed axis ends widen to the data")
{
    viz::LineChart roc;
    roc.title = "ROC";
    roc.x_min = roc.y_min = 0;
    roc.x_max = roc.y_max = 1;
    roc.series = {{"model", {0.0, 0.6, 0.9, 1.0}, {}, {0.0, 0.0, 0.2, 1.0}}, {"chance", {0, 1}, {}, {0, 1}, "#999999"}};
    const std::string svg = viz::to_svg({roc});
    CHECK(svg.find("stroke='#999999'") != std::string::npos);
    CHECK(svg.find(">1.0</text>") != std::string::npos);   // the fixed end is a tick
    roc.series[0].x = {0.0, 0.3, 0.2, 1.0};
    check_error<value_error>([&] { viz::to_svg({roc}); }, {"LineChart 'ROC'", "non-decreasing"});
    roc.series[0].x = {0.0, 1.0};
    check_error<value_error>([&] { viz::to_svg({roc}); }, {"LineChart 'ROC'", "2 x values for 4 points of 'model'"});
}

TEST_CASE("a heatmap writes each count in its cell and shades by the share of its row")
{
    viz::Heatmap confusion{"Confusion", "predicted", "true", {"cat", "dog"}, {"cat", "dog"}, {{90, 10}, {30, 70}}, true,
                           0};
    const std::string svg = viz::to_svg(confusion);
    for (const char* count : {">90<", ">10<", ">30<", ">70<"})
        CHECK(svg.find(count) != std::string::npos);
    CHECK(svg.find("cat → dog: 10 (10.0% of the row)") != std::string::npos);
    CHECK(svg.find(viz::detail::shade(0.9)) != std::string::npos);   // 90 of the cat row's 100
    CHECK(svg.find(viz::detail::shade(0.7)) != std::string::npos);
    CHECK(viz::detail::shade(0.0) == "rgb(247,251,255)");
    CHECK(viz::detail::shade(1.0) == "rgb(8,48,107)");
    confusion.values[1].push_back(1);
    check_error<value_error>([&] { viz::to_svg(confusion); }, {"Heatmap 'Confusion'", "row 1 has 3 values, not 2"});
    confusion.values[1] = {NAN, 1};
    check_error<value_error>([&] { viz::to_svg(confusion); }, {"Heatmap 'Confusion'", "finite"});
    confusion.row_names.pop_back();
    check_error<value_error>([&] { viz::to_svg(confusion); }, {"1 row names and 2 column names"});
}

TEST_CASE("a bar chart draws a bar per series and category, from a zero baseline")
{
    const viz::BarChart bars{"Scores", "class", "score", {"a", "b", "c"},
                             {{"precision", {0.5, 1.0, 0.25}}, {"recall", {0.75, 0.5, 1.0}}}, 0.0, 1.0};
    const std::string svg = viz::to_svg(bars);
    CHECK(occurrences(svg, "</title></rect>") == 6);
    CHECK(svg.find("b, precision: 1<") != std::string::npos);
    CHECK(svg.find(">0.00</text>") != std::string::npos);   // the baseline's tick
    viz::BarChart short_series = bars;
    short_series.series[1].values.pop_back();
    check_error<value_error>([&] { viz::to_svg(short_series); }, {"BarChart 'Scores'", "'recall' has 2 values for 3"});
}

TEST_CASE("the charts of examples 14-16: a scatter by group, an image grid, line charts on log scales")
{
    const viz::ScatterChart scatter{"codes", "x", "y", {0., 1., 2.}, {1., 0., 1.}, {0, 1, 1}, {"a", "b"}};
    const std::string scatter_svg = viz::to_svg(scatter);
    CHECK(occurrences(scatter_svg, "<circle") == 3 + 2);   // the points and the legend's two groups
    check_error<value_error>([&] { viz::to_svg(viz::ScatterChart{"bad", "x", "y", {0., 1.}, {1.}, {0, 0}, {}}); },
                             {"ScatterChart 'bad'", "2 x, 1 y"});

    viz::ImageGrid grid{"pictures", 2, 2, 2, {{0., 1., 0.5, 0.}, {1., 1., 1., 1.}}, {"row"}};
    const std::string grid_svg = viz::to_svg(grid);
    CHECK(grid_svg.find("fill='rgb(255,255,255)'") != std::string::npos);
    CHECK(grid_svg.find("fill='rgb(128,128,128)'") != std::string::npos);   // 0.5 is mid grey
    grid.images.push_back({0.});
    check_error<value_error>([&] { viz::to_svg(grid); }, {"ImageGrid 'pictures'", "1 values", "2 × 2"});

    viz::LineChart curve;
    curve.title = "errors";
    curve.series = {{"validation", {0.5, 0.1, 0.4}, {0.1, 0.05, 0.3}}};
    curve.x = {1., 2., 4.};
    curve.log_x = curve.log_y = true;
    curve.markers = {{2., "best"}};
    const std::string curve_svg = viz::to_svg({curve});
    CHECK(curve_svg.find("<polygon") != std::string::npos);   // the spread band
    CHECK(curve_svg.find(">best</text>") != std::string::npos);
    curve.x = {1., 1., 4.};
    check_error<value_error>([&] { viz::to_svg({curve}); }, {"LineChart 'errors'", "increasing"});
    curve.x = {1., 2., 4.};
    curve.series[0].values[1] = 0.;
    check_error<value_error>([&] { viz::to_svg({curve}); }, {"LineChart 'errors'", "positive"});
}

namespace
{
    // Three classes told apart by the sign of two features: a task a small MLP learns in a few epochs.
    struct ToyTask
    {
        data::TensorDataset<double> set;
        static ToyTask make(std::size_t n)
        {
            Generator rng(5);
            const xt::xarray<double> x = randn<double>({n, std::size_t(2)}, rng).value();
            IndexArray labels = xt::zeros<std::int64_t>({n});
            for (std::size_t i = 0; i < n; ++i)
                labels(i) = x(i, 0) < 0 ? 0 : x(i, 1) < 0 ? 1 : 2;
            return {data::TensorDataset<double>(x, labels)};
        }
    };

    nn::Sequential<double> toy_model()
    {
        manual_seed(3);
        return nn::Sequential<double>(nn::Linear<double>(2, 16), nn::ReLU<double>(), nn::Linear<double>(16, 3));
    }

    auto loss_of = [](const Tensor<double>& logits, const IndexArray& labels) { return cross_entropy(logits, labels); };
}

TEST_CASE("the training report: curves, confusion matrix, bars, ROC curves, model, settings, timing, top ops")
{
    const ToyTask task = ToyTask::make(300);
    nn::Sequential<double> model = toy_model();
    optim::Adam<double> optimizer(model.parameters(), optim::AdamOptions(0.05));
    data::DataLoader<double> loader(task.set, {32, true, false, 1});
    data::DataLoader<double> held_out(task.set, {100});
    const TempDir directory;
    const std::string path = (directory.path / "report.html").string();

    train::TrainingReportOptions report_options;
    report_options.title = "Toy <run>";
    report_options.class_names = {"left", "right & low", "right & high"};
    report_options.hyperparameters = {{"optimizer", "Adam"}};
    report_options.profiled_epochs = 1;
    auto report = std::make_shared<train::TrainingReport<double>>(model, path, &held_out, report_options);
    train::FitOptions<double, IndexArray> options;
    options.epochs = 4;
    options.validation = &held_out;
    options.callbacks = {report};
    const auto history = train::fit(model, loss_of, optimizer, loader, options);

    const train::ReportContents& contents = report->contents();
    REQUIRE(contents.history.size() == 4);
    REQUIRE(contents.timing.size() == 4);
    CHECK(contents.timing[0].examples == 300);
    CHECK(contents.timing[0].seconds > 0);
    REQUIRE(contents.evaluation.has_value());
    CHECK(contents.evaluation->scores.shape() == std::vector<std::size_t>{300, 3});
    {   // the scores are the model's, row for row, in the loader's order (unshuffled)
        NoGradGuard no_grad;
        model.eval();
        const xt::xarray<double> expected = model(task.set.get_batch({0, 299}).inputs).value();
        for (std::size_t c = 0; c < 3; ++c)
        {
            CHECK(contents.evaluation->scores(0, c) == doctest::Approx(expected(0, c)).epsilon(1e-12));
            CHECK(contents.evaluation->scores(299, c) == doctest::Approx(expected(1, c)).epsilon(1e-12));
        }
        CHECK(contents.evaluation->labels(299) == task.set.get_batch({299}).targets(0));
    }
    CHECK(!contents.top_ops.empty());   // the first epoch was profiled
    CHECK(contents.model_summary.find("Linear(in_features=2, out_features=16") != std::string::npos);

    std::ifstream file(path);
    REQUIRE(file.good());
    const std::string html((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    for (const char* fetches : {"<script", "<link", "src=", "href=", "url(", "@import"})   // nothing runs or is fetched
        CHECK(html.find(fetches) == std::string::npos);
    CHECK(html.find("<title>Toy &lt;run&gt;</title>") != std::string::npos);
    CHECK(occurrences(html, "<svg") == 6);   // loss, accuracy, speed, confusion, bars, ROC (the lr did not change)
    CHECK(html.find("Confusion matrix (test set)") != std::string::npos);
    CHECK(html.find("right &amp; low") != std::string::npos);
    CHECK(html.find("ROC curves, each class against the rest") != std::string::npos);
    CHECK(html.find("Where the time went (profiler)") != std::string::npos);
    CHECK(html.find("<td>optimizer</td><td>Adam</td>") != std::string::npos);
    // The counts of the heatmap are those of the confusion matrix.
    const IndexArray predicted = metrics::argmax(contents.evaluation->scores);
    const metrics::ConfusionMatrix matrix(predicted, contents.evaluation->labels, 3);
    CHECK(html.find("left → left: " + std::to_string(matrix(0, 0))) != std::string::npos);
    const double accuracy = metrics::accuracy(predicted, contents.evaluation->labels);
    CHECK(html.find(viz::detail::fixed(100 * accuracy, 2) + "%") != std::string::npos);
    CHECK(accuracy > 0.8);
}

TEST_CASE("the report by hand: a binary task gets one ROC curve; bad contents get typed errors")
{
    train::ReportContents contents;
    contents.history = {{{"epoch", 1}, {"loss", 0.7}}, {{"epoch", 2}, {"loss", 0.5}}};
    train::ClassifierEvaluation evaluation;
    evaluation.scores = xt::xarray<double>{{0.9, 0.1}, {0.2, 0.8}, {0.6, 0.4}, {0.3, 0.7}};
    evaluation.labels = IndexArray{0, 1, 1, 1};
    evaluation.data_name = "validation set";
    contents.evaluation = evaluation;
    const std::string html = train::training_report_html(contents);
    CHECK(html.find("ROC curve</text>") != std::string::npos);
    CHECK(html.find("1 (AUC 1.000)") != std::string::npos);   // class 1's scores rank every positive first
    CHECK(html.find("Confusion matrix (validation set)") != std::string::npos);
    CHECK(html.find("Learning rate") == std::string::npos);   // not logged

    contents.evaluation->scores = xt::zeros<double>({4, 1});
    check_error<shape_error>([&] { train::training_report_html(contents); }, {"(N, C) with C ≥ 2", "(-z, z)"});
    contents.evaluation->scores = xt::xarray<double>{{0.9, 0.1}, {0.2, 0.8}};
    check_error<shape_error>([&] { train::training_report_html(contents); }, {"4 labels for 2 rows"});
    contents.evaluation->scores = xt::xarray<double>{{0.9, 0.1}, {0.2, 0.8}, {0.6, 0.4}, {0.3, 0.7}};
    contents.evaluation->class_names = {"only one"};
    check_error<value_error>([&] { train::training_report_html(contents); }, {"1 class names for 2 classes"});
    contents.evaluation->class_names.clear();
    contents.evaluation->scores(2, 1) = NAN;
    check_error<value_error>([&] { train::training_report_html(contents); }, {"scores must be finite, row 2", "nan"});
    contents.evaluation.reset();
    check_error<io_error>([&] { train::write_training_report("/nonexistent-directory/report.html", contents); },
                          {"write_training_report", "/nonexistent-directory/report.html"});
    contents.history.clear();
    check_error<value_error>([&] { train::training_report_html(contents); }, {"no epoch"});
}

TEST_CASE("gradient flow records each layer's gradient norm, weight norm and update size at the steps asked")
{
    manual_seed(11);
    nn::Sequential<double> model(nn::Linear<double>(3, 4), nn::Sigmoid<double>(), nn::Linear<double>(4, 2));
    train::GradientFlowOptions flow_options;
    flow_options.every = 2;
    flow_options.histogram_steps = {1, 4};
    train::GradientFlow<double> flow(model, flow_options);
    REQUIRE(flow.layers().size() == 2);   // the two weights; biases are left out
    CHECK(flow.layers()[0].name == "layer 1 (0.weight)");
    CHECK(flow.layers()[1].name == "layer 2 (2.weight)");

    const double lr = 0.1;
    optim::SGD<double> optimizer(model.parameters(), optim::SGDOptions(lr));
    Generator rng(2);
    const Tensor<double> x = randn<double>({5, 3}, rng);
    const IndexArray labels{0, 1, 1, 0, 1};
    for (std::size_t step = 1; step <= 4; ++step)
    {
        const Tensor<double> first_weight = model.parameters()[0];
        const xt::xarray<double> before = first_weight.value();
        optimizer.zero_grad();
        cross_entropy(model(x), labels).backward();
        optimizer.step();
        flow.record();
        if (step == 2)   // recorded: the norms of this step, and its update ‖lr g‖ / ‖W before‖
        {
            const auto& layer = flow.layers()[0];
            const double gradient_norm = std::sqrt(xt::sum(first_weight.grad() * first_weight.grad())());
            CHECK(layer.gradient_norm.back() == doctest::Approx(gradient_norm).epsilon(1e-12));
            CHECK(layer.weight_norm.back() ==
                  doctest::Approx(std::sqrt(xt::sum(first_weight.value() * first_weight.value())())).epsilon(1e-12));
            CHECK(layer.update_ratio.back() ==
                  doctest::Approx(lr * gradient_norm / std::sqrt(xt::sum(before * before)())).epsilon(1e-9));
        }
    }
    CHECK(flow.steps() == std::vector<std::size_t>{1, 2, 4});
    REQUIRE(flow.histograms().size() == 2);
    const train::GradientHistogram& histogram = flow.histograms()[1];
    CHECK(histogram.step == 4);
    for (std::size_t l = 0; l < 2; ++l)
    {
        double total = histogram.zero_share[l];
        for (double share : histogram.share[l])
            total += share;
        CHECK(total == doctest::Approx(1.0));
    }
    const auto charts = flow.charts("Toy: ");
    REQUIRE(charts.size() == 3 + 2);
    CHECK(charts[0].title == "Toy: Gradient norm per layer");
    CHECK(charts[0].log_y);
    CHECK(flow.table().find("layer 2 (2.weight)") != std::string::npos);
    const TempDir directory;
    const std::string path = (directory.path / "flow.svg").string();
    flow.save_svg(path);
    CHECK(std::filesystem::file_size(path) > 1000);

    flow_options.every = 0;
    check_error<value_error>([&] { train::GradientFlow<double> flow_of(model, flow_options); },
                             {"`every` must be at least 1"});
    nn::Sequential<double> no_weights{nn::ReLU<double>()};
    check_error<value_error>([&] { train::GradientFlow<double> flow_of(no_weights); }, {"no parameter named weight"});
    train::GradientFlow<double> unused(model);
    check_error<value_error>([&] { unused.charts(); }, {"nothing recorded yet"});
}
