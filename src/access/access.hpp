// Access control at request time: builds the policy's view of the requester and the facts of the
// moment (care relationship, break-glass, unmasks), asks the one decision point, and records every
// denial before answering (fail closed). Break-glass and just-in-time unmask are grants that need
// a reason and a fresh re-authentication, expire on their own, and are audited with the reason
// sealed; break-glass uses wait in a review queue for the privacy officer.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "access/clients.hpp"
#include "access/identity.hpp"
#include "access/policy.hpp"

namespace labvault::access {

struct AccessOptions {
  std::chrono::minutes unmask_for{30};
  std::chrono::minutes break_glass_for{60};
  int review_within_days = 7;  // an unreviewed break-glass use older than this is escalated
  store::Clock clock = store::system_now_us;
};

struct Review {
  store::AccessGrant grant;
  bool escalated = false;  // unreviewed past review_within_days
};

[[nodiscard]] Requester requester_of(const Subject& person);
[[nodiscard]] Requester requester_of(const ClientPrincipal& client);

class Access {
 public:
  Access(store::Store& store, audit::Log& log, Identity& identity, Policy policy,
         AccessOptions options = {});

  // A person as the policy sees them, with their own record linked for each patient role.
  [[nodiscard]] model::Result<Requester> requester(const Subject& person);
  // Links a person holding the patient role in `lab` to their record (a lab administrator).
  [[nodiscard]] model::Result<void> link_patient(const Subject& admin, store::Id user,
                                                 store::Id lab, store::Id patient,
                                                 const RequestContext& ctx);

  // The decision for `who` (user id `user`, 0 for a client) on `what`, for `purpose`. A denial is
  // recorded (action, resource, the rule that denied) before it is returned.
  [[nodiscard]] model::Result<Decision> authorize(const Requester& who, store::Id user,
                                                  std::string_view action, const Resource& what,
                                                  std::string_view purpose,
                                                  const RequestContext& ctx);
  // The facts of the moment for `user` and `what.patient`, as decide() takes them.
  [[nodiscard]] model::Result<Context> context_for(store::Id user, const Resource& what,
                                                   std::string_view purpose);

  // A clinician without a care relationship declares an emergency for one patient.
  [[nodiscard]] model::Result<store::AccessGrant> break_glass(const Subject& who, store::Id lab,
                                                              store::Id patient,
                                                              std::string_view reason,
                                                              const RequestContext& ctx);
  // Shows one sensitive category of one patient for a while, to someone the policy permits.
  [[nodiscard]] model::Result<store::AccessGrant> unmask(const Subject& who, store::Id lab,
                                                         store::Id patient,
                                                         model::Sensitivity category,
                                                         std::string_view reason,
                                                         const RequestContext& ctx);
  // Care-team assignment by a lab administrator (or a system administrator).
  [[nodiscard]] model::Result<store::Id> assign_care(const Subject& admin, store::Id user,
                                                     store::Id lab, store::Id patient,
                                                     std::chrono::hours valid_for,
                                                     const RequestContext& ctx);

  // The break-glass review queue of a lab, for its privacy officer.
  [[nodiscard]] model::Result<std::vector<Review>> reviews(const Subject& officer, store::Id lab,
                                                           bool all, const RequestContext& ctx);
  [[nodiscard]] model::Result<void> review(const Subject& officer, store::Id lab, store::Id grant,
                                           std::string_view disposition, const RequestContext& ctx);

  [[nodiscard]] const Policy& policy() const { return policy_; }

 private:
  [[nodiscard]] model::Result<store::AccessGrant> record_grant(const audit::Event& e,
                                                               std::string_view kind,
                                                               store::Id user,
                                                               std::string_view category,
                                                               std::chrono::minutes lasts);
  [[nodiscard]] model::Result<void> require_role(const Subject& who, store::Id lab,
                                                 std::string_view role) const;

  store::Store& store_;
  audit::Log& log_;
  Identity& identity_;
  Policy policy_;
  AccessOptions options_;
};

}  // namespace labvault::access
