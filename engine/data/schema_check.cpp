#include "engine/data/schema_check.h"

// Without this, valijson reports a broken schema by printing and calling abort(); with it, it
// throws, and from_text/check turn that into an error value. Every translation unit that
// includes valijson must agree on this setting (one definition rule), which is one reason the
// engine keeps valijson behind this file.
#ifndef VALIJSON_USE_EXCEPTIONS
#define VALIJSON_USE_EXCEPTIONS 1
#endif

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include <map>
#include <mutex>
#include <utility>

#include "engine/base/embedded_schemas.h"
#include "engine/base/strings.h"
#include "engine/data/schema_messages.h"

namespace fapo {

struct SchemaChecker::Compiled {
  std::string name;
  nlohmann::json document;
  valijson::Schema schema;
};

namespace {

using nlohmann::json;

Result<std::shared_ptr<const SchemaChecker::Compiled>> compile(const std::string& name,
                                                                std::string_view text) {
  auto compiled = std::make_shared<SchemaChecker::Compiled>();
  compiled->name = name;
  try {
    compiled->document = json::parse(text);
  } catch (const json::parse_error& error) {
    return make_error(ErrorCode::kInvalidInput,
                      "schema " + name + " is not valid JSON: " + error.what());
  }
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(compiled->document);
    parser.populateSchema(adapter, compiled->schema);
  } catch (const std::exception& error) {
    return make_error(ErrorCode::kInvalidInput,
                      "schema " + name + " cannot be compiled: " + error.what());
  }
  return std::shared_ptr<const SchemaChecker::Compiled>(std::move(compiled));
}

}  // namespace

SchemaChecker::SchemaChecker(std::shared_ptr<const Compiled> compiled)
    : compiled_(std::move(compiled)) {}

Result<SchemaChecker> SchemaChecker::from_embedded(const std::string& schema_file) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const Compiled>> cache;  // guarded by mutex
  std::lock_guard<std::mutex> lock(mutex);
  if (auto hit = cache.find(schema_file); hit != cache.end()) return SchemaChecker(hit->second);
  const auto& schemas = embedded_schemas();
  auto text = schemas.find(schema_file);
  if (text == schemas.end()) {
    std::vector<std::string> names;
    for (const auto& [name, unused] : schemas) names.push_back(name);
    return make_error(ErrorCode::kNotFound, "no embedded schema named '" + schema_file +
                                                "'; available: " + join(names, ", "));
  }
  auto compiled = compile(schema_file, text->second);
  // An embedded schema ships with the binary: if it does not compile, that is our bug.
  if (!compiled.ok()) return Error{ErrorCode::kInternal, compiled.error().message};
  cache.emplace(schema_file, *compiled);
  return SchemaChecker(*compiled);
}

Result<SchemaChecker> SchemaChecker::from_text(const std::string& name,
                                               std::string_view schema_text) {
  FAPO_ASSIGN_OR_RETURN(auto compiled, compile(name, schema_text));
  return SchemaChecker(std::move(compiled));
}

Diagnostics SchemaChecker::check(const nlohmann::json& doc, const std::string& file,
                                 int line) const {
  // A validator per call: its regex cache is mutable, and sharing it would need a lock.
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter(doc);
  try {
    if (validator.validate(compiled_->schema, adapter, &results)) return {};
  } catch (const std::exception& error) {  // e.g. a pattern std::regex rejects
    return {Diagnostic{file, line, "",
                       "cannot be checked: schema " + compiled_->name + " is broken: " +
                           error.what()}};
  }
  std::vector<SchemaFinding> findings;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    findings.push_back(SchemaFinding{std::move(error.context), std::move(error.description)});
  }
  return explain_schema_findings(compiled_->document, doc, findings, file, line);
}

const std::string& SchemaChecker::name() const { return compiled_->name; }

const nlohmann::json& SchemaChecker::schema() const { return compiled_->document; }

}  // namespace fapo
