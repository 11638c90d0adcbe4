// `ember train`: the main job. Loads a data set and a model, trains it with a recipe that works
// well out of the box (Adam, batch 128, cosine learning-rate decay over the run), reports the test
// metrics and writes the run's files.
//
// `ember evaluate`: evaluates a model written by `ember train --out DIR` on a data set's test split.
#include "train_command.hpp"

#include "time_limit.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <memory>
#include <numbers>
#include <optional>
#include <nlohmann/json.hpp>

#include "ember/core/config_fields.hpp"
#include "ember/ember.hpp"
#include "ember/io/atomic_file.hpp"
#include "ember/io/safetensors.hpp"
#include "ember/io/summary.hpp"
#include "ember/nn/builtin_models.hpp"
#include "ember/nn/config.hpp"
#include "ember/optim/optim.hpp"
#include "ember/data/augment_spec.hpp"
#include "ember/data/dataset.hpp"
#include "ember/data/image_data_generator.hpp"
#include "ember/data/splits.hpp"
#include "ember/train/model_files.hpp"
#include "ember/train/saver.hpp"
#include "ember/train/report.hpp"
#include "ember/train/training.hpp"

namespace ember::tool {

namespace {

// printf's text of v: "%.17g" round-trips (settings a resumed run compares), "%g" is for people.
std::string format_number(double v, const char* format = "%g") {
  char buf[40];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// --tta of train and evaluate: none, or flip (test_probabilities' mirror).
void check_tta(const std::string& tta) {
  if (tta != "none" && tta != "flip") throw CLI::ValidationError("--tta", "expected none or flip, got '" + tta + "'");
}

// The recipe settings start at `ember train`'s general recipe; a built-in model's own recipe
// (nn::builtin_recipe) replaces those the command line does not give (apply_recipe).
struct TrainArgs {
  std::string model, data, optimizer = "adam", out, schedule = "cosine", checkpoint_dir;
  std::string tensorboard;  // --tensorboard DIR: Keras TensorBoard callback logs (DIR/train, DIR/validation)
  bool resume = false;
  int epochs = 10;
  int64_t batch_size = 128;
  double learning_rate = 1e-3;
  double validation_split = 0;
  uint64_t seed = 42;
  int threads = 0;  // 0: automatic (all cores other processes leave free, see core/threads.hpp)
  int verbose = 1;
  std::string max_param_memory;  // empty: the memory available
  std::string image_size, color = "rgb";  // folder:DIR data: --image-size HxW, --color rgb|grayscale
  double test_split = 0;  // data without a test split: the fraction held out as one
  std::string augment;    // --augment SPEC (data/augment_spec.hpp); empty or "none": none
  double warmup_epochs = 0;
  double label_smoothing = 0;
  std::optional<double> weight_decay;  // --weight-decay: the optimizer's decoupled decay; none: its default
  std::string no_decay;  // --no-decay: comma-separated name patterns excluded from weight decay; "none": none
  double ema = 0;        // --ema MOMENTUM: Keras 3's use_ema with this ema_momentum (0: none)
  double lr_floor = 0;   // --lr-floor ALPHA: the cosine ends at ALPHA * the rate (Keras CosineDecay's alpha)
  int swa_epochs = 0;    // --swa-epochs K: average the weights of the last K epochs (callbacks::SWA; 0: none)
  double sam = 0;           // --sam RHO: sharpness-aware steps with this radius (train::SAMOptions; 0: none)
  double sam_fraction = 1;  // --sam-fraction F: SAMOptions::ascent_fraction
  std::string tta = "none";  // "flip": test predictions average each image's and its mirror's
  double time_limit = 0;     // --time-limit MINUTES for the whole run (0: none); see time_limit_plan
  int ensemble = 1;          // --ensemble K: train K models (seeds --seed, --seed + 1, ...) and average their outputs
};

// The options whose value came from the command line (the rest may come from the model's recipe).
struct GivenOptions {
  CLI::Option *epochs, *batch_size, *optimizer, *learning_rate, *schedule, *warmup_epochs, *label_smoothing, *augment, *tta,
      *time_limit, *weight_decay, *ensemble, *sam, *sam_fraction;
};

// A built-in model's recipe for every recipe setting the command line left out.
void apply_recipe(TrainArgs& a, const GivenOptions& given) {
  const std::vector<std::string> names = nn::builtin_model_names();
  if (std::find(names.begin(), names.end(), a.model) == names.end()) return;
  const nn::TrainingRecipe r = nn::builtin_recipe(a.model);
  auto unset = [](const CLI::Option* o) { return o->count() == 0; };
  if (unset(given.epochs)) a.epochs = r.epochs;
  if (unset(given.batch_size)) a.batch_size = r.batch_size;
  if (unset(given.optimizer)) a.optimizer = r.optimizer;
  if (unset(given.learning_rate)) a.learning_rate = r.learning_rate;
  if (unset(given.schedule)) a.schedule = r.schedule;
  // The recipe's warm-up is a share of its run: a shorter run given on the command line gets its share.
  if (unset(given.warmup_epochs)) a.warmup_epochs = r.warmup_epochs * a.epochs / r.epochs;
  if (unset(given.label_smoothing)) a.label_smoothing = r.label_smoothing;
  // The recipe's decay belongs to its optimizer: another --optimizer keeps that optimizer's default.
  if (unset(given.weight_decay) && unset(given.optimizer)) a.weight_decay = r.weight_decay;
  if (unset(given.augment)) a.augment = r.augment;
  if (unset(given.sam)) a.sam = r.sam_rho;
  if (unset(given.sam_fraction)) a.sam_fraction = r.sam_fraction;
  if (unset(given.tta)) a.tta = r.tta_flip ? "flip" : "none";
  // The recipe's time limit plans its own epoch count: an --epochs given asks for that many instead,
  // and a checkpointed run keeps its count so that --resume continues the same schedule.
  if (unset(given.time_limit) && unset(given.epochs) && a.checkpoint_dir.empty()) a.time_limit = r.time_limit_minutes;
  // An ensemble cannot be checkpointed or logged to TensorBoard (run_train): those runs train one model.
  if (unset(given.ensemble) && a.checkpoint_dir.empty() && a.tensorboard.empty()) a.ensemble = r.ensemble;
}

bool augments(const TrainArgs& a) { return !a.augment.empty() && a.augment != "none"; }

// --no-decay's patterns: the comma-separated list, empty for "" or "none".
std::vector<std::string> no_decay_patterns(const TrainArgs& a) {
  std::vector<std::string> out;
  if (a.no_decay.empty() || a.no_decay == "none") return out;
  std::stringstream in(a.no_decay);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty()) throw CLI::ValidationError("--no-decay", "expected comma-separated name patterns, got '" + a.no_decay + "'");
    out.push_back(item);
  }
  return out;
}

namespace fs = std::filesystem;

// "--max-param-memory 4G": a byte count with an optional binary suffix (K, M, G, T, optionally
// followed by "iB" or "B"), set as the parameter memory budget; models over it are refused before
// their weights are allocated.
void apply_param_memory_option(const std::string& text) {
  if (text.empty()) return;
  auto bad = [&] {
    throw CLI::ValidationError("--max-param-memory",
                               "expected a size such as 1073741824, 512M or 4G, got '" + text + "'");
  };
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    bad();
  }
  std::string unit = text.substr(used), rest = unit.size() > 1 ? unit.substr(1) : "";
  const std::string prefixes = "KMGT";
  std::size_t p = unit.empty() ? std::string::npos : prefixes.find(unit[0]);
  double scale = -1;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (p != std::string::npos && (rest.empty() || rest == "B" || rest == "iB")) {
    scale = std::ldexp(1.0, 10 * static_cast<int>(p + 1));
  }
  double bytes = v * scale;
  if (scale < 0 || !std::isfinite(bytes) || bytes < 0 || bytes >= 0x1p63) bad();
  nn::set_param_memory_budget(static_cast<int64_t>(bytes), "--max-param-memory");
}

void write_history_csv(const std::string& path, const callbacks::History& h) {
  std::ofstream out(path);
  if (!out) throw IOError("cannot write '" + path + "'");
  out << "epoch,loss,accuracy,val_loss,val_accuracy,lr\n";
  auto col = [&](const char* k, std::size_t i) -> std::string {
    auto it = h.history.find(k);
    if (it == h.history.end() || i >= it->second.size()) return "";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.9g", it->second[i]);
    return buf;
  };
  for (std::size_t i = 0; i < h.epoch.size(); ++i) {
    out << h.epoch[i] + 1 << "," << col("loss", i) << "," << col("accuracy", i) << "," << col("val_loss", i) << ","
        << col("val_accuracy", i) << "," << col("lr", i) << "\n";
  }
}

// `--out DIR`'s TensorBoard file (DESIGN.md's contract): one event file in DIR with the model's
// graph and every per-epoch value of the history ("epoch_loss", "epoch_val_loss", ...,
// "epoch_lr"), step = epoch — written after training, so it costs the run nothing. (--tensorboard
// is the Keras callback, with train/ and validation/ runs and weight histograms.)
void write_run_events(nn::Model& model, const callbacks::History& history, const std::string& dir) {
  io::SummaryWriter events(dir);
  events.graph(model);
  for (const auto& [name, values] : history.history) {
    for (std::size_t i = 0; i < values.size() && i < history.epoch.size(); ++i) {
      events.scalar("epoch_" + name, values[i], history.epoch[i]);
    }
  }
  events.close();
}

// Creates the output directory before training starts, so that a bad --out costs nothing.
void prepare_out_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw IOError("--out: cannot create the directory '" + dir + "'" + (ec ? ": " + ec.message() : std::string()));
  }
}

// `--out DIR`: the architecture as Keras JSON, the weights as safetensors, and both in one Keras .h5.
void save_run(nn::Model& model, const std::string& dir) {
  io::write_file_atomically((fs::path(dir) / "model.json").string(), nn::to_json(model, 2) + "\n");
  model.save_weights((fs::path(dir) / "model.safetensors").string());
  model.save((fs::path(dir) / "model.h5").string());
}

// The settings a resumed run must share with the run that wrote the checkpoints (the weights'
// shapes are checked by the restore itself). The cosine schedule spans --epochs, so then the epoch
// count must match too.
nlohmann::json run_settings(const TrainArgs& a) {
  const char* exact = "%.17g";
  nlohmann::json j = {{"model", a.model},
                      {"data", a.data},
                      {"optimizer", a.optimizer},
                      {"learning-rate", format_number(a.learning_rate, exact)},
                      {"schedule", a.schedule},
                      {"batch-size", std::to_string(a.batch_size)},
                      {"validation-split", format_number(a.validation_split, exact)},
                      {"seed", std::to_string(a.seed)}};
  if (a.test_split > 0) j["test-split"] = format_number(a.test_split, exact);
  if (augments(a)) j["augment"] = a.augment;
  if (a.warmup_epochs > 0) j["warmup-epochs"] = std::to_string(a.warmup_epochs);
  if (a.label_smoothing > 0) j["label-smoothing"] = std::to_string(a.label_smoothing);
  if (a.weight_decay) j["weight-decay"] = format_number(*a.weight_decay, exact);
  if (!no_decay_patterns(a).empty()) j["no-decay"] = a.no_decay;
  if (a.ema > 0) j["ema"] = format_number(a.ema, exact);
  if (a.lr_floor > 0) j["lr-floor"] = format_number(a.lr_floor, exact);
  if (a.swa_epochs > 0) j["swa-epochs"] = std::to_string(a.swa_epochs);
  if (a.sam > 0) j["sam"] = format_number(a.sam, exact);
  if (a.sam > 0 && a.sam_fraction < 1) j["sam-fraction"] = format_number(a.sam_fraction, exact);
  if (!a.image_size.empty()) j["image-size"] = a.image_size;
  if (a.color != "rgb") j["color"] = a.color;
  // The cosine spans --epochs, and --swa-epochs counts back from its end: then the count must match too.
  if (a.schedule == "cosine" || a.swa_epochs > 0) j["epochs"] = std::to_string(a.epochs);
  return j;
}

constexpr const char* kRunSettingsFile = "train_settings.json";

// --checkpoint-dir: a fresh run needs a directory without checkpoints (it records its settings
// there); --resume needs one with them, made with the same settings. Returns the checkpoint to
// resume from (empty for a fresh run).
std::string prepare_checkpoint_dir(const TrainArgs& a) {
  if (a.checkpoint_dir.empty()) {
    if (a.resume) throw CLI::ValidationError("--resume", "needs --checkpoint-dir DIR (the checkpoints to continue)");
    return "";
  }
  std::error_code ec;
  fs::create_directories(a.checkpoint_dir, ec);
  if (ec || !fs::is_directory(a.checkpoint_dir)) {
    throw IOError("--checkpoint-dir: cannot create the directory '" + a.checkpoint_dir + "'" + (ec ? ": " + ec.message() : std::string()));
  }
  fs::path settings_file = fs::path(a.checkpoint_dir) / kRunSettingsFile;
  std::optional<std::string> latest = train::latest_checkpoint(a.checkpoint_dir);
  nlohmann::json now = run_settings(a);
  if (!a.resume) {
    if (latest) {
      throw IOError("--checkpoint-dir '" + a.checkpoint_dir + "' already holds checkpoints (latest '" + *latest +
                    "'); add --resume to continue them, or choose another directory");
    }
    io::write_file_atomically(settings_file.string(), now.dump(2) + "\n");
    return "";
  }
  if (!latest) throw IOError("--resume: no checkpoint in '" + a.checkpoint_dir + "' (it has no 'checkpoint' index)");
  std::ifstream in(settings_file);
  if (!in) throw IOError("--resume: '" + settings_file.string() + "' is missing; cannot check that this run matches the checkpoints");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json then = parse_json(text.str(), "'" + settings_file.string() + "'");
  if (!then.is_object()) throw FormatError("'" + settings_file.string() + "': expected a JSON object");
  // In this order, so that a changed schedule is named before the epoch count it makes matter.
  for (const char* key : {"model", "data", "optimizer", "learning-rate", "schedule", "batch-size", "validation-split", "seed",
                          "test-split", "augment", "warmup-epochs", "label-smoothing", "weight-decay", "no-decay", "ema", "lr-floor", "swa-epochs", "sam", "sam-fraction", "image-size", "color", "epochs"}) {
    if (!now.contains(key) && !then.contains(key)) continue;
    if (!now.contains(key)) {
      const std::string was = then[key].is_string() ? then[key].get<std::string>() : short_dump(then[key]);
      throw ValueError("--resume: the checkpoints in '" + a.checkpoint_dir + "' were made with --" + key + " " + was + ", this run has none");
    }
    const nlohmann::json& value = now[key];
    if (!then.contains(key) || then[key] != value) {
      std::string was = then.contains(key) && then[key].is_string() ? then[key].get<std::string>() : short_dump(then.value(key, nlohmann::json()));
      throw ValueError("--resume: the checkpoints in '" + a.checkpoint_dir + "' were made with --" + key + " " + was + ", this run has --" +
                       key + " " + value.get<std::string>());
    }
  }
  return *latest;
}

// --image-size HxW and --color for folder:DIR data.
data::DatasetOptions dataset_options(const TrainArgs& a) {
  data::DatasetOptions o;
  if (!a.image_size.empty()) {
    int64_t h = 0, w = 0;
    char x = 0, extra = 0;
    if (std::sscanf(a.image_size.c_str(), "%" SCNd64 "%c%" SCNd64 "%c", &h, &x, &w, &extra) != 3 || x != 'x' || h < 1 || w < 1 ||
        h > 65536 || w > 65536) {
      throw CLI::ValidationError("--image-size", "expected HEIGHTxWIDTH such as 28x28, got '" + a.image_size + "'");
    }
    o.image_size = std::array<int64_t, 2>{h, w};
  }
  if (a.color == "grayscale") o.color_mode = data::ColorMode::Grayscale;
  else if (a.color != "rgb") throw CLI::ValidationError("--color", "expected rgb or grayscale, got '" + a.color + "'");
  return o;
}

void check_labels(const Tensor& labels, int64_t classes, const char* split) {
  Tensor l = labels.to(i64);
  int64_t lo = min(l).item<int64_t>(), hi = max(l).item<int64_t>();
  if (lo < 0 || hi >= classes) {
    throw ValueError(std::string("the ") + split + " labels range over [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "] but the model has " + std::to_string(classes) + " outputs");
  }
}

std::string wall_time(std::chrono::steady_clock::duration d) {
  double s = std::chrono::duration<double>(d).count();
  char buf[64];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1f s", s);
  else std::snprintf(buf, sizeof buf, "%d min %.0f s", static_cast<int>(s / 60), std::fmod(s, 60.0));
  return buf;
}

// An --ensemble's models: the epochs each trained and, with a test split, each one's own test accuracy.
struct EnsembleReport {
  std::vector<int> epochs;
  std::vector<double> accuracies;
};

// What the report shows (train/report.hpp), from the finished run: its settings, the history, the
// test metrics and the test set's predictions (probabilities: a softmax over the logits when the
// model ends without one), and the most confidently misclassified test images.
train::ReportData report_data(const TrainArgs& a, nn::Model& model, const callbacks::History& history,
                              const EnsembleReport& ensemble, const std::map<std::string, double>& test_result, int64_t classes, const data::TrainTestData& ds,
                              const Tensor& x_test, const Tensor& y_test, const Tensor& prob) {
  train::ReportData r;
  r.title = "ember train --model " + a.model + " --data " + a.data;
  r.history = train::report_history(history);  // --out replaces it by history.csv's rounded values
  for (const char* k : {"loss", "accuracy"}) {
    if (test_result.count(k)) r.test_metrics.emplace_back(k, test_result.at(k));
  }
  r.class_names = ds.class_names;
  for (int64_t k = static_cast<int64_t>(r.class_names.size()); k < classes; ++k) r.class_names.push_back(std::to_string(k));
  r.model_summary = model.summary_string();
  r.settings = {{"data", a.data},
                {"model", a.model},
                {"optimizer", a.optimizer},
                {"learning rate", format_number(a.learning_rate)},
                {"schedule", a.schedule},
                {"epochs", std::to_string(a.epochs)},
                {"batch size", std::to_string(a.batch_size)},
                {"validation", a.validation_split > 0 ? "split " + std::to_string(a.validation_split)
                                                      : (a.ensemble > 1 ? "none (each model scored on the test split at its end)" : "the test split")},
                {"seed", std::to_string(a.seed)},
                {"threads", a.threads > 0 ? std::to_string(a.threads) : "automatic (" + std::to_string(get_num_threads()) + " at the end)"},
                {"Ember version", EMBER_VERSION}};
  if (augments(a)) r.settings.emplace_back("augment", a.augment);
  if (a.warmup_epochs > 0) r.settings.emplace_back("warm-up epochs", std::to_string(a.warmup_epochs));
  if (a.label_smoothing > 0) r.settings.emplace_back("label smoothing", std::to_string(a.label_smoothing));
  if (a.weight_decay) r.settings.emplace_back("weight decay", format_number(*a.weight_decay));
  if (!no_decay_patterns(a).empty()) r.settings.emplace_back("no weight decay on", a.no_decay);
  if (a.ema > 0) r.settings.emplace_back("weights averaged (EMA momentum)", format_number(a.ema));
  if (a.lr_floor > 0) r.settings.emplace_back("learning-rate floor (cosine alpha)", format_number(a.lr_floor));
  if (a.swa_epochs > 0) r.settings.emplace_back("weights averaged (SWA epochs)", std::to_string(a.swa_epochs));
  if (a.sam > 0) {
    r.settings.emplace_back("sharpness-aware steps (SAM rho)", format_number(a.sam) + (a.sam_fraction < 1 ? ", ascent on " + format_number(a.sam_fraction) + " of each batch" : ""));
  }
  if (a.tta != "none") r.settings.emplace_back("test-time augmentation", a.tta);
  if (a.ensemble > 1) {
    std::string text = std::to_string(a.ensemble) + " models averaged (seeds " + std::to_string(a.seed) + "-" +
                       std::to_string(a.seed + static_cast<uint64_t>(a.ensemble) - 1) + "; the curves are model 1's)";
    if (!ensemble.accuracies.empty()) {
      text += "; alone they score";
      for (std::size_t k = 0; k < ensemble.accuracies.size(); ++k) text += (k ? ", " : " ") + format_number(ensemble.accuracies[k], "%.4f");
    }
    r.settings.emplace_back("ensemble", text);
  }
  if (a.time_limit > 0) {
    char limit[96];
    if (ensemble.epochs.empty()) {
      std::snprintf(limit, sizeof limit, "%g min (%zu of %d epochs fit)", a.time_limit, history.epoch.size(), a.epochs);
    } else {
      std::string each;
      for (int e : ensemble.epochs) each += (each.empty() ? "" : ", ") + std::to_string(e);
      std::snprintf(limit, sizeof limit, "%g min (the models trained %s of %d epochs)", a.time_limit, each.c_str(), a.epochs);
    }
    r.settings.emplace_back("time limit", limit);
  }
  if (!x_test.defined()) return r;
  r.y_true = y_test.to(i64).to_vector<int64_t>();
  r.y_pred = argmax(prob, -1).to_vector<int64_t>();
  r.confidence = max(prob, {-1}).to_vector<double>();
  std::vector<int64_t> grid = train::most_confident_mistakes(r.y_true, r.y_pred, r.confidence, 16);
  // The images as the data set stores them (u8 for IDX), else the model's float inputs.
  const Tensor& images = ds.test.images.defined() ? ds.test.images : x_test;
  const bool pictures = images.dim() == 3 || (images.dim() == 4 && (images.size(3) == 1 || images.size(3) == 3));
  if (!grid.empty() && pictures) r.grid_images = take(images, from_vector(grid, {static_cast<int64_t>(grid.size())}), 0).contiguous();
  return r;
}

// The warm-up steps of a `total`-step run: --warmup-epochs' worth, leaving at least one step.
int64_t warmup_steps(const TrainArgs& a, int64_t steps_per_epoch, int64_t total) {
  return std::min<int64_t>(static_cast<int64_t>(std::llround(a.warmup_epochs * static_cast<double>(steps_per_epoch))), total - 1);
}

// The rate at `step`: linear warm-up from 0 over `warmup` steps (Keras 3's CosineDecay warm-up,
// which reaches lr at the warm-up's last step), then lr, or with `cosine` a decay to floor*lr by
// optim::CosineDecay's formula (alpha = floor, --lr-floor) at the plan's progress. A plan anchored at the warm-up's end
// with progress 0 gives, bit for bit, the fixed schedule of plan.total steps (without warm-up the
// same value as CosineDecay itself).
double warmup_then_decay(double lr, bool cosine, int64_t warmup, const SchedulePlan& plan, int64_t step, double floor = 0) {
  if (step < warmup) return lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (!cosine) return lr;
  // Keras CosineDecay's alpha: the curve from 1 down to `floor`, not to 0.
  return lr * (floor + (1.0 - floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * schedule_progress(plan, step))));
}

// --schedule after --warmup-epochs of warm-up (warmup_then_decay).
// With `plan` (a --time-limit run) the schedule follows *plan, which time_limit_plan may move after
// any epoch; until it does, the rates are bit-identical to the fixed schedule's.
optim::LearningRate learning_rate_schedule(const TrainArgs& a, int64_t steps_per_epoch,
                                           std::shared_ptr<const SchedulePlan> plan = nullptr) {
  const int64_t total = steps_per_epoch * a.epochs;
  const int64_t warmup = warmup_steps(a, steps_per_epoch, total);
  const double lr = a.learning_rate;
  const bool cosine = a.schedule == "cosine";
  const double floor = a.lr_floor;
  if (plan) {
    return optim::LambdaSchedule([lr, cosine, warmup, plan, floor](int64_t step) {
      return warmup_then_decay(lr, cosine, std::min(warmup, plan->total - 1), *plan, step, floor);
    });
  }
  if (warmup <= 0) {
    // Keras's own schedule objects, so the saved optimizer config names them.
    if (!cosine) return lr;
    return optim::CosineDecay({.initial_learning_rate = lr, .decay_steps = total, .alpha = floor});
  }
  const SchedulePlan fixed = fixed_plan(warmup, total);
  return optim::LambdaSchedule(
      [lr, cosine, warmup, fixed, floor](int64_t step) { return warmup_then_decay(lr, cosine, warmup, fixed, step, floor); });
}

std::string minutes_text(double minutes) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.3g min", minutes);
  return buf;
}

// --time-limit: plan how many of --epochs fit in the limit, end the learning-rate schedule there
// (*plan_state) and stop after the last planned epoch. The first plan comes after the first
// epoch, at its pace; after every later epoch the plan is made again at the mean pace of the epochs
// since the first (the first is usually the slowest: kernels are chosen and memory is cached in it).
// A shared VM's pace drifts both ways — later epochs ran 7 % slower than the first in one 30-minute
// run and 10 % faster in another — so a plan fixed after the first epoch could overrun or leave
// minutes unused. The margins are epochs_that_fit's (time_limit.hpp). The first plan fits the whole
// cosine to the planned epochs; a later one stretches or squeezes only what is left of it, from the
// rate reached (SchedulePlan); once the planned last epoch is over, so is the cosine, and the run
// ends even if time is left (replanned_epochs). `planned_epochs` ends up as the epochs the run trains; `planned_lr`
// maps each epoch after which the plan moved to the rate the new plan gives next (fit's History
// logged the earlier plan's).
callbacks::LambdaCallback time_limit_plan(const TrainArgs& a, int64_t steps_per_epoch, std::chrono::steady_clock::time_point started,
                                          std::shared_ptr<SchedulePlan> plan_state, std::shared_ptr<int> planned_epochs,
                                          std::shared_ptr<std::map<int, double>> planned_lr, nn::Model* model,
                                          optim::Optimizer* opt) {
  using clock = std::chrono::steady_clock;
  auto epoch_started = std::make_shared<clock::time_point>();
  auto first_ended = std::make_shared<clock::time_point>();
  auto message = std::make_shared<std::string>();
  const double limit_s = a.time_limit * 60;
  const int epochs = a.epochs;
  const int64_t warmup = warmup_steps(a, steps_per_epoch, steps_per_epoch * a.epochs);
  const bool verbose = a.verbose > 0;
  // A plan is printed after its epoch's line, not inside the next epoch's progress bar: when the
  // next epoch begins, or at once when there is none.
  auto announce = [message, verbose] {
    if (!verbose || message->empty()) return;
    std::printf("%s\n", message->c_str());
    std::fflush(stdout);  // as the progress lines: at once, also into a pipe or file
    message->clear();
  };
  auto seconds = [](clock::duration d) { return std::chrono::duration<double>(d).count(); };
  return callbacks::LambdaCallback({
      .on_epoch_begin =
          [=](int epoch, const callbacks::Logs&) {
            if (epoch == 0) *epoch_started = clock::now();
            announce();
          },
      .on_epoch_end =
          [=](int epoch, callbacks::Logs& logs) {
            const clock::time_point now = clock::now();
            if (epoch == 0) *first_ended = now;
            const double pace = epoch == 0 ? seconds(now - *epoch_started) : seconds(now - *first_ended) / epoch;
            const int fit = epochs_that_fit(limit_s, seconds(now - started), pace, epoch + 1, epochs);
            const int plan = epoch == 0 ? fit : replanned_epochs(*planned_epochs, epoch + 1, fit);
            if (epoch == 0 || plan != *planned_epochs) {
              *planned_epochs = plan;
              const int64_t step = steps_per_epoch * (epoch + 1), total = steps_per_epoch * plan;
              const SchedulePlan whole = fixed_plan(warmup, total);
              if (epoch == 0 || step < whole.anchor) {
                *plan_state = whole;
              } else {
                *plan_state = {.total = total, .anchor = step, .anchor_progress = schedule_progress(*plan_state, step)};
              }
              logs["lr"] = (*planned_lr)[epoch] = opt->current_learning_rate();  // for the progress line and later callbacks
              const std::string fit_text = plan == epochs ? "all " + std::to_string(epochs) + " epochs fit"
                                                          : std::to_string(plan) + " of the " + std::to_string(epochs) + " epochs fit";
              if (epoch == 0) {
                *message = "Time limit " + minutes_text(a.time_limit) + ": the first epoch took " +
                           wall_time(std::chrono::duration_cast<clock::duration>(now - *epoch_started)) + ", so " + fit_text +
                           (plan == epochs ? "" : "; the learning-rate schedule now ends after epoch " + std::to_string(plan) +
                                                      " (--time-limit 0 or --epochs N trains N)");
              } else {
                const std::string later = epoch == 1 ? "epoch 2 took " : "epochs 2-" + std::to_string(epoch + 1) + " averaged ";
                *message = "Time limit " + minutes_text(a.time_limit) + ": " + later +
                           wall_time(std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(pace))) +
                           ", so now " + fit_text +
                           (plan == epochs ? "" : " (the schedule ends after epoch " + std::to_string(plan) + ")");
              }
              if (epoch + 1 >= plan) announce();
            }
            if (epoch + 1 >= *planned_epochs && *planned_epochs < epochs) model->stop_training = true;
          },
  });
}

// The test set's class probabilities (a softmax over the logits when the model ends without one);
// with `mirror`, the mean of each image's and its left-right mirror's (test-time augmentation).
// Byte images (ember train keeps them as bytes) are converted a few batches at a time, into buffers
// the next chunk reuses, rather than all at once (for Fashion-MNIST 31 MB of floats less to write);
// whole batches, so the probabilities are the same.
Tensor test_probabilities(nn::Model& model, const Tensor& x_test, bool from_logits, bool mirror, int64_t batch_size = 256) {
  auto probabilities = [&](const Tensor& x) {
    Tensor out = model.predict(x, {.batch_size = batch_size});
    return from_logits ? softmax(out, -1) : out;
  };
  // With `mirror`, averaged with the probabilities of the mirror images.
  auto scored = [&](const Tensor& x) {
    Tensor prob = probabilities(x);
    return mirror ? (prob + probabilities(flip_left_right(x))) * 0.5 : prob;
  };
  if (x_test.dtype() != u8) return scored(x_test);
  const int64_t n = x_test.size(0), chunk = 8 * batch_size;
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < n; start += chunk) {
    parts.push_back(scored(data::images_to_float(slice(x_test, 0, start, std::min(n, start + chunk)))));
  }
  return parts.size() == 1 ? parts.front() : concat(parts, 0);
}

// Accuracy and the mean cross-entropy −log p[label] of the test probabilities (no label smoothing:
// the loss the test split is judged by).
std::map<std::string, double> test_metrics(const Tensor& prob, const Tensor& labels) {
  const std::vector<double> p = prob.to(f64).contiguous().to_vector<double>();
  const std::vector<int64_t> y = labels.to(i64).to_vector<int64_t>();
  const int64_t n = prob.size(0), classes = prob.size(1);
  double loss = 0;
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double* row = p.data() + i * classes;
    loss -= std::log(std::max(row[y[i]], 1e-7));  // Keras clips probabilities to [ε, 1 − ε], ε = 1e-7
    correct += std::max_element(row, row + classes) - row == y[i];
  }
  return {{"loss", loss / static_cast<double>(n)}, {"accuracy", static_cast<double>(correct) / static_cast<double>(n)}};
}

// The run's optimizer, as --optimizer, --learning-rate, --weight-decay, --no-decay and --ema give it
// (an --ensemble makes one per model).
std::shared_ptr<optim::Optimizer> make_run_optimizer(const TrainArgs& a) {
  std::shared_ptr<optim::Optimizer> opt;
  try {
    opt = optim::make_optimizer(a.optimizer, a.learning_rate, a.weight_decay, {.use_ema = a.ema > 0, .ema_momentum = a.ema > 0 ? a.ema : 0.99});
  } catch (const ValueError& e) {
    throw CLI::ValidationError("--optimizer", e.what());
  }
  try {
    opt->exclude_from_weight_decay(no_decay_patterns(a));
  } catch (const ValueError& e) {
    throw CLI::ValidationError("--no-decay", e.what());
  }
  return opt;
}

// One trained model of a run, with its history.
struct TrainedModel {
  std::shared_ptr<nn::Model> model;
  callbacks::History history;
};

// Compiles `model` with `opt` and the recipe's loss and fits it: the run's one model, or one member
// of an --ensemble (with its own seed in a.seed and in a.time_limit the minutes after `started`, the
// run's start, by which it must end). y and y_val are one-hot rows when the labels are smoothed.
TrainedModel fit_model(const TrainArgs& a, std::shared_ptr<nn::Model> model, std::shared_ptr<optim::Optimizer> opt,
                       bool from_logits, const Tensor& x, const Tensor& y, const Tensor& x_val, const Tensor& y_val,
                       const std::optional<data::ImageDataGeneratorOptions>& augmentation, const std::string& resume_from,
                       std::chrono::steady_clock::time_point started) {
  const int64_t steps = (x.size(0) + a.batch_size - 1) / a.batch_size;
  // --time-limit: the schedule's length is planned after the first epoch, again after each later one
  // (time_limit_plan).
  auto plan = a.time_limit > 0 ? std::make_shared<SchedulePlan>(fixed_plan(warmup_steps(a, steps, steps * a.epochs), steps * a.epochs))
                               : nullptr;
  auto planned_epochs = std::make_shared<int>(a.epochs);
  auto planned_lr = std::make_shared<std::map<int, double>>();
  opt->set_learning_rate(learning_rate_schedule(a, steps, plan));
  std::optional<train::SAMOptions> sam;
  if (a.sam > 0) sam = train::SAMOptions{.rho = a.sam, .ascent_fraction = a.sam_fraction};
  if (a.label_smoothing > 0) {
    model->compile({.optimizer = opt,
                    .loss = losses::CategoricalCrossentropy({.from_logits = from_logits, .label_smoothing = a.label_smoothing}),
                    .metrics = {"accuracy"},
                    .sam = sam});
  } else {
    model->compile({.optimizer = opt,
                    .loss = losses::SparseCategoricalCrossentropy({.from_logits = from_logits}),
                    .metrics = {"accuracy"},
                    .sam = sam});
  }

  train::FitOptions fit{.batch_size = a.batch_size, .epochs = a.epochs, .verbose = a.verbose};
  if (x.dtype() == u8) fit.x_transform = data::images_to_float;  // bytes until batched (run_train)
  if (x_val.defined()) fit.validation_data = std::make_pair(x_val, y_val);
  train::Saver saver({.max_to_keep = 5});
  if (!a.checkpoint_dir.empty()) {
    if (!resume_from.empty()) {
      // Weights, optimizer, random generators and the fit's progress: fit continues where it stopped.
      saver.restore(*model, resume_from);
      std::printf("Resuming from %s\n", resume_from.c_str());
    }
    // The architecture beside the checkpoints, so that evaluate / predict can load the directory.
    if (resume_from.empty()) {
      io::write_file_atomically((fs::path(a.checkpoint_dir) / "model.json").string(), nn::to_json(*model, 2) + "\n");
    }
  }
  if (!a.tensorboard.empty()) {
    // Before the checkpoint callback, so a checkpoint taken at an epoch's end follows its events.
    fit.callbacks.insert(fit.callbacks.begin(),
                         callbacks::TensorBoard({.log_dir = a.tensorboard, .histogram_freq = 1, .write_graph = true}));
  }
  if (plan) {
    fit.callbacks.push_back(time_limit_plan(a, steps, started, plan, planned_epochs, planned_lr, model.get(), opt.get()));
  }
  if (a.swa_epochs > 0) {
    // The last --swa-epochs of the epochs the run trains (a --time-limit plan may change that count
    // after any epoch, before this callback sees the epoch end); batch norm recomputed on the
    // un-augmented training images.
    auto swa = std::make_shared<callbacks::SWA>(
        callbacks::SWAOptions{.start_epoch = std::max(0, a.epochs - a.swa_epochs), .bn_data = x, .batch_size = a.batch_size});
    fit.callbacks.push_back(callbacks::LambdaCallback({.on_epoch_end = [swa, planned_epochs, k = a.swa_epochs](int, callbacks::Logs&) {
      swa->set_start_epoch(std::max(0, *planned_epochs - k));
    }}));
    fit.callbacks.push_back(swa);
  }
  if (!a.checkpoint_dir.empty()) {
    // A full checkpoint after every epoch (the last callback, so the others' state is included).
    std::string prefix = (fs::path(a.checkpoint_dir) / "ckpt").string();
    fit.callbacks.push_back(callbacks::LambdaCallback({.on_epoch_end = [&saver, m = model.get(), prefix](int epoch, callbacks::Logs&) {
      saver.save(*m, prefix, epoch + 1);
    }}));
  }
  callbacks::History history;
  if (!augmentation) {
    history = model->fit(x, y, fit);
  } else {
    // Augmented batches from the input pipeline: worker threads transform the images while the
    // training step runs (data/dataset.hpp), the same images for the same --seed.
    data::ImageDataGenerator generator(*augmentation);
    data::Dataset batches = generator.flow(x, y, {.batch_size = a.batch_size, .shuffle = true, .seed = a.seed});
    history = model->fit(batches, fit);
  }
  if (plan) {
    // The history's "lr" of an epoch after which the plan moved the schedule's end was logged before.
    auto lr = history.history.find("lr");
    if (lr != history.history.end()) {
      for (const auto& [epoch, rate] : *planned_lr) {
        if (epoch < static_cast<int>(lr->second.size())) lr->second[static_cast<std::size_t>(epoch)] = rate;
      }
    }
  }
  return {model, history};
}

int run_train(const TrainArgs& a) {
  const auto started = std::chrono::steady_clock::now();
  if (a.epochs < 1) throw CLI::ValidationError("--epochs", "must be at least 1");
  if (a.batch_size < 1) throw CLI::ValidationError("--batch-size", "must be at least 1");
  if (!(a.learning_rate > 0) || !std::isfinite(a.learning_rate)) {
    throw CLI::ValidationError("--learning-rate", "must be a positive finite number, got " + std::to_string(a.learning_rate));
  }
  if (!(a.warmup_epochs >= 0) || !std::isfinite(a.warmup_epochs) || a.warmup_epochs >= a.epochs) {
    throw CLI::ValidationError("--warmup-epochs", "must be at least 0 and below --epochs (" + std::to_string(a.epochs) + "), got " +
                                                     std::to_string(a.warmup_epochs));
  }
  if (!(a.label_smoothing >= 0 && a.label_smoothing < 1)) {
    throw CLI::ValidationError("--label-smoothing", "must be in [0, 1), got " + std::to_string(a.label_smoothing));
  }
  if (a.weight_decay && !(*a.weight_decay >= 0 && std::isfinite(*a.weight_decay))) {
    throw CLI::ValidationError("--weight-decay", "must be a finite number >= 0, got " + format_number(*a.weight_decay));
  }
  if (!(a.sam >= 0) || !std::isfinite(a.sam)) {
    throw CLI::ValidationError("--sam", "must be a radius >= 0 (0: plain steps), got " + format_number(a.sam));
  }
  if (!(a.sam_fraction > 0 && a.sam_fraction <= 1)) {
    throw CLI::ValidationError("--sam-fraction", "must be in (0, 1], got " + format_number(a.sam_fraction));
  }
  if (!(a.ema >= 0 && a.ema < 1)) {
    throw CLI::ValidationError("--ema", "must be a momentum in [0, 1) (0: no averaging), got " + format_number(a.ema));
  }
  // Built before the data is loaded, so a bad name costs nothing; the schedule is set once the
  // number of steps is known.
  std::shared_ptr<optim::Optimizer> opt = make_run_optimizer(a);
  check_tta(a.tta);
  if (a.ensemble < 1) throw CLI::ValidationError("--ensemble", "must be at least 1, got " + std::to_string(a.ensemble));
  if (a.ensemble > 1) {
    // Each model would need checkpoints, event files and a resume of its own.
    if (!a.checkpoint_dir.empty()) throw CLI::ValidationError("--ensemble", "cannot be combined with --checkpoint-dir (it checkpoints one model)");
    if (!a.tensorboard.empty()) throw CLI::ValidationError("--ensemble", "cannot be combined with --tensorboard (it logs one model)");
  }
  if (!(a.time_limit >= 0) || !std::isfinite(a.time_limit)) {
    throw CLI::ValidationError("--time-limit", "must be a number of minutes >= 0 (0: no limit), got " + std::to_string(a.time_limit));
  }
  if (a.time_limit > 0 && !a.checkpoint_dir.empty()) {
    throw CLI::ValidationError("--time-limit", "cannot be combined with --checkpoint-dir (a resumed run must keep the epoch count it started with)");
  }
  std::optional<data::ImageDataGeneratorOptions> augmentation;
  if (augments(a)) {
    try {
      augmentation = data::augmentation_from_spec(a.augment);
    } catch (const ValueError& e) {
      throw CLI::ValidationError("--augment", e.what());
    }
  }
  if (a.threads > 0) set_num_threads(a.threads);
  else adapt_num_threads();  // size the automatic pool now: loading the data already runs on it
  apply_param_memory_option(a.max_param_memory);
  if (!a.out.empty()) prepare_out_dir(a.out);
  const std::string resume_from = prepare_checkpoint_dir(a);
  manual_seed(a.seed);
  nn::reset_layer_names();

  data::TrainTestData ds = data::load_dataset(a.data, dataset_options(a));
  for (const std::string& w : ds.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  // Byte images stay bytes until fit takes a batch (FitOptions::x_transform, set in fit_model) and
  // the test pass a chunk (test_probabilities): a quarter of the memory, and no pass over the whole
  // data set before training starts — for Fashion-MNIST 219 MB of floats less to write, a tenth
  // less time for a short mlp run. Not for the augmentation pipeline or SWA's batch-norm pass, which
  // take float images.
  const bool bytes_until_batched = ds.train.images.dtype() == u8 && !augmentation && a.swa_epochs == 0;
  const auto model_input = [bytes_until_batched](const Tensor& images) {
    return bytes_until_batched ? images : data::images_to_float(images);
  };
  Tensor x = model_input(ds.train.images), y = ds.train.labels;
  Tensor x_test, y_test;
  if (ds.test.images.defined()) {
    if (a.test_split > 0) {
      throw CLI::ValidationError("--test-split", "data '" + a.data + "' has its own test split; --test-split is for data without one");
    }
    x_test = model_input(ds.test.images);
    y_test = ds.test.labels;
  } else if (a.test_split > 0) {
    // Stratified (class labels) and seeded: the same rows are held out on every run with this --seed.
    data::TrainTestSplit parts = data::train_test_split(x, y, {.test_size = a.test_split, .seed = a.seed, .stratify = is_integral(y.dtype())});
    x = parts.x_train, y = parts.y_train, x_test = parts.x_test, y_test = parts.y_test;
    std::fprintf(stderr, "holding out %lld of %lld examples as the test split (--test-split %g)\n",
                 static_cast<long long>(x_test.size(0)), static_cast<long long>(x.size(0) + x_test.size(0)), a.test_split);
  }
  const bool has_test = x_test.defined();
  if (!has_test) {
    std::fprintf(stderr, "note: data '%s' has no test split: no test metrics are reported (give --test-split F to hold one out)%s\n",
                 a.data.c_str(), a.validation_split > 0 ? "" : "; nothing is validated either (give --validation-split F)");
  }
  Tensor x_val, y_val;
  if (a.validation_split > 0) {
    // After the test split, from what is left for training; stratified and seeded like it.
    data::TrainTestSplit parts =
        data::train_test_split(x, y, {.test_size = a.validation_split, .seed = a.seed + 1, .stratify = is_integral(y.dtype())});
    x = parts.x_train, y = parts.y_train, x_val = parts.x_test, y_val = parts.y_test;
  } else if (has_test && a.ensemble == 1) {
    // Validate on the test split each epoch. Not the models of an --ensemble: that pass costs about
    // 5 % of an fmnist-resnet epoch, time the ensemble's models train with instead (each one's test
    // accuracy is printed at the end).
    x_val = x_test, y_val = y_test;
  }

  auto model = train::load_model_architecture(a.model);
  Tensor probe = model->predict(data::images_to_float(slice(x, 0, 0, 1)), {.batch_size = 1});
  int64_t classes = probe.size(-1);
  check_labels(y, classes, "training");
  if (has_test) check_labels(y_test, classes, "test");

  if (a.schedule != "cosine" && a.schedule != "constant") {
    throw CLI::ValidationError("--schedule", "expected cosine or constant, got '" + a.schedule + "'");
  }
  const bool from_logits = !train::ends_in_softmax(*model);
  if (a.label_smoothing > 0) {
    // Smoothing needs the labels as probabilities: one-hot rows, CategoricalCrossentropy.
    y = one_hot(y.to(i64), classes);
    if (x_val.defined()) y_val = one_hot(y_val.to(i64), classes);
  }
  // --ensemble K: K models of the architecture, one after another, model k (from 0) with seed
  // --seed + k — the model `ember train --seed S+k` would train alone — each ending by its share of
  // what is left of the time limit; then one model that averages their outputs (average_models).
  std::vector<TrainedModel> trained;
  for (int k = 0; k < a.ensemble; ++k) {
    TrainArgs member = a;
    member.seed = a.seed + static_cast<uint64_t>(k);
    if (a.time_limit > 0) {
      const double used = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() / 60;
      member.time_limit = used + std::max(0.0, a.time_limit - used) / (a.ensemble - k);
    }
    if (k > 0) {
      manual_seed(member.seed);
      model = train::load_model_architecture(a.model);
      opt = make_run_optimizer(a);
    }
    if (a.ensemble > 1 && a.verbose > 0) {
      std::printf("Ensemble: model %d of %d (seed %llu)\n", k + 1, a.ensemble, static_cast<unsigned long long>(member.seed));
      std::fflush(stdout);
    }
    trained.push_back(fit_model(member, model, opt, from_logits, x, y, x_val, y_val, augmentation, resume_from, started));
  }
  // The curves and events are the first model's (an ensemble's others go to history_model_K.csv).
  const callbacks::History& history = trained.front().history;
  EnsembleReport ensemble;
  if (a.ensemble > 1) {
    std::vector<std::shared_ptr<nn::Model>> members;
    for (const TrainedModel& t : trained) {
      members.push_back(t.model);
      ensemble.epochs.push_back(static_cast<int>(t.history.epoch.size()));
      if (has_test) {
        // Each model's own score beside the ensemble's, judged the same way.
        const double accuracy = test_metrics(test_probabilities(*t.model, x_test, from_logits, a.tta == "flip"), y_test).at("accuracy");
        ensemble.accuracies.push_back(accuracy);
        if (a.verbose > 0) std::printf("Ensemble: model %zu of %d alone: test_accuracy=%.6f\n", members.size(), a.ensemble, accuracy);
      }
    }
    model = train::average_models(members, "ensemble");
  }

  if (!a.out.empty()) {
    save_run(*model, a.out);
    write_history_csv((fs::path(a.out) / "history.csv").string(), history);
    for (std::size_t k = 1; k < trained.size(); ++k) {
      write_history_csv((fs::path(a.out) / ("history_model_" + std::to_string(k + 1) + ".csv")).string(), trained[k].history);
    }
    write_run_events(*model, history, a.out);
  }
  std::map<std::string, double> test_result;
  Tensor test_prob;
  if (has_test) {
    test_prob = test_probabilities(*model, x_test, from_logits, a.tta == "flip");
    test_result = test_metrics(test_prob, y_test);
  }
  if (!a.out.empty()) {
    train::ReportData report = report_data(a, *model, history, ensemble, test_result, classes, ds, x_test, y_test, test_prob);
    report.settings.emplace_back("wall time", wall_time(std::chrono::steady_clock::now() - started));
    // The curves from history.csv as written (9 digits), so `ember report DIR` draws the same page.
    report.history = train::read_history_csv((fs::path(a.out) / "history.csv").string());
    train::write_run_files(a.out, report);
    std::string path = (fs::path(a.out) / "report.html").string();
    train::write_report_html(path, report);
    std::printf("report: %s\n", path.c_str());
  }
  // The last line, by the tool's contract (DESIGN.md).
  if (has_test) std::printf("test_loss=%.6f test_accuracy=%.6f\n", test_result.at("loss"), test_result.at("accuracy"));
  return 0;
}

int run_evaluate(const std::string& model_spec, const std::string& data_spec, int64_t batch_size,
                 const std::string& max_param_memory, const std::string& tta) {
  if (batch_size < 1) throw CLI::ValidationError("--batch-size", "must be at least 1");
  check_tta(tta);
  apply_param_memory_option(max_param_memory);
  nn::reset_layer_names();
  data::TrainTestData ds = data::load_dataset(data_spec);
  if (!ds.test.images.defined()) throw ValueError("data '" + data_spec + "' has no test split to evaluate on");
  auto model = train::load_trained_model(model_spec);
  Tensor x_test = data::images_to_float(ds.test.images);
  check_labels(ds.test.labels, model->predict(slice(x_test, 0, 0, 1), {.batch_size = 1}).size(-1), "test");
  if (tta == "flip") {  // the metrics ember train --tta flip reports
    std::map<std::string, double> result =
        test_metrics(test_probabilities(*model, x_test, !train::ends_in_softmax(*model), true, batch_size), ds.test.labels);
    std::printf("test_loss=%.6f test_accuracy=%.6f\n", result.at("loss"), result.at("accuracy"));
    return 0;
  }
  model->compile({.optimizer = "adam",
                  .loss = losses::SparseCategoricalCrossentropy({.from_logits = !train::ends_in_softmax(*model)}),
                  .metrics = {"accuracy"}});
  auto result = model->evaluate(x_test, ds.test.labels, {.batch_size = batch_size});
  std::printf("test_loss=%.6f test_accuracy=%.6f\n", result.at("loss"), result.at("accuracy"));
  return 0;
}

}  // namespace

constexpr const char* kDataHelp =
    "fashion-mnist, mnist:DIR, idx:DIR, cifar10:DIR, csv:FILE[:label=COLUMN], npz:FILE or folder:DIR";

void add_train_commands(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* train = app.add_subcommand("train", "train a model on a data set");
  train->add_option("--model", args->model, "built-in name (mlp, cnn, fmnist-convbn, fmnist-resnet: each with its own training recipe), Keras JSON or .h5 file, or a directory from --out (architecture only)")->required();
  train->add_option("--data", args->data, kDataHelp)->required();
  // The recipe options: their defaults are the general recipe's, or a built-in model's own.
  GivenOptions given{};
  given.epochs = train->add_option("--epochs", args->epochs, "epochs (default 10, or the built-in model's recipe)");
  given.batch_size = train->add_option("--batch-size", args->batch_size, "mini-batch size (default 128)");
  given.optimizer = train->add_option("--optimizer", args->optimizer, "sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, nadam (default adam)");
  given.learning_rate = train->add_option("--learning-rate", args->learning_rate, "initial learning rate (default 1e-3)");
  given.schedule = train->add_option("--schedule", args->schedule, "learning-rate schedule: cosine (decay to 0 over the run, default) or constant");
  given.warmup_epochs = train->add_option("--warmup-epochs", args->warmup_epochs,
                                          "linear learning-rate warm-up from 0 over this many epochs before the schedule (default 0)");
  given.label_smoothing = train->add_option("--label-smoothing", args->label_smoothing,
                                            "smooth the one-hot labels: y(1-e) + e/classes (default 0)");
  given.time_limit = train->add_option(
      "--time-limit", args->time_limit,
      "minutes the run should end within: after the first epoch (and again after each later one) it plans the epochs that fit "
      "at the pace so far, the schedule ending with them (default: none, or the built-in model's recipe; 0: none)");
  given.weight_decay = train->add_option(
      "--weight-decay", args->weight_decay,
      "decoupled weight decay of any optimizer, as Keras 3 (default 0; adamw 0.004): w -= lr*decay*w each step");
  train->add_option(
      "--no-decay", args->no_decay,
      "comma-separated parameter-name patterns (regular expressions, searched in names like 'block_bn/gamma') left out of "
      "the weight decay, as Keras 3's exclude_from_weight_decay, e.g. gamma,beta,bias (default: none)");
  train->add_option("--lr-floor", args->lr_floor,
                    "the cosine schedule ends at this fraction of the learning rate instead of 0 (Keras CosineDecay's alpha; default 0)")
      ->check(CLI::Range(0.0, 1.0));
  train->add_option("--swa-epochs", args->swa_epochs,
                    "stochastic weight averaging: the model ends with the mean of the weights at the ends of the last K epochs, "
                    "batch-norm statistics recomputed for it (default 0: none; pair with --lr-floor)")
      ->check(CLI::NonNegativeNumber);
  given.sam = train->add_option("--sam", args->sam,
                                 "sharpness-aware minimization with this radius rho (e.g. 0.05): each step takes its gradient where the "
                                 "loss rises fastest within rho of the weights, at the cost of a second pass (default 0: none, or the "
                                 "built-in model's recipe)")
                  ->check(CLI::NonNegativeNumber);
  given.sam_fraction = train->add_option("--sam-fraction", args->sam_fraction,
                                         "with --sam: find that point from this leading fraction of each (shuffled) batch, so the extra "
                                         "pass costs about that fraction of a step (default 1, or the built-in model's recipe)")
                           ->check(CLI::Range(0.0, 1.0));
  train->add_option("--ema", args->ema,
                    "average the weights over the steps, as Keras 3's use_ema with this ema_momentum (e.g. 0.999): "
                    "average = m*average + (1-m)*w after each step, and the model ends training with the averages (default 0: none)");
  given.ensemble = train->add_option(
      "--ensemble", args->ensemble,
      "train K models, one after another with seeds --seed, --seed+1, ... (each its share of --time-limit), and save one model "
      "that averages their outputs (default 1, or the built-in model's recipe; not with --checkpoint-dir or --tensorboard)");
  given.tta = train->add_option("--tta", args->tta, "test-time augmentation: none (default) or flip (average each test image's and its mirror's predictions)");
  train->add_option("--validation-split", args->validation_split, "fraction of the training data held out (default: validate on the test split)")
      ->check(CLI::Range(0.0, 0.99));
  train->add_option("--seed", args->seed, "random seed (default 42)");
  train->add_option("--threads", args->threads, "intra-op threads (default: automatic, all cores other processes leave free)")
      ->check(CLI::Range(1, 1 << 16).description("at least 1"));
  train->add_option("--out", args->out, "directory for model.json, model.safetensors, model.h5, history.csv, report.html and the files ember report reads (run.json, test_predictions.npy, misclassified.npy)");
  train->add_option("--checkpoint-dir", args->checkpoint_dir,
                    "directory for a full checkpoint after every epoch (the last 5 kept; index file 'checkpoint')");
  train->add_flag("--resume", args->resume,
                  "continue from the latest checkpoint in --checkpoint-dir (same settings; history.csv covers the whole run)");
  train->add_option("--tensorboard", args->tensorboard,
                    "write TensorBoard event files into DIR/train and DIR/validation (epoch scalars, weight histograms, the graph)");
  train->add_option("--verbose", args->verbose, "0 silent, 1 progress bar, 2 one line per epoch")->check(CLI::Range(0, 2));
  const char* budget_help = "refuse models whose weights need more memory than SIZE (e.g. 512M, 4G; default: the memory available)";
  train->add_option("--max-param-memory", args->max_param_memory, budget_help);
  train->add_option("--image-size", args->image_size, "folder:DIR data: resize every image to HxW (e.g. 28x28; default: the files' own size)");
  train->add_option("--color", args->color, "folder:DIR data: rgb (default) or grayscale");
  train->add_option("--test-split", args->test_split,
                    "data without a test split: hold out this fraction (stratified, seeded by --seed) as one")
      ->check(CLI::Range(0.0, 0.99));
  given.augment = train->add_option("--augment", args->augment,
                                    "augment the training images, e.g. flip,rotate=15,shift=0.1,zoom=0.1 (also vflip, shear=, brightness=, "
                                    "channel_shift=, erase= (random erasing's probability), fill=nearest|constant|reflect|wrap, cval=; none: no augmentation)");
  train->callback([args, given] {
    apply_recipe(*args, given);
    run_train(*args);
  });

  auto model = std::make_shared<std::string>();
  auto data = std::make_shared<std::string>();
  auto batch = std::make_shared<int64_t>(256);
  auto budget = std::make_shared<std::string>();
  auto tta = std::make_shared<std::string>("none");
  CLI::App* eval = app.add_subcommand("evaluate", "evaluate a trained model on a data set's test split");
  eval->add_option("--model", *model, "a .h5 model, a directory written by ember train --out or --checkpoint-dir, a .json + .safetensors pair, or a checkpoint path")->required();
  eval->add_option("--data", *data, kDataHelp)->required();
  eval->add_option("--batch-size", *batch, "batch size (default 256)");
  eval->add_option("--max-param-memory", *budget, budget_help);
  eval->add_option("--tta", *tta, "test-time augmentation: none (default) or flip (the mean of each test image's and its mirror's probabilities, as ember train --tta flip)");
  eval->callback([model, data, batch, budget, tta] { run_evaluate(*model, *data, *batch, *budget, *tta); });
}

}  // namespace ember::tool
