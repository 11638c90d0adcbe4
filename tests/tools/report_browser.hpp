#pragma once
// The HTML report in a real browser: headless Chromium (Debian's `chromium`, scripts/setup.sh)
// renders a page to a PNG screenshot and dumps its DOM; its log on stderr carries the page's
// console messages ("CONSOLE(...)", "Uncaught ..."), which the tests require to be absent.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "ember/data/images.hpp"
#include "report_html_check.hpp"
#include "test_support.hpp"

namespace report_browser {

namespace fs = std::filesystem;

// The first of chromium / chromium-browser / google-chrome on PATH ("" when none).
inline std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    std::string cmd = std::string("command -v ") + name + " > /dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return name;
  }
  return "";
}

struct Render {
  int status = -1;
  std::string dom;         // --dump-dom output
  std::string log;         // both runs' stderr
  int console_lines = 0;   // log lines that are page console messages or uncaught errors
  fs::path screenshot;
};

// A report page (Ember's file or Chromium's DOM) has `series` curves of `epochs` points each and a
// classes x classes confusion matrix whose cells sum to `test_size`.
inline void expect_page(const std::string& html, std::size_t series, int epochs, std::size_t classes, int64_t test_size) {
  report_check::Page page = report_check::parse(html);
  EXPECT_EQ(page.series.size(), series) << html.substr(0, 2000);
  for (const auto& s : page.series) EXPECT_EQ(s.points, epochs) << s.name;
  EXPECT_EQ(page.cells.size(), classes * classes);
  int64_t sum = 0;
  for (int64_t c : page.cells) sum += c;
  EXPECT_EQ(sum, test_size);
}

// Renders `html` twice (screenshot, then DOM dump) with a throw-away profile in `work`.
inline Render render(const std::string& chromium, const fs::path& html, const fs::path& screenshot, const fs::path& work) {
  fs::create_directories(work);
  fs::create_directories(screenshot.parent_path());
  fs::remove(screenshot);
  const std::string common = "timeout 180 " + chromium +
                             " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --hide-scrollbars"
                             " --enable-logging=stderr --v=0 --user-data-dir='" + (work / "profile").string() + "' ";
  const std::string url = "'file://" + fs::absolute(html).string() + "'";
  Render r;
  r.screenshot = screenshot;
  int a = std::system((common + "--window-size=1280,3000 --screenshot='" + screenshot.string() + "' " + url + " > '" +
                       (work / "shot.out").string() + "' 2> '" + (work / "shot.err").string() + "'").c_str());
  int b = std::system((common + "--dump-dom " + url + " > '" + (work / "dom.html").string() + "' 2> '" + (work / "dom.err").string() + "'")
                          .c_str());
  r.status = a != 0 ? a : b;
  r.dom = ember::testing::read_file(work / "dom.html");
  r.log = ember::testing::read_file(work / "shot.err") + ember::testing::read_file(work / "dom.err");
  std::size_t start = 0;
  while (start < r.log.size()) {
    std::size_t end = r.log.find('\n', start);
    if (end == std::string::npos) end = r.log.size();
    std::string line = r.log.substr(start, end - start);
    if (line.find("CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos) ++r.console_lines;
    start = end + 1;
  }
  return r;
}

// Checks that the console-message detection works with this Chromium: a page with a failing
// inline script must be caught, or the "no console errors" assertion below proves nothing.
inline void expect_console_errors_detected(const std::string& chromium, const fs::path& work) {
  fs::path page = work / "broken.html";
  ember::testing::write_file(page, "<!DOCTYPE html><html><body><p>x</p><script>no_such_function();</script></body></html>\n");
  Render r = render(chromium, page, work / "broken.png", work / "broken");
  EXPECT_GT(r.console_lines, 0) << "this Chromium's log does not show an uncaught script error as CONSOLE/Uncaught; "
                                   "the console check must be adapted. Log:\n"
                                << r.log.substr(0, 3000);
}

// The screenshot decodes and is not blank: its pixels vary and a visible share is not white.
inline void expect_not_blank(const fs::path& png) {
  ASSERT_TRUE(fs::exists(png)) << png;
  ember::Tensor img = ember::data::read_image(png.string(), 3);
  std::vector<double> v = img.to_vector<double>();
  ASSERT_FALSE(v.empty());
  double mean = 0, var = 0;
  std::size_t dark = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  for (double x : v) var += (x - mean) * (x - mean), dark += x < 200;
  var /= static_cast<double>(v.size());
  EXPECT_GT(std::sqrt(var), 10.0) << png << ": the screenshot looks blank";
  EXPECT_GT(static_cast<double>(dark) / static_cast<double>(v.size()), 0.01) << png << ": almost all white";
}

// The whole browser check of one report: loads without console errors, one point per epoch on
// every curve (5: training and validation loss and accuracy, learning rate), a 10x10 matrix summing
// to the test-set size, a screenshot that is not blank.
inline void check_in_browser(const fs::path& html, const fs::path& screenshot, int epochs, int64_t test_size) {
  std::string chromium = find_chromium();
  if (chromium.empty()) {
    GTEST_SKIP() << "chromium not installed: the report was not rendered in a browser (Debian package chromium; "
                    "scripts/setup.sh installs it)";
  }
  fs::path work = screenshot.parent_path() / (screenshot.stem().string() + "_work");
  expect_console_errors_detected(chromium, work);
  Render r = render(chromium, html, screenshot, work);
  ASSERT_EQ(r.status, 0) << r.log.substr(0, 3000);
  EXPECT_EQ(r.console_lines, 0) << r.log.substr(0, 3000);
  expect_page(r.dom, 5, epochs, 10, test_size);
  expect_not_blank(screenshot);
  std::printf("screenshot: %s\n", fs::absolute(screenshot).string().c_str());
}

}  // namespace report_browser
