// `labvault access`: explain a decision (which rule, which view, what is masked, and why the other
// rules did not apply) without touching PHI; assign a clinician to a patient's care team; link a
// patient-role person to their own record; the privacy officer's break-glass review queue.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "access/access.hpp"
#include "cli/admin_session.hpp"
#include "cli/cli.hpp"
#include "cli/commands.hpp"

namespace labvault::cli {

using model::ErrorCode;

namespace {

struct AccessArgs {
  std::filesystem::path config;
  std::string as, user, action = "read", resource, lab, purpose = "TREAT";
  store::Id patient = 0;
  std::vector<std::string> sensitive;
  int hours = 24;
  bool all = false;
  store::Id review = 0;
  std::string disposition;
};

int run_explain(const AccessArgs& args) {
  auto s = start(args.config, args.as, true);
  if (!s) return fail(s.error());
  auto lab = lab_id(*(*s)->opened.store, args.lab);
  if (!lab) return fail(lab.error());
  // Explaining someone's access is itself administration of that lab, or the privacy officer's.
  auto officer = (*s)->admin->role_in(*lab);
  if (!(officer && *officer == "privacy-officer")) {
    if (auto r = (*s)->identity->require_admin_of(*(*s)->admin, *lab); !r) return fail(r.error());
  }
  auto subject = (*s)->identity->subject_of(args.user);
  if (!subject) return fail(subject.error());
  access::Resource what{args.resource, *lab, args.patient, {}};
  for (const std::string& code : args.sensitive) {
    auto category = access::parse_sensitivity(code);
    if (!category) return fail({ErrorCode::kUsage, fmt::format("no category '{}'", code), {}});
    what.sensitive.insert(*category);
  }
  auto ctx = (*s)->access->context_for(subject->user, what, args.purpose);
  if (!ctx) return fail(ctx.error());
  auto who = (*s)->access->requester(*subject);
  if (!who) return fail(who.error());
  access::Decision d = (*s)->access->policy().decide(*who, args.action, what, *ctx);
  audit::Event e{.lab = *lab,
                 .actor = (*s)->admin->actor(),
                 .action = audit::Action::kRead,
                 .resource = "AccessPolicy",
                 .patient = args.patient,
                 .listener = "cli",
                 .outcome_detail = "explain"};
  if (auto r = (*s)->opened.audit->record(e); !r) return fail(r.error());
  fmt::print("{} {} {} in lab {}{} for {}: {}\n", access::Identity::normalize_username(args.user),
             args.action, args.resource, args.lab,
             args.patient ? fmt::format(" (patient {})", args.patient) : "", args.purpose,
             d.permit      ? "PERMIT"
             : d.not_found ? "DENY (answered as not found)"
                           : "DENY");
  fmt::print("facts: care relationship {}, break-glass {}, unmasked {}\n",
             ctx->care_relationship ? "yes" : "no", ctx->break_glass ? "active" : "no",
             ctx->unmasked.empty() ? "none" : "some");
  if (d.permit) {
    const access::View* v = (*s)->access->policy().view(d.view);
    fmt::print("view {}: {}\n", d.view, v ? fmt::format("{}", fmt::join(v->fields, " ")) : "?");
  }
  for (const std::string& line : d.explanation) fmt::print("  {}\n", line);
  return d.permit ? kExitOk : kExitUserError;
}

int run_assign(const AccessArgs& args) {
  auto s = start(args.config, args.as, true);
  if (!s) return fail(s.error());
  auto lab = lab_id(*(*s)->opened.store, args.lab);
  if (!lab) return fail(lab.error());
  auto subject = (*s)->identity->subject_of(args.user);
  if (!subject) return fail(subject.error());
  auto id = (*s)->access->assign_care(*(*s)->admin, subject->user, *lab, args.patient,
                                      std::chrono::hours(args.hours), (*s)->ctx);
  if (!id) return fail(id.error());
  fmt::print("{} is on the care team of patient {} in {} for {} hours\n",
             access::Identity::normalize_username(args.user), args.patient, args.lab, args.hours);
  return kExitOk;
}

int run_link(const AccessArgs& args) {
  auto s = start(args.config, args.as, true);
  if (!s) return fail(s.error());
  auto lab = lab_id(*(*s)->opened.store, args.lab);
  if (!lab) return fail(lab.error());
  auto subject = (*s)->identity->subject_of(args.user);
  if (!subject) return fail(subject.error());
  if (auto r =
          (*s)->access->link_patient(*(*s)->admin, subject->user, *lab, args.patient, (*s)->ctx);
      !r) {
    return fail(r.error());
  }
  fmt::print("{} now reads their own results as patient {} in {}\n",
             access::Identity::normalize_username(args.user), args.patient, args.lab);
  return kExitOk;
}

int run_reviews(const AccessArgs& args) {
  auto s = start(args.config, args.as, true);
  if (!s) return fail(s.error());
  auto lab = lab_id(*(*s)->opened.store, args.lab);
  if (!lab) return fail(lab.error());
  if (args.review != 0) {
    if (auto r = (*s)->access->review(*(*s)->admin, *lab, args.review, args.disposition, (*s)->ctx);
        !r) {
      return fail(r.error());
    }
    fmt::print("break-glass use {} reviewed: {}\n", args.review, args.disposition);
    return kExitOk;
  }
  auto queue = (*s)->access->reviews(*(*s)->admin, *lab, args.all, (*s)->ctx);
  if (!queue) return fail(queue.error());
  for (const access::Review& r : *queue) {
    const store::AccessGrant& g = r.grant;
    fmt::print("{:>5}  user {:<5} patient {:<6} granted {} us, audit record {}{}{}\n", g.id, g.user,
               g.patient, g.granted_us, g.audit_seq,
               g.reviewed_us ? fmt::format(", reviewed by {}: {}", g.reviewer, g.disposition) : "",
               r.escalated ? "  ESCALATED (not reviewed in time)" : "");
  }
  fmt::print("{} break-glass uses{}\n", queue->size(), args.all ? "" : " awaiting review");
  fmt::print("(the reason of each is in its audit record: labvault audit export --reveal)\n");
  return kExitOk;
}

}  // namespace

std::function<std::optional<int>()> add_access_commands(CLI::App& app) {
  auto args = std::make_shared<AccessArgs>();
  CLI::App* access = app.add_subcommand("access", "Access policy: explain, assign, reviews");
  access->require_subcommand(1);
  auto common = [&](CLI::App* sub) {
    sub->add_option("--config", args->config, "labvault.toml written by labvault init")->required();
    sub->add_option("--as", args->as, "Your username; password and code on standard input")
        ->required();
    sub->add_option("--lab", args->lab, "Lab code")->required();
  };
  CLI::App* ex = access->add_subcommand("explain", "Why a person may or may not do something");
  common(ex);
  ex->add_option("--user", args->user, "Whose access")->required();
  ex->add_option("--action", args->action, "read, search, create, export, admin, ...");
  ex->add_option("--resource", args->resource, "Patient, Observation, DiagnosticReport, ...")
      ->required();
  ex->add_option("--patient", args->patient, "Internal patient id");
  ex->add_option("--purpose", args->purpose, "TREAT, ETREAT, HPAYMT, HOPERAT, HRESCH, PATRQT");
  ex->add_option("--sensitive", args->sensitive, "Categories present: hiv, genetic, ...");
  CLI::App* as = access->add_subcommand("assign", "Put a clinician on a patient's care team");
  common(as);
  as->add_option("--user", args->user, "The clinician")->required();
  as->add_option("--patient", args->patient, "Internal patient id")->required();
  as->add_option("--hours", args->hours, "For how long (default 24)");
  CLI::App* lp =
      access->add_subcommand("link-patient", "Link a patient-role person to their record");
  common(lp);
  lp->add_option("--user", args->user, "The person (role patient in this lab)")->required();
  lp->add_option("--patient", args->patient, "Internal patient id")->required();
  CLI::App* rv = access->add_subcommand("reviews", "Break-glass uses awaiting review");
  common(rv);
  rv->add_flag("--all", args->all, "Reviewed ones too");
  rv->add_option("--review", args->review, "Record the disposition of this use");
  rv->add_option("--disposition", args->disposition, "justified, unjustified or referred");
  return [=]() -> std::optional<int> {
    if (ex->parsed()) return run_explain(*args);
    if (as->parsed()) return run_assign(*args);
    if (lp->parsed()) return run_link(*args);
    if (rv->parsed()) return run_reviews(*args);
    return std::nullopt;
  };
}

}  // namespace labvault::cli
