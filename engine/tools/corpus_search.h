// The built-in tool "search": BM25 over the tenant's corpus, the same index retrieve steps use.
// Arguments {"query": string, "k": integer 1..20 (default: the react step's search_k)}; the
// result is the numbered passages of a retrieve step, `[i] «title | text»`, one per line.
#pragma once

#include <memory>

#include "engine/retrieve/bm25.h"
#include "engine/tools/tool_set.h"

namespace fapo {

inline constexpr const char* kSearchToolName = "search";

std::unique_ptr<ToolProvider> make_corpus_search(std::shared_ptr<const Bm25Index> index);

}  // namespace fapo
