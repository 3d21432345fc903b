#include "engine/score/scorer.h"

#include <functional>
#include <utility>

#include "engine/base/strings.h"
#include "engine/score/builtin_scorers.h"

namespace fapo {

namespace {

using Factory = std::function<ScorerResult(const ConfigReader&, const std::filesystem::path&)>;

// Wraps a factory that needs no tenant directory.
Factory plain(ScorerResult (*factory)(const ConfigReader&)) {
  return [factory](const ConfigReader& config, const std::filesystem::path&) {
    return factory(config);
  };
}

const std::vector<std::pair<std::string, Factory>>& factories() {
  static const std::vector<std::pair<std::string, Factory>> kFactories = {
      {"exact_match", plain(make_exact_match_scorer)},
      {"token_f1", plain(make_token_f1_scorer)},
      {"contains", plain(make_contains_scorer)},
      {"regex", plain(make_regex_scorer)},
      {"numeric", plain(make_numeric_scorer)},
      {"label", plain(make_label_scorer)},
      {"json_fields", plain(make_json_fields_scorer)},
      {"set_recall", plain(make_set_recall_scorer)},
      {"instructions", plain(make_instructions_scorer)},
      {"composite", make_composite_scorer},
      {"command", make_command_scorer},
      {"trajectory", plain(make_trajectory_scorer)},
      {"judge", make_judge_scorer},
  };
  return kFactories;
}

struct Component {
  double weight = 1;
  std::string label;  // "<index>.<type>", the prefix of its breakdown keys
  std::unique_ptr<Scorer> scorer;
};

// Weighted mean of the components' composites. Breakdown: "<i>.<type>" is a component's
// composite and "<i>.<type>.<key>" its own breakdown.
class CompositeScorer : public Scorer {
 public:
  explicit CompositeScorer(std::vector<Component> components) : components_(std::move(components)) {
    for (const Component& component : components_) total_weight_ += component.weight;
  }

  Status validate_case(const Case& case_data) const override {
    for (const Component& component : components_) {
      Status status = component.scorer->validate_case(case_data);
      if (!status.ok()) return status.error().with_context("component " + component.label);
    }
    return ok_status();
  }

  Result<Score> score(const Case& case_data, const std::string& output,
                      const CaseTrace& trace) const override {
    Score total;
    for (const Component& component : components_) {
      Result<Score> part = component.scorer->score(case_data, output, trace);
      if (!part.ok()) return part.error().with_context("component " + component.label);
      total.composite += component.weight * part->composite / total_weight_;
      total.breakdown[component.label] = part->composite;
      total.judge_usage += part->judge_usage;
      for (const auto& [key, value] : part->breakdown) {
        total.breakdown[component.label + "." + key] = value;
      }
    }
    return total;
  }

 private:
  std::vector<Component> components_;
  double total_weight_ = 0;
};

}  // namespace

ScorerResult make_scorer_at(const nlohmann::json& config, const std::filesystem::path& tenant_dir,
                            const std::string& path) {
  ConfigReader reader(config, path);
  if (!config.is_object()) {
    return make_error(ErrorCode::kInvalidInput,
                      path + ": must be an object with a \"type\", got " + json_type_name(config));
  }
  FAPO_ASSIGN_OR_RETURN(std::string type, reader.required_string("type"));
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories()) {
    if (name == type) return factory(reader, tenant_dir);
    names.push_back(name);
  }
  std::string message = "unknown scorer type '" + type + "'";
  if (auto suggestion = closest_match(type, names)) {
    message += " (did you mean '" + *suggestion + "'?)";
  }
  return reader.error("type", message + "; known types: " + join(names, ", "));
}

Result<std::unique_ptr<Scorer>> make_scorer(const nlohmann::json& config,
                                            const std::filesystem::path& tenant_dir) {
  return make_scorer_at(config, tenant_dir, "scorer");
}

ScorerResult make_composite_scorer(const ConfigReader& config,
                                   const std::filesystem::path& tenant_dir) {
  FAPO_RETURN_IF_ERROR(config.check_keys({"components"}));
  FAPO_ASSIGN_OR_RETURN(std::vector<nlohmann::json> items, config.array("components", true));
  if (items.empty()) return config.error("components", "is empty; list at least one scorer");
  std::vector<Component> components;
  double total_weight = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    ConfigReader item(items[i], config.path_of("components[" + std::to_string(i) + "]"));
    FAPO_RETURN_IF_ERROR(item.check_keys({"weight", "scorer"}));
    Component component;
    FAPO_ASSIGN_OR_RETURN(component.weight, item.number_or("weight", 1.0));
    if (component.weight < 0) return item.error("weight", "must be zero or more");
    if (!item.has("scorer")) return item.error("scorer", "is missing");
    FAPO_ASSIGN_OR_RETURN(component.scorer, make_scorer_at(items[i].at("scorer"), tenant_dir,
                                                           item.path_of("scorer")));
    component.label = std::to_string(i) + "." + items[i].at("scorer").value("type", "");
    total_weight += component.weight;
    components.push_back(std::move(component));
  }
  if (total_weight <= 0) return config.error("components", "weights must not all be zero");
  return std::unique_ptr<Scorer>(std::make_unique<CompositeScorer>(std::move(components)));
}

}  // namespace fapo
