#include "engine/tools/corpus_search.h"

#include "engine/base/strings.h"

namespace fapo {
namespace {

constexpr int kMaxK = 20;

class CorpusSearch : public ToolProvider {
 public:
  explicit CorpusSearch(std::shared_ptr<const Bm25Index> index) : index_(std::move(index)) {
    ToolDefinition search;
    search.name = kSearchToolName;
    search.description =
        "Searches the reference corpus and returns the best-matching passages, numbered.";
    search.parameters = {
        {"type", "object"},
        {"properties",
         {{"query", {{"type", "string"}, {"description", "What to look for"}}},
          {"k",
           {{"type", "integer"},
            {"minimum", 1},
            {"maximum", kMaxK},
            {"description", "How many passages to return"}}}}},
        {"required", {"query"}}};
    tools_.push_back(std::move(search));
  }

  const std::string& name() const override { return name_; }
  const std::vector<ToolDefinition>& tools() const override { return tools_; }
  std::vector<std::string> allowed_tools() const override { return {kSearchToolName}; }

  ToolResult call(const std::string& tool, const nlohmann::json& arguments,
                  std::chrono::milliseconds, const ToolCallContext& context) override {
    if (tool != kSearchToolName) {
      return {"error: unknown tool '" + tool + "'", ToolErrorKind::kUnknownTool,
              "the built-in provider has no tool '" + tool + "'"};
    }
    const auto query = arguments.find("query");
    if (query == arguments.end() || !query->is_string() || trim(query->get<std::string>()).empty()) {
      return {"error: 'query' must be a non-empty string", ToolErrorKind::kInvalidArguments,
              "search: 'query' must be a non-empty string"};
    }
    int k = context.search_k;
    if (const auto given = arguments.find("k"); given != arguments.end() && given->is_number()) {
      k = given->get<int>();
    }
    if (k < 1 || k > kMaxK) {
      return {"error: 'k' must be between 1 and 20", ToolErrorKind::kInvalidArguments,
              "search: 'k' must be between 1 and 20, got " + std::to_string(k)};
    }
    auto hits = index_->search(query->get<std::string>(), k);
    if (hits.empty()) return {"No passage matches the query.", ToolErrorKind::kNone, ""};
    return {format_passages(*index_, hits), ToolErrorKind::kNone, ""};
  }

 private:
  std::shared_ptr<const Bm25Index> index_;
  std::string name_ = "builtin";
  std::vector<ToolDefinition> tools_;
};

}  // namespace

std::unique_ptr<ToolProvider> make_corpus_search(std::shared_ptr<const Bm25Index> index) {
  return std::make_unique<CorpusSearch>(std::move(index));
}

}  // namespace fapo
