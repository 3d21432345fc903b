#include "engine/variant/variant_diff.h"

#include <algorithm>
#include <map>

#include "engine/base/strings.h"

namespace fapo {
namespace {

using nlohmann::json;

const std::map<std::string, std::vector<std::string>, std::less<>>& fields_by_kind() {
  static const std::map<std::string, std::vector<std::string>, std::less<>> fields = {
      {"llm", {"temperature", "top_p", "max_tokens"}},
      {"retrieve", {"k"}},
      {"transform", {"max_words", "max_chars"}},
      {"vote", {"n"}},
      {"loop", {"max_iterations"}},
      // `tools` and `tool_choice` are not here: which tools an agent has is its structure.
      {"react",
       {"temperature", "top_p", "max_tokens", "max_iterations", "max_calls_per_iteration",
        "max_calls", "tool_timeout_s", "max_result_chars", "search_k"}},
  };
  return fields;
}

// A step in the flattened chain: its JSON and the loop or vote step holding it ("" at the top).
template <typename Json>
struct Placed {
  Json* step;
  std::string container;
};

template <typename Json>
void collect(Json& steps, const std::string& container, std::vector<Placed<Json>>& out) {
  if (!steps.is_array()) return;
  for (auto& step : steps) {
    if (!step.is_object()) continue;
    out.push_back({&step, container});
    std::string id = step_text(step, "id");
    if (auto body = step.find("steps"); body != step.end()) collect(*body, id, out);
    if (auto inner = step.find("step"); inner != step.end() && inner->is_object()) {
      out.push_back({&*inner, id});
    }
  }
}

template <typename Json>
std::vector<Placed<Json>> placed_steps(Json& chain) {
  std::vector<Placed<Json>> out;
  if (chain.is_object() && chain.contains("steps")) collect(chain["steps"], "", out);
  return out;
}

// The chain with every parameter field removed: equal skeletons mean the same structure.
void strip_parameters(json& chain) {
  for (json* step : raw_steps(chain)) {
    for (const std::string& field : parameter_fields()) step->erase(field);
  }
}

// A step's own settings without children and parameters, for naming what changed in it.
json own_settings(const json& step) {
  json own = step;
  own.erase("steps");
  own.erase("step");
  for (const std::string& field : parameter_fields()) own.erase(field);
  return own;
}

std::string id_of(const json& step) { return step_text(step, "id"); }

void add_unique(std::vector<std::string>& ids, const std::string& id) {
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
}

json structure(std::string detail) {
  return json{{"kind", "structure"}, {"detail", std::move(detail)}};
}

void add_changed_steps(const std::map<std::string, Placed<const json>>& before,
                       const std::vector<Placed<const json>>& after, VariantDiff& diff) {
  for (const auto& placed : after) {
    auto old = before.find(id_of(*placed.step));
    if (old == before.end()) continue;
    const std::string id = id_of(*placed.step);
    json a = own_settings(*old->second.step);
    json b = own_settings(*placed.step);
    std::vector<std::string> fields;
    for (const auto& [key, value] : a.items()) {
      if (!b.contains(key) || b[key] != value) fields.push_back(key);
    }
    for (const auto& [key, value] : b.items()) {
      if (!a.contains(key)) fields.push_back(key);
    }
    if (!fields.empty()) {
      diff.changes.push_back(structure("step '" + id + "' changed: " + join(fields, ", ")));
      add_unique(diff.edited_steps, id);
    }
    if (old->second.container != placed.container) {
      auto where = [](const std::string& c) { return c.empty() ? "the top level" : "'" + c + "'"; };
      diff.changes.push_back(structure("step '" + id + "' moved from " +
                                       where(old->second.container) + " to " +
                                       where(placed.container)));
      add_unique(diff.edited_steps, id);
    }
  }
}

void add_order_changes(const std::vector<std::string>& before_ids,
                       const std::vector<std::string>& after_ids, VariantDiff& diff) {
  std::vector<std::string> common_before;
  std::vector<std::string> common_after;
  for (const auto& id : before_ids) {
    if (std::count(after_ids.begin(), after_ids.end(), id)) common_before.push_back(id);
  }
  for (const auto& id : after_ids) {
    if (std::count(before_ids.begin(), before_ids.end(), id)) common_after.push_back(id);
  }
  if (common_before == common_after) return;
  std::vector<std::string> moved;
  for (std::size_t i = 0; i < common_after.size(); ++i) {
    if (common_after[i] != common_before[i]) {
      moved.push_back(common_after[i]);
      add_unique(diff.edited_steps, common_after[i]);
    }
  }
  diff.changes.push_back(structure("steps reordered: " + join(moved, ", ")));
}

void add_structure_changes(const json& before_chain, const json& after_chain,
                           VariantDiff& diff) {
  auto before = placed_steps(before_chain);
  auto after = placed_steps(after_chain);
  std::map<std::string, Placed<const json>> before_by_id;
  std::vector<std::string> before_ids;
  std::vector<std::string> after_ids;
  for (const auto& placed : before) {
    before_by_id.emplace(id_of(*placed.step), placed);
    before_ids.push_back(id_of(*placed.step));
  }
  for (const auto& placed : after) after_ids.push_back(id_of(*placed.step));
  for (const auto& id : after_ids) {
    if (!before_by_id.count(id)) {
      diff.changes.push_back(structure("step '" + id + "' added"));
      add_unique(diff.edited_steps, id);
    }
  }
  add_changed_steps(before_by_id, after, diff);
  add_order_changes(before_ids, after_ids, diff);
  for (const auto& id : before_ids) {
    if (!std::count(after_ids.begin(), after_ids.end(), id)) {
      diff.changes.push_back(structure("step '" + id + "' removed"));
      add_unique(diff.edited_steps, id);
    }
  }
  for (const auto& [key, value] : after_chain.items()) {
    if (key != "steps" && (!before_chain.contains(key) || before_chain[key] != value)) {
      diff.changes.push_back(structure("chain field '" + key + "' changed"));
    }
  }
  for (const auto& [key, value] : before_chain.items()) {
    if (key != "steps" && !after_chain.contains(key)) {
      diff.changes.push_back(structure("chain field '" + key + "' removed"));
    }
  }
  // Same settings and order, yet a different shape (e.g. a branch target): still structural.
  if (diff.changes.empty()) diff.changes.push_back(structure("the chain's wiring changed"));
}

// Called only when the skeletons are equal, so the flattened steps pair up one to one.
void add_parameter_changes(const json& before_chain, const json& after_chain,
                           VariantDiff& diff) {
  auto before = placed_steps(before_chain);
  auto after = placed_steps(after_chain);
  for (std::size_t i = 0; i < after.size() && i < before.size(); ++i) {
    const json& a = *before[i].step;
    const json& b = *after[i].step;
    for (const std::string& field : parameter_fields()) {
      json from = a.contains(field) ? a[field] : json(nullptr);
      json to = b.contains(field) ? b[field] : json(nullptr);
      if (from == to) continue;
      diff.changes.push_back({{"kind", "parameter"}, {"step", id_of(b)}, {"field", field},
                              {"from", from}, {"to", to}});
      add_unique(diff.edited_steps, id_of(b));
    }
  }
}

void add_prompt_changes(const PipelineConfig& parent, const PipelineConfig& child,
                        VariantDiff& diff) {
  for (const auto& [file, text] : child.prompts) {
    auto old = parent.prompts.find(file);
    if (old != parent.prompts.end() && old->second == text) continue;
    std::string first_step;
    for (const StepDef* step : all_steps(child.chain)) {
      if (!has_prompt(*step) || step->prompt != file) continue;
      if (first_step.empty()) first_step = step->id;
      add_unique(diff.edited_steps, step->id);
    }
    diff.changes.push_back({{"kind", "prompt"}, {"file", file}, {"step", first_step}});
  }
}

}  // namespace

const char* level_name(Level level) {
  switch (level) {
    case Level::kBaseline: return "baseline";
    case Level::kPrompt: return "prompt";
    case Level::kParameter: return "parameter";
    case Level::kStructural: return "structural";
  }
  return "structural";
}

std::optional<Level> level_from_name(std::string_view name) {
  for (Level level : {Level::kBaseline, Level::kPrompt, Level::kParameter, Level::kStructural}) {
    if (name == level_name(level)) return level;
  }
  return std::nullopt;
}

const std::set<std::string>& parameter_fields() {
  static const std::set<std::string> fields = [] {
    std::set<std::string> all;
    for (const auto& [kind, names] : fields_by_kind()) all.insert(names.begin(), names.end());
    return all;
  }();
  return fields;
}

std::vector<std::string> parameter_fields_of_kind(std::string_view kind) {
  auto found = fields_by_kind().find(kind);
  return found == fields_by_kind().end() ? std::vector<std::string>{} : found->second;
}

std::string step_text(const json& step, const char* key) {
  if (!step.is_object()) return "";
  auto found = step.find(key);
  return found != step.end() && found->is_string() ? found->get<std::string>() : "";
}

std::vector<const json*> raw_steps(const json& chain) {
  std::vector<const json*> out;
  for (const auto& placed : placed_steps(chain)) out.push_back(placed.step);
  return out;
}

std::vector<json*> raw_steps(json& chain) {
  std::vector<json*> out;
  for (const auto& placed : placed_steps(chain)) out.push_back(placed.step);
  return out;
}

VariantDiff diff_pipelines(const PipelineConfig& parent, const PipelineConfig& child) {
  VariantDiff diff;
  json before = parent.chain.raw;
  json after = child.chain.raw;
  strip_parameters(before);
  strip_parameters(after);
  if (before != after) {
    add_structure_changes(parent.chain.raw, child.chain.raw, diff);
    diff.level = Level::kStructural;
  } else {
    add_parameter_changes(parent.chain.raw, child.chain.raw, diff);
    if (!diff.changes.empty()) diff.level = Level::kParameter;
  }
  add_prompt_changes(parent, child, diff);
  return diff;
}

}  // namespace fapo
