// The Laboratory's review step: the deterministic checks of engine/review, run against every
// variant stored so far, with the verdict and findings journaled. The ReviewContext reads the
// whole dataset, so it is built once per Laboratory, on the first review.

#include <algorithm>

#include "engine/protocol/laboratory.h"

namespace fapo {

Result<std::shared_ptr<const ReviewContext>> Laboratory::review_context() {
  std::lock_guard lock(review_mutex_);
  if (review_context_) return review_context_;
  // Built under the lock: concurrent first reviews wait for one build instead of each
  // reading the dataset. A failed build is not cached, so fixing the tenant is enough.
  FAPO_ASSIGN_OR_RETURN(ReviewContext built, ReviewContext::build(workspace_, *tenant_));
  review_context_ = std::make_shared<const ReviewContext>(std::move(built));
  return review_context_;
}

Result<std::vector<PriorVariant>> Laboratory::prior_variants(const std::string& candidate_id) {
  FAPO_ASSIGN_OR_RETURN(std::vector<VariantRecord> records, store_.list());
  std::vector<PriorVariant> prior;
  prior.reserve(records.size());
  // list() is in name order, which is proposal order. Only variants proposed before the
  // candidate count: a later near-copy must not make an earlier variant its duplicate.
  for (const VariantRecord& record : records) {
    if (record.variant_id == candidate_id) break;
    PriorVariant variant;
    variant.variant_id = record.variant_id;
    variant.name = record.name;
    FAPO_ASSIGN_OR_RETURN(variant.pipeline, store_.load_pipeline(record.variant_id));
    FAPO_ASSIGN_OR_RETURN(auto decision, journal_->latest_decision(record.variant_id));
    if (decision) {
      variant.decision = decision->payload.value("accepted", false) ? "accepted" : "rejected";
    }
    FAPO_ASSIGN_OR_RETURN(auto review, journal_->latest_review(record.variant_id));
    if (review) variant.verdict = review->payload.value("verdict", "");
    prior.push_back(std::move(variant));
  }
  return prior;
}

Result<ReviewReport> Laboratory::review(const std::string& reference, const std::string& actor) {
  FAPO_ASSIGN_OR_RETURN(VariantRecord record, resolve(reference));
  FAPO_ASSIGN_OR_RETURN(std::shared_ptr<const ReviewContext> context, review_context());
  FAPO_ASSIGN_OR_RETURN(PipelineConfig candidate, store_.load_pipeline(record.variant_id));
  std::optional<PipelineConfig> parent;
  if (!record.parent_id.empty()) {
    FAPO_ASSIGN_OR_RETURN(parent, store_.load_pipeline(record.parent_id));
  }
  ReviewInput input;
  input.level = level_name(record.level);
  input.edited_steps = record.edited_steps;
  input.parent = parent ? &*parent : nullptr;
  input.candidate = &candidate;
  FAPO_ASSIGN_OR_RETURN(input.earlier, prior_variants(record.variant_id));

  FAPO_ASSIGN_OR_RETURN(ReviewReport report, review_variant(*context, input));
  const std::size_t blocking = static_cast<std::size_t>(
      std::count_if(report.findings.begin(), report.findings.end(),
                    [](const ReviewFinding& f) { return f.severity == Severity::kBlock; }));
  const std::string reason = "review of " + record.name + ": " + report.verdict + " (" +
                             std::to_string(report.findings.size()) + " finding(s), " +
                             std::to_string(blocking) + " blocking)";
  auto journaled = journal_->append("review", actor, record.variant_id, reason, to_json(report));
  if (!journaled.ok()) {
    return journaled.error().with_context("the review of " + record.name +
                                          " ran but was not journaled, so it does not count");
  }
  return report;
}

}  // namespace fapo
