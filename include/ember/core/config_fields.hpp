#pragma once
// The one reader of Keras config objects ({"units": 10, "activation": "relu", ...}) used by every
// from_config in Ember: layers, initializers, regularizers, losses, metrics and optimizers. It
// lives in core so that every layer of the library (nn, optim, ...) shares it and its wording.
//
//   ConfigFields f(config, "layer", "Conv2D");
//   int64_t filters = f.positive("filters");            // required
//   bool bias = f.boolean("use_bias", true);              // optional, with its default
//
// Every error is a FormatError with one wording:
//   field 'filters' of layer 'conv2d' (Conv2D): expected a positive integer, got -3
//   field 'l2' of regularizer 'L1L2': expected a finite number, got "x"
// ("got nothing" for a required field that is absent; the object is named by its "name" field
// when it has one, else by its class). A JSON null counts as absent (Keras writes null for "unset").
#include <cstdint>
#include <initializer_list>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ember {

// `text` parsed as JSON. Any failure — bad syntax, or a number outside double's range such as
// 1e400 — is a FormatError "<what>: malformed JSON at byte N: <reason>" (never an nlohmann exception).
nlohmann::json parse_json(const std::string& text, const std::string& what);

// One line of JSON for error messages, cut to about 60 characters.
std::string short_dump(const nlohmann::json& value);

// A Keras object reference {"class_name": "L1L2", "config": {...}} (as initializers, regularizers,
// losses, metrics and optimizers are written; "module" and "registered_name" are accepted and
// ignored). `config` points into `j`, or to an empty object when absent or null. FormatError
// naming `kind` for a non-object, a missing or non-string class_name, or any other key.
struct ConfigReference {
  std::string class_name;
  const nlohmann::json* config;
};
ConfigReference read_reference(const nlohmann::json& j, const std::string& kind);

// FormatError "<kind> config: unknown <kind> class \"<class_name>\"".
[[noreturn]] void throw_unknown_class(const std::string& kind, const std::string& class_name);

// The registry of one kind (initializers, losses, ...): Keras class name (and aliases) -> the
// class's static from_config. Each kind's .cpp holds one, so a new class is one line there.
template <typename Ptr>
class ClassTable {
 public:
  using Factory = Ptr (*)(const nlohmann::json& config);
  ClassTable(std::string kind, std::map<std::string, Factory> factories)
      : kind_(std::move(kind)), factories_(std::move(factories)) {}

  // The factory of `class_name`, or nullptr.
  Factory find(const std::string& class_name) const {
    auto it = factories_.find(class_name);
    return it == factories_.end() ? nullptr : it->second;
  }
  // The object a {"class_name", "config"} reference describes (read_reference's rules).
  Ptr from_reference(const nlohmann::json& j) const {
    ConfigReference ref = read_reference(j, kind_);
    Factory f = find(ref.class_name);
    if (!f) throw_unknown_class(kind_, ref.class_name);
    return f(*ref.config);
  }
  // The names in the table, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& entry : factories_) out.push_back(entry.first);
    return out;
  }

 private:
  std::string kind_;
  std::map<std::string, Factory> factories_;
};

class ConfigFields {
 public:
  // Integers above this are no real size, axis or count in a config and would overflow shape
  // arithmetic; integer() and ints() reject them.
  static constexpr int64_t kMaxInt = int64_t{1} << 31;

  // How a JSON null in a typed field reads: as absent (Keras layers write null for "default"), or
  // as an error (initializers and regularizers, whose every field has a value).
  enum class Nulls { Absent, Invalid };

  // `kind` is "layer", "initializer", "regularizer", "loss", "metric" or "optimizer"; `class_name`
  // the Keras class ("Conv2D"). Throws FormatError when `config` is not an object or its "name"
  // is not a non-empty string (null and absent are fine). The reader keeps a reference to
  // `config`: it must outlive the reader.
  ConfigFields(const nlohmann::json& config, std::string kind, std::string class_name, Nulls nulls = Nulls::Absent);

  const std::string& name() const { return name_; }  // the "name" field; empty when absent
  const std::string& class_name() const { return class_; }
  // "layer 'conv2d' (Conv2D)", or "regularizer 'L1L2'" for an unnamed object.
  std::string label() const;

  // FormatError "field '<key>' of <label>: expected <expected>, got <short dump | nothing>".
  [[noreturn]] void fail(const std::string& key, const std::string& expected) const;

  // The value of `key`, or nullptr when absent or null. Marks `key` as read (see finish()).
  const nlohmann::json* find(const std::string& key) const;

  // Typed reads. With no fallback the field is required; with one, an absent field returns it.
  int64_t integer(const std::string& key, std::optional<int64_t> fallback = std::nullopt, int64_t min = -kMaxInt) const;
  int64_t positive(const std::string& key, std::optional<int64_t> fallback = std::nullopt) const;
  // An integer or a list of `n` integers (Keras tuples: kernel_size 3 or [3, 3]), each >= min.
  std::vector<int64_t> ints(const std::string& key, std::size_t n, std::optional<int64_t> fallback,
                            int64_t min = 1) const;
  double number(const std::string& key, std::optional<double> fallback = std::nullopt) const;  // finite
  std::optional<double> optional_number(const std::string& key) const;                         // null -> nullopt
  bool boolean(const std::string& key, std::optional<bool> fallback = std::nullopt) const;
  std::string string(const std::string& key, std::optional<std::string> fallback = std::nullopt) const;
  // Keras's "seed": null or a non-negative integer.
  std::optional<uint64_t> seed(const std::string& key = "seed") const;

  // Fields that would change the computation and that Ember does not implement: present only
  // with the value that means "off".
  void require_null(const std::string& key) const;
  void require_false(const std::string& key) const;
  void require_int(const std::string& key, int64_t expected) const;

  // Marks fields as read without reading them (fields Ember accepts and ignores, e.g. "dtype").
  void ignore(std::initializer_list<const char*> keys) const;
  // For strict kinds (initializers, regularizers): FormatError naming the first field of the
  // config that no read asked about.
  void finish() const;

 private:
  [[noreturn]] void fail_value(const std::string& key, const std::string& expected, const nlohmann::json* got) const;
  // What a typed read sees: find(), except that with Nulls::Invalid an explicit null is returned.
  const nlohmann::json* typed(const std::string& key) const;

  const nlohmann::json& config_;
  std::string kind_;
  std::string class_;
  std::string name_;
  Nulls nulls_;
  mutable std::set<std::string> read_;
};

}  // namespace ember
