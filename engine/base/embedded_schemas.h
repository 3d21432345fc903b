// The JSON Schemas of schemas/, compiled into the binary (generated at build time).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace fapo {

// File name (e.g. "tenant.schema.json") -> schema text. Immutable; safe from any thread.
const std::map<std::string, std::string_view>& embedded_schemas();

}  // namespace fapo
