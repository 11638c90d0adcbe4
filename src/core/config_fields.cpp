#include "ember/core/config_fields.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "ember/core/error.hpp"

namespace ember {

using json = nlohmann::json;

namespace {

// nlohmann's DOM builder, except that a parse error keeps its byte position. The library reports a
// number outside double's range (1e400) as out_of_range through the same parse_error callback,
// with the position, but the plain json::parse drops the position and throws out_of_range; the
// SAX parser calls parse_error on this type statically, so hiding the base's template is enough.
class PositionedDomParser : public nlohmann::detail::json_sax_dom_parser<json> {
 public:
  explicit PositionedDomParser(json& root) : json_sax_dom_parser(root, /*allow_exceptions=*/false) {}
  template <typename Exception>
  bool parse_error(std::size_t position, const std::string& /*token*/, const Exception& ex) {
    error_position = position;
    error_message = ex.what();
    return false;
  }
  std::size_t error_position = 0;
  std::string error_message;
};

// "[json.exception.parse_error.101] parse error at line 1, column 5: ..." -> the part after the tag.
std::string without_tag(const std::string& m) {
  if (m.rfind("[json.exception.", 0) != 0) return m;
  auto end = m.find("] ");
  return end == std::string::npos ? m : m.substr(end + 2);
}

}  // namespace

json parse_json(const std::string& text, const std::string& what) {
  json root;
  PositionedDomParser sax(root);
  bool ok = false;
  try {
    ok = json::sax_parse(text, &sax);
  } catch (const json::exception& e) {  // a safety net: the parser reports through parse_error
    throw FormatError(what + ": malformed JSON: " + without_tag(e.what()));
  }
  if (!ok || !sax.error_message.empty()) {
    throw FormatError(what + ": malformed JSON at byte " + std::to_string(sax.error_position) + ": " +
                      without_tag(sax.error_message));
  }
  return root;
}

std::string short_dump(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

ConfigReference read_reference(const json& j, const std::string& kind) {
  if (!j.is_object()) throw FormatError(kind + " config: expected a JSON object, got " + short_dump(j));
  auto cn = j.find("class_name");
  if (cn == j.end() || !cn->is_string()) {
    throw FormatError(kind + " config: expected a string \"class_name\", got " +
                      (cn == j.end() ? std::string("nothing") : short_dump(*cn)));
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "class_name" && it.key() != "config" && it.key() != "module" && it.key() != "registered_name") {
      throw FormatError(kind + " config: expected the keys class_name, config, module, registered_name, got \"" +
                        it.key() + "\"");
    }
  }
  static const json empty = json::object();
  auto cfg = j.find("config");
  return {cn->get<std::string>(), cfg == j.end() || cfg->is_null() ? &empty : &*cfg};
}

void throw_unknown_class(const std::string& kind, const std::string& class_name) {
  throw FormatError(kind + " config: unknown " + kind + " class \"" + class_name + "\"");
}

ConfigFields::ConfigFields(const json& config, std::string kind, std::string class_name, Nulls nulls)
    : config_(config), kind_(std::move(kind)), class_(std::move(class_name)), nulls_(nulls) {
  if (!config_.is_object()) {
    throw FormatError(label() + ": expected the config to be an object, got " + short_dump(config_));
  }
  if (const json* n = find("name")) {
    if (!n->is_string() || n->get_ref<const std::string&>().empty()) fail_value("name", "a non-empty string", n);
    name_ = n->get<std::string>();
  }
}

std::string ConfigFields::label() const {
  return name_.empty() ? kind_ + " '" + class_ + "'" : kind_ + " '" + name_ + "' (" + class_ + ")";
}

void ConfigFields::fail_value(const std::string& key, const std::string& expected, const json* got) const {
  throw FormatError("field '" + key + "' of " + label() + ": expected " + expected + ", got " +
                    (got ? short_dump(*got) : std::string("nothing")));
}

void ConfigFields::fail(const std::string& key, const std::string& expected) const {
  auto it = config_.find(key);
  fail_value(key, expected, it == config_.end() ? nullptr : &*it);
}

const json* ConfigFields::find(const std::string& key) const {
  read_.insert(key);
  auto it = config_.find(key);
  return it == config_.end() || it->is_null() ? nullptr : &*it;
}

const json* ConfigFields::typed(const std::string& key) const {
  if (nulls_ == Nulls::Absent) return find(key);
  read_.insert(key);
  auto it = config_.find(key);
  return it == config_.end() ? nullptr : &*it;
}

namespace {
// The integer in `v` when it is one within [min, max), else nullopt.
std::optional<int64_t> bounded_int(const json& v, int64_t min, int64_t max) {
  if (!v.is_number_integer()) return std::nullopt;
  if (v.is_number_unsigned() && v.get<uint64_t>() >= static_cast<uint64_t>(max)) return std::nullopt;
  int64_t x = v.get<int64_t>();
  if (x < min || x >= max) return std::nullopt;
  return x;
}

std::string int_range(int64_t min, int64_t max) {
  if (min == 1) return "a positive integer below " + std::to_string(max);
  if (min == 0) return "a non-negative integer below " + std::to_string(max);
  if (min <= -max) return "an integer of magnitude below " + std::to_string(max);
  return "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + ")";
}
}  // namespace

int64_t ConfigFields::integer(const std::string& key, std::optional<int64_t> fallback, int64_t min) const {
  const json* v = typed(key);
  if (!v) {
    if (fallback) return *fallback;
    fail_value(key, int_range(min, kMaxInt), nullptr);
  }
  auto x = bounded_int(*v, std::max(min, -kMaxInt + 1), kMaxInt);
  if (!x) fail_value(key, int_range(min, kMaxInt), v);
  return *x;
}

int64_t ConfigFields::positive(const std::string& key, std::optional<int64_t> fallback) const {
  return integer(key, fallback, 1);
}

std::vector<int64_t> ConfigFields::ints(const std::string& key, std::size_t n, std::optional<int64_t> fallback,
                                        int64_t min) const {
  const json* v = typed(key);
  const std::string each = int_range(min, kMaxInt);
  const std::string what = each + " or a list of " + std::to_string(n) + " of them";
  if (!v) {
    if (!fallback) fail_value(key, what, nullptr);
    return std::vector<int64_t>(n, *fallback);
  }
  if (v->is_number()) {
    auto x = bounded_int(*v, min, kMaxInt);
    if (!x) fail_value(key, what, v);
    return std::vector<int64_t>(n, *x);
  }
  if (!v->is_array() || v->size() != n) fail_value(key, what, v);
  std::vector<int64_t> out;
  for (const json& e : *v) {
    auto x = bounded_int(e, min, kMaxInt);
    if (!x) fail_value(key, what, v);
    out.push_back(*x);
  }
  return out;
}

double ConfigFields::number(const std::string& key, std::optional<double> fallback) const {
  const json* v = typed(key);
  if (!v) {
    if (fallback) return *fallback;
    fail_value(key, "a finite number", nullptr);
  }
  if (!v->is_number() || !std::isfinite(v->get<double>())) fail_value(key, "a finite number", v);
  return v->get<double>();
}

std::optional<double> ConfigFields::optional_number(const std::string& key) const {
  if (!find(key)) return std::nullopt;
  return number(key);
}

bool ConfigFields::boolean(const std::string& key, std::optional<bool> fallback) const {
  const json* v = typed(key);
  if (!v) {
    if (fallback) return *fallback;
    fail_value(key, "true or false", nullptr);
  }
  if (!v->is_boolean()) fail_value(key, "true or false", v);
  return v->get<bool>();
}

std::string ConfigFields::string(const std::string& key, std::optional<std::string> fallback) const {
  const json* v = typed(key);
  if (!v) {
    if (fallback) return *fallback;
    fail_value(key, "a string", nullptr);
  }
  if (!v->is_string()) fail_value(key, "a string", v);
  return v->get<std::string>();
}

std::optional<uint64_t> ConfigFields::seed(const std::string& key) const {
  const json* v = find(key);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  if (v->is_number_integer() && v->get<int64_t>() >= 0) return static_cast<uint64_t>(v->get<int64_t>());
  fail_value(key, "null or a non-negative integer", v);
}

void ConfigFields::require_null(const std::string& key) const {
  if (const json* v = find(key)) fail_value(key, "null (Ember does not support this field)", v);
}

void ConfigFields::require_false(const std::string& key) const {
  if (boolean(key, false)) fail(key, "false (Ember does not support this field)");
}

void ConfigFields::require_int(const std::string& key, int64_t expected) const {
  const json* v = find(key);
  if (v && !(v->is_number_integer() && v->get<int64_t>() == expected)) {
    fail_value(key, std::to_string(expected) + " (Ember supports no other value)", v);
  }
}

void ConfigFields::ignore(std::initializer_list<const char*> keys) const {
  for (const char* k : keys) read_.insert(k);
}

void ConfigFields::finish() const {
  for (auto it = config_.begin(); it != config_.end(); ++it) {
    if (!read_.count(it.key())) fail_value(it.key(), "no such field (the class does not have it)", &*it);
  }
}

}  // namespace ember
