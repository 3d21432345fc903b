// The response cache: model replies stored in SQLite, keyed by everything that determines a
// reply — provider, base URL, model, every sampling parameter (seed included), the messages
// (with their tool calls and tool call ids), the tools offered and the tool choice — and a
// sample index, so repeated trials at temperature > 0 stay distinct while a re-run of the same
// request is exact and free. A hit returns the stored reply marked cached,
// with the latency of the original call. Errors are never stored.
//
// The database runs in WAL mode with a busy timeout, so threads of one process and several
// processes may read and write it at once. ResponseCache and CachingClient are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/llm/model.h"

struct sqlite3;

namespace fapo {

enum class CacheMode {
  kNormal,      // read, and store what was missing
  kDisabled,    // neither read nor write (--no-cache)
  kReplayOnly,  // read only; a miss is an error (reproducible offline runs)
};

// What a request's key is computed from, besides the request itself.
struct CacheKeyScope {
  std::string provider;  // "openai", "anthropic", "sim"
  std::string base_url;
  // The simulated model builds replies from the case's expected answer, which is not in the
  // prompt; its key must then name the case.
  std::string case_id;
};

// The canonical JSON the key hashes (sorted keys, no whitespace); shown in traces on a miss.
nlohmann::json cache_key_material(const CacheKeyScope& scope, const ModelRequest& request);
// Lowercase hex SHA-256 of the canonical key material.
std::string cache_key(const CacheKeyScope& scope, const ModelRequest& request);

// Reply ⇄ stored JSON (text, tokens, finish reason, tool calls, latency, sim trace).
nlohmann::json reply_to_json(const ModelReply& reply);
Result<ModelReply> reply_from_json(const nlohmann::json& json);

class ResponseCache {
 public:
  // Opens or creates the database (and its directory).
  static Result<std::unique_ptr<ResponseCache>> open(const std::filesystem::path& path);
  ~ResponseCache();
  ResponseCache(const ResponseCache&) = delete;
  ResponseCache& operator=(const ResponseCache&) = delete;

  // The stored reply (cached = true, original latency), or nullopt.
  Result<std::optional<ModelReply>> lookup(const std::string& key);
  // Stores a reply; an existing entry for the key is kept (the first reply is the record).
  Status store(const std::string& key, const ModelReply& reply);
  Result<std::int64_t> size();
  const std::filesystem::path& path() const { return path_; }

 private:
  ResponseCache(std::filesystem::path path, sqlite3* db);
  std::filesystem::path path_;
  std::mutex mutex_;  // guards db_: one connection, used by one thread at a time
  sqlite3* db_ = nullptr;
};

struct CacheStats {
  std::int64_t hits = 0;
  std::int64_t misses = 0;  // calls passed to the inner client
  std::int64_t stored = 0;
  std::int64_t store_failures = 0;
};

// A ModelClient that answers from the cache and otherwise asks `inner`, storing its reply.
// Concurrent identical requests make one inner call: the others wait for it and share its
// reply. A cache that fails to read or write is logged and bypassed (it is an optimisation),
// except in replay-only mode, where nothing may reach the provider.
class CachingClient : public ModelClient {
 public:
  struct Options {
    CacheMode mode = CacheMode::kNormal;
    std::string base_url;       // part of the key
    bool key_by_case = false;   // add the case id to the key (for the simulated model)
  };

  // `cache` must outlive the client; it may be null only in kDisabled mode.
  CachingClient(std::unique_ptr<ModelClient> inner, ResponseCache* cache, Options options);

  Result<ModelReply> complete(const ModelRequest& request, const CallContext& context) override;
  std::string provider() const override { return inner_->provider(); }
  CacheStats stats() const;

 private:
  struct Flight;
  Result<ModelReply> call_and_store(const ModelRequest& request, const CallContext& context,
                                    const std::string& key);

  std::unique_ptr<ModelClient> inner_;
  ResponseCache* cache_;
  Options options_;

  std::atomic<std::int64_t> hits_{0}, misses_{0}, stored_{0}, store_failures_{0};

  std::mutex flights_mutex_;  // guards flights_
  std::map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace fapo
