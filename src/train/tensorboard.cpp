#include "ember/train/tensorboard.hpp"

#include <algorithm>
#include <filesystem>

#include "ember/core/error.hpp"
#include "ember/io/summary.hpp"
#include "ember/nn/model.hpp"

namespace ember::callbacks {

namespace fs = std::filesystem;

TensorBoard::TensorBoard(TensorBoardOptions o) : o_(std::move(o)) {
  if (o_.histogram_freq < 0) {
    throw ValueError("TensorBoard: histogram_freq must be >= 0, got " + std::to_string(o_.histogram_freq));
  }
  if (auto* s = std::get_if<std::string>(&o_.update_freq)) {
    if (*s == "batch") batch_every_ = 1;
    else if (*s != "epoch") throw ValueError("TensorBoard: update_freq must be 'epoch', 'batch' or an integer >= 1, got '" + *s + "'");
  } else {
    batch_every_ = std::get<int64_t>(o_.update_freq);
    if (batch_every_ < 1) {
      throw ValueError("TensorBoard: update_freq must be 'epoch', 'batch' or an integer >= 1, got " + std::to_string(batch_every_));
    }
  }
}

TensorBoard::TensorBoard(TensorBoard&&) noexcept = default;
TensorBoard::~TensorBoard() = default;

io::SummaryWriter& TensorBoard::train_writer() {
  if (!train_) train_ = std::make_unique<io::SummaryWriter>((fs::path(o_.log_dir) / "train").string(), io::SummaryWriterOptions{.flush_secs = o_.flush_secs});
  return *train_;
}

io::SummaryWriter& TensorBoard::val_writer() {
  if (!val_) val_ = std::make_unique<io::SummaryWriter>((fs::path(o_.log_dir) / "validation").string(), io::SummaryWriterOptions{.flush_secs = o_.flush_secs});
  return *val_;
}

void TensorBoard::on_train_begin(const Logs&) {
  global_batch_ = 0;
  auto& w = train_writer();
  if (o_.write_graph) {
    w.graph(model());
    w.flush();
  }
}

void TensorBoard::on_train_batch_end(int, const Logs& logs) {
  const int64_t step = global_batch_++;
  if (batch_every_ == 0 || step % batch_every_ != 0) return;
  auto& w = train_writer();
  for (const auto& [key, value] : logs) {
    if (key == "batch_loss") continue;  // fit's own key for a non-finite batch's loss
    w.scalar("batch_" + key, value, step);
  }
}

void TensorBoard::on_epoch_end(int epoch, Logs& logs) {
  auto& train = train_writer();
  for (const auto& [key, value] : logs) {
    if (key.rfind("val_", 0) == 0) val_writer().scalar("epoch_" + key.substr(4), value, epoch);
    else if (key == "lr") train.scalar("epoch_learning_rate", value, epoch);
    else train.scalar("epoch_" + key, value, epoch);
  }
  if (o_.histogram_freq > 0 && epoch % o_.histogram_freq == 0) {
    for (auto& w : model().named_weights()) train.histogram(w.name + "_0", w.weight->value(), epoch);
  }
  if (o_.write_images) write_weight_images(epoch);
  train.flush();
  if (val_) val_->flush();
}

void TensorBoard::write_weight_images(int epoch) {
  for (auto& w : model().named_weights()) {
    const Tensor& k = w.weight->value();
    if (k.shape().size() != 4) continue;
    const int64_t kh = k.shape()[0], kw = k.shape()[1], cin = k.shape()[2], cout = k.shape()[3];
    const int64_t n = std::min<int64_t>(cout, 16);
    const int64_t c = cin == 3 ? 3 : 1;  // RGB filters as colour, others as the mean over inputs
    const auto v = k.to_vector<double>();
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    const double range = *hi - *lo > 0 ? *hi - *lo : 1.0;
    std::vector<double> px(static_cast<std::size_t>(n * kh * kw * c));
    for (int64_t o = 0; o < n; ++o)
      for (int64_t y = 0; y < kh; ++y)
        for (int64_t x = 0; x < kw; ++x) {
          double mean = 0;
          for (int64_t i = 0; i < cin; ++i) {
            const double s = (v[static_cast<std::size_t>(((y * kw + x) * cin + i) * cout + o)] - *lo) / range;
            if (c == 3) px[static_cast<std::size_t>(((o * kh + y) * kw + x) * 3 + i)] = s;
            mean += s / static_cast<double>(cin);
          }
          if (c == 1) px[static_cast<std::size_t>((o * kh + y) * kw + x)] = mean;
        }
    train_writer().image(w.name + "_0", from_vector(px, {n, kh, kw, c}, f32), epoch, static_cast<int>(n));
    return;  // the first layer's filters only
  }
}

void TensorBoard::on_train_end(const Logs&) {
  if (train_) train_->close();
  if (val_) val_->close();
  train_.reset();
  val_.reset();
}

}  // namespace ember::callbacks
