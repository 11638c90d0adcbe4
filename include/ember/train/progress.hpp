#pragma once
// Keras-style progress output for fit()/evaluate():
//   Epoch 1/10
//   469/469 [==============================] - 3s 6ms/step - loss: 0.4952 - accuracy: 0.8261
// On a terminal the bar is redrawn in place (at most ~20 times a second); otherwise one line per
// epoch is printed when the epoch ends. Lines are composed in a buffer the bar keeps, so a redraw
// makes no allocation once the first one has sized it (the steady-state rule, DESIGN.md).
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

namespace ember::train {

class ProgressBar {
 public:
  // verbose: 0 silent, 1 bar (one line per epoch when not a terminal), 2 one line per epoch.
  ProgressBar(std::FILE* out, int verbose);
  // steps < 0: unknown (a Dataset whose length is not known); the bar then shows "step/Unknown".
  void begin_epoch(int epoch, int epochs, int64_t steps);
  void update(int64_t step, const std::map<std::string, double>& logs);
  void end_epoch(const std::map<std::string, double>& logs);

 private:
  // Composes the line for `step` into line_.
  void compose(int64_t step, const std::map<std::string, double>& logs, bool final);
  std::string line_;
  std::FILE* out_;
  int verbose_;
  bool tty_;
  int epoch_ = 0, epochs_ = 0;
  int64_t steps_ = 0;
  int64_t last_step_ = 0;  // the last update()'s step (the epoch's length when steps_ is unknown)
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// "loss: 0.4952 - accuracy: 0.8261 - val_loss: ..." in Keras's key order (loss first, then
// metrics, validation entries last).
std::string format_logs(const std::map<std::string, double>& logs);
// The same appended to `out` (no allocation beyond growing `out`).
void append_logs(std::string& out, const std::map<std::string, double>& logs);

}  // namespace ember::train
