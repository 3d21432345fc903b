#include "engine/llm/response_cache.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "engine/base/files.h"
#include "engine/base/sqlite.h"

namespace fapo {
namespace {

using nlohmann::json;

constexpr int kFormatVersion = 1;

const char* const kSchema =
    "CREATE TABLE IF NOT EXISTS replies ("
    "  key TEXT PRIMARY KEY,"
    "  reply TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ") WITHOUT ROWID;";

Error sqlite_error(sqlite3* db, const std::filesystem::path& path, std::string_view doing) {
  return fapo::sqlite_error(db, "response cache", path, doing);
}

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// ---- keys and stored form ----

json cache_key_material(const CacheKeyScope& scope, const ModelRequest& request) {
  json messages = json::array();
  for (const auto& message : request.messages) {
    json entry{{"role", message.role}, {"content", message.content}};
    // Tool fields are added only when present, so keys of plain requests stay as they were.
    if (!message.tool_calls.empty()) entry["tool_calls"] = to_json(message.tool_calls);
    if (!message.tool_call_id.empty()) entry["tool_call_id"] = message.tool_call_id;
    messages.push_back(std::move(entry));
  }
  json material{{"format", kFormatVersion},
                {"provider", scope.provider},
                {"base_url", scope.base_url},
                {"model", request.model},
                {"temperature", request.sampling.temperature},
                {"top_p", request.sampling.top_p},
                {"max_tokens", request.sampling.max_tokens},
                {"seed", request.sampling.seed ? json(*request.sampling.seed) : json()},
                {"messages", messages},
                {"sample_index", request.sample_index}};
  if (!request.tools.empty()) material["tools"] = to_json(request.tools);
  if (!scope.case_id.empty()) material["case_id"] = scope.case_id;
  return material;
}

std::string cache_key(const CacheKeyScope& scope, const ModelRequest& request) {
  // nlohmann::json keeps object keys sorted and dump() adds no whitespace: a canonical form.
  return sha256_hex(cache_key_material(scope, request).dump());
}

json reply_to_json(const ModelReply& reply) {
  json out{{"text", reply.text},
           {"tokens_in", reply.tokens_in},
           {"tokens_out", reply.tokens_out},
           {"finish_reason", reply.finish_reason},
           {"latency_ms", reply.latency_ms}};
  if (!reply.tool_calls.empty()) out["tool_calls"] = to_json(reply.tool_calls);
  if (!reply.sim_trace.is_null()) out["sim_trace"] = reply.sim_trace;
  return out;
}

Result<ModelReply> reply_from_json(const json& stored) {
  try {
    ModelReply reply;
    reply.text = stored.at("text").get<std::string>();
    reply.tokens_in = stored.value("tokens_in", 0);
    reply.tokens_out = stored.value("tokens_out", 0);
    reply.finish_reason = stored.value("finish_reason", "stop");
    reply.latency_ms = stored.value("latency_ms", 0.0);
    reply.sim_trace = stored.value("sim_trace", json());
    if (stored.contains("tool_calls")) {
      for (const json& call : stored.at("tool_calls")) {
        reply.tool_calls.push_back(ToolCall{call.at("id").get<std::string>(),
                                            call.at("name").get<std::string>(),
                                            call.at("arguments").get<std::string>()});
      }
    }
    return reply;
  } catch (const json::exception& error) {
    return make_error(ErrorCode::kIo, std::string("stored reply is damaged: ") + error.what());
  }
}

// ---- ResponseCache ----

ResponseCache::ResponseCache(std::filesystem::path path, sqlite3* db)
    : path_(std::move(path)), db_(db) {}

ResponseCache::~ResponseCache() { sqlite3_close(db_); }

Result<std::unique_ptr<ResponseCache>> ResponseCache::open(const std::filesystem::path& path) {
  // WAL lets readers proceed while one writer appends; NORMAL sync is durable enough for a
  // cache (a lost entry is recomputed).
  FAPO_ASSIGN_OR_RETURN(sqlite3 * db, open_sqlite(path, "response cache", "NORMAL", kSchema));
  return std::unique_ptr<ResponseCache>(new ResponseCache(path, db));
}

Result<std::optional<ModelReply>> ResponseCache::lookup(const std::string& key) {
  std::string stored;
  {
    std::lock_guard lock(mutex_);
    SqliteStatement statement(db_, "SELECT reply FROM replies WHERE key = ?1;");
    if (!statement.ok()) return sqlite_error(db_, path_, "cannot read");
    statement.bind(1, key);
    int rc = sqlite3_step(statement.get());
    if (rc == SQLITE_DONE) return std::optional<ModelReply>();
    if (rc != SQLITE_ROW) return sqlite_error(db_, path_, "cannot read");
    auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement.get(), 0));
    stored.assign(text, static_cast<std::size_t>(sqlite3_column_bytes(statement.get(), 0)));
  }
  auto json = json::parse(stored, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return make_error(ErrorCode::kIo, "response cache " + path_.string() + ": entry " + key +
                                          " is not valid JSON");
  }
  FAPO_ASSIGN_OR_RETURN(ModelReply reply, reply_from_json(json));
  reply.cached = true;
  return std::optional<ModelReply>(std::move(reply));
}

Status ResponseCache::store(const std::string& key, const ModelReply& reply) {
  const std::string value = reply_to_json(reply).dump();
  std::lock_guard lock(mutex_);
  SqliteStatement statement(
      db_, "INSERT OR IGNORE INTO replies (key, reply, created_at) VALUES (?1, ?2, ?3);");
  if (!statement.ok()) return sqlite_error(db_, path_, "cannot write");
  statement.bind(1, key);
  statement.bind(2, value);
  sqlite3_bind_int64(statement.get(), 3, unix_seconds());
  if (sqlite3_step(statement.get()) != SQLITE_DONE) return sqlite_error(db_, path_, "cannot write");
  return ok_status();
}

Result<std::int64_t> ResponseCache::size() {
  std::lock_guard lock(mutex_);
  SqliteStatement statement(db_, "SELECT COUNT(*) FROM replies;");
  if (!statement.ok() || sqlite3_step(statement.get()) != SQLITE_ROW) {
    return sqlite_error(db_, path_, "cannot count");
  }
  return static_cast<std::int64_t>(sqlite3_column_int64(statement.get(), 0));
}

// ---- CachingClient ----

// One inner call in progress; identical concurrent requests wait for it.
struct CachingClient::Flight {
  std::mutex mutex;  // guards done and result
  std::condition_variable finished;
  bool done = false;
  std::optional<Result<ModelReply>> result;
};

CachingClient::CachingClient(std::unique_ptr<ModelClient> inner, ResponseCache* cache,
                             Options options)
    : inner_(std::move(inner)), cache_(cache), options_(std::move(options)) {
  assert(cache_ != nullptr || options_.mode == CacheMode::kDisabled);
}

CacheStats CachingClient::stats() const {
  return CacheStats{hits_.load(), misses_.load(), stored_.load(), store_failures_.load()};
}

Result<ModelReply> CachingClient::complete(const ModelRequest& request,
                                           const CallContext& context) {
  if (options_.mode == CacheMode::kDisabled) {
    ++misses_;
    return inner_->complete(request, context);
  }
  CacheKeyScope scope{inner_->provider(), options_.base_url, ""};
  if (options_.key_by_case && context.case_data != nullptr) {
    scope.case_id = context.case_data->case_id;
  }
  const std::string key = cache_key(scope, request);
  auto found = cache_->lookup(key);
  if (found.ok() && found->has_value()) {
    ++hits_;
    return std::move(**found);
  }
  if (options_.mode == CacheMode::kReplayOnly) {
    std::string where = "step '" + context.step_id + "'";
    if (context.case_data != nullptr) where += ", case '" + context.case_data->case_id + "'";
    where += ", sample " + std::to_string(request.sample_index);
    if (!found.ok()) return found.error().with_context("replay-only mode (" + where + ")");
    return make_error(ErrorCode::kModelPermanent,
                      "cache miss in replay-only mode for " + where +
                          ": no stored reply for this exact request (key " + key.substr(0, 12) +
                          "); run once with the cache enabled, or without replay-only");
  }
  if (!found.ok()) spdlog::warn("{}; calling the model directly", found.error().message);
  return call_and_store(request, context, key);
}

Result<ModelReply> CachingClient::call_and_store(const ModelRequest& request,
                                                 const CallContext& context,
                                                 const std::string& key) {
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    std::lock_guard lock(flights_mutex_);
    auto& slot = flights_[key];
    if (!slot) {
      slot = std::make_shared<Flight>();
      leader = true;
    }
    flight = slot;
  }
  if (!leader) {
    std::unique_lock lock(flight->mutex);
    flight->finished.wait(lock, [&] { return flight->done; });
    ++hits_;
    Result<ModelReply> shared = *flight->result;
    if (shared.ok()) shared->cached = true;
    return shared;
  }
  ++misses_;
  Result<ModelReply> result = inner_->complete(request, context);
  if (result.ok()) {
    if (auto stored = cache_->store(key, *result); stored.ok()) {
      ++stored_;
    } else {
      ++store_failures_;
      spdlog::warn("{}; the reply is used but not cached", stored.error().message);
    }
  }
  {
    std::lock_guard lock(flight->mutex);
    flight->result = result;
    flight->done = true;
  }
  flight->finished.notify_all();
  std::lock_guard lock(flights_mutex_);
  flights_.erase(key);
  return result;
}

}  // namespace fapo
