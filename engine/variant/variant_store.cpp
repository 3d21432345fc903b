#include "engine/variant/variant_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>

#include "engine/base/files.h"
#include "engine/base/strings.h"
#include "engine/data/dataset.h"
#include "engine/run/run_id.h"

namespace fapo {
namespace {

using nlohmann::json;

constexpr std::size_t kMinPrefix = 8;
constexpr auto kReadOnlyFile = fs::perms::owner_read | fs::perms::group_read |
                               fs::perms::others_read;
constexpr auto kReadOnlyDir = kReadOnlyFile | fs::perms::owner_exec | fs::perms::group_exec |
                              fs::perms::others_exec;

// Exclusive flock(2) on a file that is never deleted (see run_lock.h for why), held while a
// proposal picks its name and stores. Blocks: proposals are short.
class StoreLock {
 public:
  static Result<StoreLock> acquire(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return make_error(ErrorCode::kIo, path.string() + ": cannot open the lock file");
    if (::flock(fd, LOCK_EX) != 0) {
      ::close(fd);
      return make_error(ErrorCode::kIo, path.string() + ": cannot lock");
    }
    return StoreLock(fd);
  }
  StoreLock(StoreLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;
  StoreLock& operator=(StoreLock&&) = delete;
  ~StoreLock() {
    if (fd_ >= 0) ::close(fd_);  // closing drops the flock
  }

 private:
  explicit StoreLock(int fd) : fd_(fd) {}
  int fd_;
};

bool is_hex(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

bool is_variant_name(const std::string& text) {
  return text.size() >= 4 && text[0] == 'v' &&
         std::all_of(text.begin() + 1, text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string format_name(long number) {
  std::string digits = std::to_string(number);
  if (digits.size() < 3) digits.insert(0, 3 - digits.size(), '0');
  return "v" + digits;
}

// Names sort by number: "v1000" after "v999".
bool name_before(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

// Makes a stored variant's tree writable again so a failed store can be removed.
void remove_tree(const fs::path& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  }
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(dir, ec);
}

// Writes a new file, failing if anything exists at `path` (O_EXCL: no check-then-write race).
Status write_new_file(const fs::path& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    return make_error(errno == EEXIST ? ErrorCode::kConflict : ErrorCode::kIo,
                      path.string() + (errno == EEXIST ? ": already exists; not overwritten"
                                                       : ": cannot create the file"));
  }
  std::size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n <= 0) {
      ::close(fd);
      return make_error(ErrorCode::kIo, path.string() + ": write failed");
    }
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return ok_status();
}

// The files of a variant directory: relative path -> content.
std::map<std::string, std::string> variant_files(const PipelineConfig& pipeline,
                                                 const VariantRecord& record) {
  std::map<std::string, std::string> files;
  files["chain.json"] = pipeline.chain.raw.dump(2) + "\n";
  for (const auto& [file, text] : pipeline.prompts) files["prompts/" + file] = text;
  files["variant.json"] = to_json(record).dump(2) + "\n";
  return files;
}

Result<std::vector<std::string>> keys_in_every_case(const Tenant& tenant) {
  std::map<std::string, std::size_t> counts;
  std::size_t cases = 0;
  Diagnostics problems = read_dataset(tenant.dir / "dataset.jsonl",
                                      tenant.display_dir + "/dataset.jsonl", [&](Case&& item) {
                                        ++cases;
                                        for (const auto& entry : item.context) {
                                          counts[entry.first] += 1;
                                        }
                                      });
  if (!problems.empty()) return diagnostics_error(problems);
  std::vector<std::string> keys;
  for (const auto& [key, count] : counts) {
    if (count == cases) keys.push_back(key);
  }
  return keys;
}

std::atomic<unsigned> temp_counter{0};

}  // namespace

json to_json(const VariantRecord& record) {
  return json{{"variant_id", record.variant_id},     {"name", record.name},
              {"parent_id", record.parent_id},       {"hypothesis", record.hypothesis},
              {"level", level_name(record.level)},   {"edited_steps", record.edited_steps},
              {"changes", record.changes},           {"created_at", record.created_at}};
}

Result<VariantRecord> variant_record_from_json(const json& doc, const std::string& source) {
  try {
    VariantRecord record;
    record.variant_id = doc.at("variant_id").get<std::string>();
    record.name = doc.at("name").get<std::string>();
    record.parent_id = doc.at("parent_id").get<std::string>();
    record.hypothesis = doc.at("hypothesis").get<std::string>();
    auto level = level_from_name(doc.at("level").get<std::string>());
    if (!level) return make_error(ErrorCode::kIo, source + ": field 'level' is not a level");
    record.level = *level;
    record.edited_steps = doc.at("edited_steps").get<std::vector<std::string>>();
    record.changes = doc.at("changes").get<std::vector<json>>();
    record.created_at = doc.at("created_at").get<std::string>();
    return record;
  } catch (const json::exception& error) {
    return make_error(ErrorCode::kIo, source + ": damaged variant record: " + error.what());
  }
}

Result<VariantStore> VariantStore::open(const Workspace& workspace, const Tenant& tenant) {
  FAPO_ASSIGN_OR_RETURN(std::vector<std::string> keys, keys_in_every_case(tenant));
  return VariantStore(workspace, tenant, std::move(keys));
}

std::string VariantStore::display_dir(const std::string& variant_id) const {
  return workspace_.display_path(workspace_.variant_dir(tenant_->id, variant_id));
}

Result<VariantRecord> VariantStore::read_record(const std::string& variant_id) const {
  FAPO_RETURN_IF_ERROR(check_variant_id(variant_id));
  const fs::path file = workspace_.variant_dir(tenant_->id, variant_id) / "variant.json";
  auto text = read_file(file);
  if (!text.ok()) {
    return make_error(ErrorCode::kNotFound, "tenant '" + tenant_->id + "' has no variant " +
                                                variant_id + "; history lists the variants");
  }
  json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  return variant_record_from_json(doc, workspace_.display_path(file));
}

Result<PipelineConfig> VariantStore::load_pipeline(const std::string& variant_id) const {
  FAPO_RETURN_IF_ERROR(read_record(variant_id));
  return fapo::load_pipeline(workspace_.variant_dir(tenant_->id, variant_id),
                             display_dir(variant_id));
}

Result<std::vector<VariantRecord>> VariantStore::list() const {
  std::vector<VariantRecord> records;
  std::error_code ec;
  for (auto it = fs::directory_iterator(workspace_.variants_dir(tenant_->id), ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string id = it->path().filename().string();
    if (!check_variant_id(id).ok()) continue;  // .lock, temporary directories
    FAPO_ASSIGN_OR_RETURN(VariantRecord record, read_record(id));
    records.push_back(std::move(record));
  }
  std::sort(records.begin(), records.end(),
            [](const auto& a, const auto& b) { return name_before(a.name, b.name); });
  return records;
}

Result<std::string> VariantStore::next_name() const {
  FAPO_ASSIGN_OR_RETURN(std::vector<VariantRecord> records, list());
  long next = 0;
  for (const VariantRecord& record : records) {
    if (is_variant_name(record.name)) next = std::max(next, std::stol(record.name.substr(1)) + 1);
  }
  return format_name(next);
}

Result<VariantRecord> VariantStore::store(const PipelineConfig& pipeline, VariantRecord record,
                                          const Admission& admit) {
  const fs::path variants = workspace_.variants_dir(tenant_->id);
  std::error_code ec;
  fs::create_directories(variants, ec);
  if (ec) return make_error(ErrorCode::kIo, variants.string() + ": " + ec.message());
  FAPO_ASSIGN_OR_RETURN(StoreLock lock, StoreLock::acquire(variants / ".lock"));
  record.variant_id = pipeline.content_hash();
  if (auto existing = read_record(record.variant_id); existing.ok()) {
    return make_error(ErrorCode::kConflict,
                      "this chain and these prompts are already stored as variant " +
                          existing->name + " (" + record.variant_id +
                          "); every variant must differ from all earlier ones");
  }
  if (admit) FAPO_RETURN_IF_ERROR(admit());
  FAPO_ASSIGN_OR_RETURN(record.name, next_name());
  record.created_at = format_timestamp(std::chrono::system_clock::now());
  const fs::path temp = variants / (".tmp-" + std::to_string(::getpid()) + "-" +
                                    std::to_string(temp_counter++) + "-" + record.name);
  for (const auto& [relative, content] : variant_files(pipeline, record)) {
    if (Status written = write_file_atomic(temp / relative, content); !written.ok()) {
      remove_tree(temp);
      return written.error();
    }
  }
  // The stored files must hash to the id they are stored under, or the store would lie.
  auto reloaded = fapo::load_pipeline(temp, workspace_.display_path(temp));
  if (!reloaded.ok() || reloaded->content_hash() != record.variant_id) {
    remove_tree(temp);
    return make_error(ErrorCode::kInternal, "variant " + record.name +
                                                ": the stored files do not reproduce its id");
  }
  fs::permissions(temp / "chain.json", kReadOnlyFile, ec);
  fs::permissions(temp / "variant.json", kReadOnlyFile, ec);
  for (const auto& [file, text] : pipeline.prompts) {
    fs::permissions(temp / "prompts" / file, kReadOnlyFile, ec);
  }
  if (fs::exists(temp / "prompts")) fs::permissions(temp / "prompts", kReadOnlyDir, ec);
  fs::permissions(temp, kReadOnlyDir, ec);
  fs::rename(temp, workspace_.variant_dir(tenant_->id, record.variant_id), ec);
  if (ec) {
    remove_tree(temp);
    return make_error(ErrorCode::kIo, "cannot store variant " + record.name + ": " + ec.message());
  }
  return record;
}

Result<VariantRecord> VariantStore::ensure_baseline() {
  const std::string id = tenant_->baseline.content_hash();
  if (auto existing = read_record(id); existing.ok()) return existing;
  VariantRecord record;
  record.level = Level::kBaseline;
  record.hypothesis = "the tenant's baseline pipeline (tenants/" + tenant_->id + ")";
  for (const StepDef* step : all_steps(tenant_->baseline.chain)) {
    record.edited_steps.push_back(step->id);
  }
  auto stored = store(tenant_->baseline, record);
  // Another process stored the same baseline between our check and our lock.
  if (!stored.ok() && stored.error().code == ErrorCode::kConflict) return read_record(id);
  return stored;
}

Result<VariantRecord> VariantStore::propose(const std::string& parent_id,
                                            const VariantEdits& edits,
                                            const std::string& hypothesis,
                                            const Admission& admit) {
  if (trim(hypothesis).empty()) {
    return make_error(ErrorCode::kInvalidInput,
                      "hypothesis is empty: say which failure this change should fix and why");
  }
  FAPO_ASSIGN_OR_RETURN(VariantRecord parent, read_record(parent_id));
  FAPO_ASSIGN_OR_RETURN(PipelineConfig parent_pipeline, load_pipeline(parent_id));
  BuildContext context{tenant_, context_keys_, "candidate"};
  auto candidate = build_pipeline(parent_pipeline, edits, context);
  if (!candidate.ok()) {
    return candidate.error().with_context("the proposed variant of " + parent.name +
                                          " is invalid and was not stored");
  }
  VariantDiff diff = diff_pipelines(parent_pipeline, *candidate);
  VariantRecord record;
  record.parent_id = parent.variant_id;
  record.hypothesis = trim(hypothesis);
  record.level = diff.level;
  record.edited_steps = std::move(diff.edited_steps);
  record.changes = std::move(diff.changes);
  return store(*candidate, std::move(record), admit);
}

Result<VariantRecord> VariantStore::find(const std::string& reference) {
  const std::string usage =
      "; refer to a variant by its name (\"v003\"), its id (64 hex digits) or a unique prefix "
      "of at least 8 hex digits, \"baseline\" or \"best\"";
  if (reference == "baseline") return ensure_baseline();
  if (is_variant_name(reference)) {
    FAPO_ASSIGN_OR_RETURN(std::vector<VariantRecord> records, list());
    for (VariantRecord& record : records) {
      if (record.name == reference) return std::move(record);
    }
    std::string last = records.empty() ? "none" : records.back().name;
    return make_error(ErrorCode::kNotFound, "no variant named '" + reference +
                                                "' (the latest is " + last + ")" + usage);
  }
  const std::string lower = to_lower(reference);
  if (lower.empty() || !is_hex(lower) || lower.size() > 64) {
    return make_error(ErrorCode::kInvalidInput,
                      "'" + truncate_utf8(reference, 80) + "' is not a variant reference" + usage);
  }
  if (lower.size() == 64) return read_record(lower);
  if (lower.size() < kMinPrefix) {
    return make_error(ErrorCode::kInvalidInput, "variant id prefix '" + lower +
                                                    "' is too short" + usage);
  }
  FAPO_ASSIGN_OR_RETURN(std::vector<VariantRecord> records, list());
  std::vector<VariantRecord> matches;
  for (VariantRecord& record : records) {
    if (starts_with(record.variant_id, lower)) matches.push_back(std::move(record));
  }
  if (matches.size() == 1) return std::move(matches.front());
  if (matches.empty()) {
    return make_error(ErrorCode::kNotFound, "no variant id starts with '" + lower + "'" + usage);
  }
  std::vector<std::string> names;
  for (const auto& match : matches) names.push_back(match.name);
  return make_error(ErrorCode::kInvalidInput, "variant id prefix '" + lower +
                                                  "' is ambiguous (" + join(names, ", ") +
                                                  "); give more digits or the name");
}

Result<std::vector<std::string>> VariantStore::export_to(const std::string& variant_id,
                                                         const std::string& user_path) const {
  FAPO_ASSIGN_OR_RETURN(VariantRecord record, read_record(variant_id));
  FAPO_ASSIGN_OR_RETURN(PipelineConfig pipeline, load_pipeline(variant_id));
  FAPO_ASSIGN_OR_RETURN(fs::path target, workspace_.resolve_inside(user_path));
  std::error_code ec;
  if (fs::exists(target, ec) && !fs::is_directory(target, ec)) {
    return make_error(ErrorCode::kConflict, workspace_.display_path(target) +
                                                " exists and is not a directory; give a new "
                                                "or empty directory");
  }
  const auto files = variant_files(pipeline, record);
  std::vector<std::string> existing;
  for (const auto& entry : files) {
    if (fs::exists(fs::symlink_status(target / entry.first, ec))) {
      existing.push_back(workspace_.display_path(target / entry.first));
    }
  }
  if (!existing.empty()) {
    return make_error(ErrorCode::kConflict, "export would overwrite " + join(existing, ", ") +
                                                "; nothing was written. Give a new directory.");
  }
  std::vector<std::string> written;
  for (const auto& [relative, content] : files) {
    fs::create_directories((target / relative).parent_path(), ec);
    FAPO_RETURN_IF_ERROR(write_new_file(target / relative, content));
    written.push_back(workspace_.display_path(target / relative));
  }
  return written;
}

}  // namespace fapo
