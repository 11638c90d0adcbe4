// CSV reader: values are the decimal numbers written in the text (exact in f32 where chosen so),
// the categorical mapping is the sorted distinct strings; errors name file, row and column.
#include "ember/data/csv.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ember/core/error.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::message_of;

namespace {

std::vector<float> floats(const Tensor& t) { return t.to(f32).contiguous().to_vector<float>(); }
std::vector<int64_t> ints(const Tensor& t) { return t.to(i64).contiguous().to_vector<int64_t>(); }

const char* kIris =
    "sepal_length,sepal_width,species\n"
    "5.1,3.5,setosa\n"
    "7.0,3.25,versicolor\r\n"
    "6.5,3.0,virginica\n"
    "\n"
    "4.75,-1e2,setosa\n";

}  // namespace

TEST(Csv, HeaderDetectedAndCategoricalLabelsMapped) {
  auto d = data::parse_csv(kIris, {.label = "species"}, "iris.csv");
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"sepal_length", "sepal_width"}));
  ASSERT_EQ(d.features.shape(), Shape({4, 2}));
  EXPECT_EQ(floats(d.features), (std::vector<float>{5.1f, 3.5f, 7.0f, 3.25f, 6.5f, 3.0f, 4.75f, -100.0f}));
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(d.labels.dtype(), i64);
  EXPECT_EQ(ints(d.labels), (std::vector<int64_t>{0, 1, 2, 0}));
}

TEST(Csv, ColumnsByNameOrIndexAndNoHeader) {
  auto d = data::parse_csv(kIris, {.label = 2, .features = {"sepal_width"}});
  EXPECT_EQ(floats(d.features), (std::vector<float>{3.5f, 3.25f, 3.0f, -100.0f}));
  // No header: all rows are data; integer labels stay integers, the digits "0" select column 0.
  auto n = data::parse_csv("1,0.5,2\n0,0.25,4\n", {.label = "0"});
  EXPECT_EQ(n.features.shape(), Shape({2, 2}));
  EXPECT_EQ(floats(n.features), (std::vector<float>{0.5f, 2.0f, 0.25f, 4.0f}));
  EXPECT_EQ(ints(n.labels), (std::vector<int64_t>{1, 0}));
  EXPECT_TRUE(n.class_names.empty());
  // Non-integral numeric labels are regression targets.
  auto r = data::parse_csv("x,y\n1,0.5\n2,1.5\n", {.label = "y"});
  EXPECT_EQ(r.labels.dtype(), f32);
  EXPECT_EQ(floats(r.labels), (std::vector<float>{0.5f, 1.5f}));
  // Forcing the header off makes a non-numeric first row an error at row 1.
  std::string msg = message_of<FormatError>([&] { data::parse_csv("a,b\n1,2\n", {.header = false}, "f.csv"); });
  EXPECT_NE(msg.find("f.csv:1:1: expected a number, got 'a'"), std::string::npos) << msg;
}

TEST(Csv, Rfc4180Quoting) {
  auto d = data::parse_csv("\"na,me\",\"v\"\n\"a \"\"q\"\"\",\"1.5\"\n\"line\nbreak\",2\n", {.label = 0});
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"v"}));
  EXPECT_EQ(floats(d.features), (std::vector<float>{1.5f, 2.0f}));
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"a \"q\"", "line\nbreak"}));
  std::string msg = message_of<FormatError>([&] { data::parse_csv("a,b\n\"open,1\n", {}, "q.csv"); });
  EXPECT_NE(msg.find("q.csv:2: unclosed quote"), std::string::npos) << msg;
}

TEST(Csv, NonNumericCellNamesRowAndColumn) {
  const char* text = "a,b,label\n1,2,x\n3,abc,y\n";
  std::string msg = message_of<FormatError>([&] { data::parse_csv(text, {.label = "label"}, "data.csv"); });
  EXPECT_NE(msg.find("data.csv:3:2: expected a number, got 'abc' (column 'b')"), std::string::npos) << msg;
  msg = message_of<FormatError>([&] { data::parse_csv("a,b\n1,2\n3\n", {}, "short.csv"); });
  EXPECT_NE(msg.find("short.csv:3: 1 fields, expected 2"), std::string::npos) << msg;
  msg = message_of<ValueError>([&] { data::parse_csv(text, {.label = "nope"}, "data.csv"); });
  EXPECT_NE(msg.find("no column named 'nope'"), std::string::npos) << msg;
  EXPECT_THROW(data::parse_csv(text, {.label = 7}), ValueError);
  EXPECT_THROW(data::parse_csv("", {}), FormatError);
  EXPECT_THROW(data::parse_csv("1,2\n,3\n", {}), FormatError);  // an empty cell is not a number
}

TEST(Csv, ReadsFileAndNamesItInErrors) {
  auto p = std::filesystem::temp_directory_path() / ("ember_csv_" + std::to_string(::getpid()) + ".csv");
  std::ofstream(p) << kIris;
  auto d = data::read_csv(p.string(), {.label = "species"});
  EXPECT_EQ(d.features.size(0), 4);
  std::ofstream(p) << "a,b\n1,oops\n";
  std::string msg = message_of<FormatError>([&] { data::read_csv(p.string()); });
  EXPECT_NE(msg.find(p.string() + ":2:2: expected a number, got 'oops'"), std::string::npos) << msg;
  std::filesystem::remove(p);
  EXPECT_THROW(data::read_csv("/nonexistent/x.csv"), IOError);
}
