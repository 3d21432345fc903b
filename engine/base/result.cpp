#include "engine/base/result.h"

namespace fapo {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput: return "invalid_input";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kIo: return "io";
    case ErrorCode::kModelTransient: return "model_transient";
    case ErrorCode::kModelPermanent: return "model_permanent";
    case ErrorCode::kScorer: return "scorer";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

}  // namespace fapo
