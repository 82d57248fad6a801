// `labvault user` and `labvault client` end to end: the first system administrator, two-factor
// enrollment from the command line, a lab admin confined to their lab, lock and unlock, SMART
// client registration, and a canary password absent from every file and every output.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "crypto/totp.hpp"
#include "support/cli_run.hpp"
#include "support/jwt_signer.hpp"

namespace {

using labvault::testing::CliRun;
using labvault::testing::labvault;
namespace fs = std::filesystem;

std::string match(const std::string& text, const std::string& pattern) {
  std::smatch m;
  return std::regex_search(text, m, std::regex(pattern)) ? m[1].str() : "";
}

// A person with two-factor set up, and their recovery codes: one per later command (a TOTP
// code may be used once, and these tests do not wait for the next 30-second step).
struct Person {
  std::string username, password;
  std::vector<std::string> recovery;
};

class CliUsers : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = labvault::testing::fresh_test_dir("cliusers"); }
  // With --demo: the DEMO lab, its data and demo people (demo.admin is a system admin).
  void init(bool demo) {
    CliRun r = labvault("init --data " + (dir_ / "data").string() + (demo ? " --demo" : ""));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  Person demo_admin() {
    std::ifstream in(dir_ / "data" / "demo-users.txt");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    return enroll("demo.admin", match(text, "demo.admin +system-admin +(\\S+)"));
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string cfg() const { return " --config " + (dir_ / "data" / "labvault.toml").string(); }

  Person enroll(const std::string& username, const std::string& password) {
    Person p{username, password, {}};
    CliRun e = labvault("user enroll" + cfg() + " --as " + username, password + "\n");
    EXPECT_EQ(e.exit_code, 0) << e.out;
    std::string secret = match(e.out, "secret: ([A-Z2-7]+)");
    auto key = labvault::crypto::base32_decode(secret);
    EXPECT_TRUE(key.has_value()) << e.out;
    if (!key) return p;
    auto code = labvault::crypto::totp_code(*key, std::time(nullptr));
    CliRun c =
        labvault("user confirm" + cfg() + " --as " + username, password + "\n" + *code + "\n");
    EXPECT_EQ(c.exit_code, 0) << c.out;
    std::regex rc("  ([a-z2-7]{5}-[a-z2-7]{5})");
    for (auto it = std::sregex_iterator(c.out.begin(), c.out.end(), rc);
         it != std::sregex_iterator(); ++it) {
      p.recovery.push_back((*it)[1].str());
    }
    EXPECT_EQ(p.recovery.size(), 10u) << c.out;
    return p;
  }
  // Runs an administrative command as `p`, spending one recovery code.
  CliRun as(Person& p, const std::string& command) {
    std::string code = p.recovery.empty() ? "000000" : p.recovery.back();
    if (!p.recovery.empty()) p.recovery.pop_back();
    return labvault(command + cfg() + " --as " + p.username, p.password + "\n" + code + "\n");
  }
  Person add(Person& admin, const std::string& username, const std::string& role) {
    CliRun r = as(admin, "user add --username " + username + " --role " + role);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return enroll(username, match(r.out, "one-time password: (\\S+)"));
  }

  fs::path dir_;
};

TEST_F(CliUsers, TheFirstAdminEnrollsAndManagesALabAdminWhoStaysInTheirLab) {
  init(false);
  CliRun boot = labvault("user add" + cfg() + " --username Root --system-admin");
  ASSERT_EQ(boot.exit_code, 0) << boot.out;
  std::string password = match(boot.out, "one-time password: (\\S+)");
  ASSERT_FALSE(password.empty()) << boot.out;
  // Only the first one comes without --as.
  EXPECT_NE(labvault("user add" + cfg() + " --username root2 --system-admin").exit_code, 0);
  // Before two-factor setup the administrator can do nothing.
  Person root{"root", password, {"000000"}};
  EXPECT_NE(as(root, "user list").exit_code, 0);
  root = enroll("root", password);
  ASSERT_EQ(as(root, "lab add --code LABA --name Alpha").exit_code, 0);
  ASSERT_EQ(as(root, "lab add --code LABB --name Beta").exit_code, 0);

  Person admin = add(root, "lab.admin", "LABA:lab-admin");
  Person tech = add(admin, "tech.one", "LABA:lab-technologist");
  Person other = add(root, "tech.b", "LABB:billing");
  ASSERT_EQ(tech.recovery.size(), 10u);
  // The lab admin cannot make admins, nor reach beyond their lab.
  EXPECT_NE(as(admin, "user add --username adm2 --role LABA:lab-admin").exit_code, 0);
  EXPECT_NE(as(admin, "user add --username b2 --role LABB:billing").exit_code, 0);
  EXPECT_NE(as(admin, "lab add --code LABC --name Gamma").exit_code, 0);
  EXPECT_NE(as(admin, "user list --lab LABB").exit_code, 0);
  EXPECT_NE(as(admin, "user lock --username tech.b").exit_code, 0);
  CliRun list = as(admin, "user list --lab LABA");
  ASSERT_EQ(list.exit_code, 0) << list.out;
  EXPECT_NE(list.out.find("tech.one"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("tech.b"), std::string::npos) << list.out;
  ASSERT_EQ(other.recovery.size(), 10u);

  // (Ten recovery codes: the lab admin has used eight.)
  // Lock: the person cannot log in (their next command fails); unlock restores them.
  ASSERT_EQ(as(admin, "user lock --username tech.one").exit_code, 0);
  EXPECT_NE(labvault("user passwd" + cfg() + " --as tech.one",
                     tech.password + "\n" + tech.recovery.back() + "\nanother long passphrase 55\n")
                .exit_code,
            0);
  ASSERT_EQ(as(admin, "user unlock --username tech.one").exit_code, 0);
  CliRun audit = labvault("audit query" + cfg() + " --action lockout");
  EXPECT_NE(audit.out.find("locked-by-admin"), std::string::npos) << audit.out;
}

TEST_F(CliUsers, AClientIsRegisteredListedAndRevoked) {
  init(true);
  Person root = demo_admin();
  auto signer = labvault::testing::TestSigner::ec();
  fs::path jwks = dir_ / "ehr.jwks";
  std::ofstream(jwks) << signer.jwks("k1");
  CliRun add = as(root, "client add --id ehr-1 --lab DEMO --name EHR --public-key " +
                            jwks.string() + " --scopes system/Observation.rs");
  ASSERT_EQ(add.exit_code, 0) << add.out;
  fs::path priv = dir_ / "ehr.key";
  std::ofstream(priv) << signer.private_pem();
  CliRun refused = as(root, "client add --id ehr-2 --lab DEMO --public-key " + priv.string() +
                                " --scopes system/Observation.rs");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.out.find("private key"), std::string::npos) << refused.out;
  CliRun list = as(root, "client list");
  EXPECT_NE(list.out.find("ehr-1"), std::string::npos) << list.out;
  ASSERT_EQ(as(root, "client revoke --id ehr-1").exit_code, 0);
  list = as(root, "client list");
  EXPECT_NE(list.out.find("REVOKED"), std::string::npos) << list.out;
}

TEST_F(CliUsers, TheLockoutThresholdComesFromTheConfig) {
  init(true);
  std::ofstream(dir_ / "data" / "labvault.toml", std::ios::app)
      << "\n[auth]\nlockout_failures = 2\nlockout_minutes = 30\n";
  std::ifstream in(dir_ / "data" / "demo-users.txt");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  std::string password = match(text, "demo.billing +billing +(\\S+)");
  ASSERT_FALSE(password.empty()) << text;
  for (int i = 0; i < 2; ++i) {
    EXPECT_NE(
        labvault("user enroll" + cfg() + " --as demo.billing", "not the password\n").exit_code, 0);
  }
  CliRun locked = labvault("user enroll" + cfg() + " --as demo.billing", password + "\n");
  EXPECT_NE(locked.exit_code, 0) << locked.out;
  CliRun audit = labvault("audit query" + cfg() + " --action lockout");
  EXPECT_NE(audit.out.find("locked-after-2-failures"), std::string::npos) << audit.out;
}

TEST_F(CliUsers, ExplainNamesTheRuleAndACareAssignmentChangesTheAnswer) {
  init(true);
  Person root = demo_admin();
  const std::string explain =
      "access explain --lab DEMO --user demo.provider --resource Observation --patient 2";
  CliRun before = as(root, explain);
  EXPECT_EQ(before.exit_code, 1) << before.out;
  EXPECT_NE(before.out.find("DENY"), std::string::npos) << before.out;
  EXPECT_NE(before.out.find("no care relationship"), std::string::npos) << before.out;
  ASSERT_EQ(
      as(root, "access assign --lab DEMO --user demo.provider --patient 2 --hours 2").exit_code, 0);
  CliRun after = as(root, explain + " --sensitive hiv");
  EXPECT_EQ(after.exit_code, 0) << after.out;
  EXPECT_NE(after.out.find("PERMIT"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("view clinical"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("mask: hiv"), std::string::npos) << after.out;
  // A site policy that lets this provider's rule show HIV results is a recorded change.
  fs::path policy = dir_ / "site-policy.toml";
  std::ofstream(policy) << "[[rules]]\nid = \"clinician-with-care-relationship\"\n"
                           "roles = [\"ordering-provider\"]\nactions = [\"read\"]\n"
                           "kinds = [\"Observation\"]\nrequire = [\"care-relationship\"]\n"
                           "sensitive = [\"hiv\"]\nview = \"clinical\"\n";
  std::ofstream(dir_ / "data" / "labvault.toml", std::ios::app)
      << "\n[access]\npolicy_file = \"" << policy.string() << "\"\n";
  CliRun sited = as(root, explain + " --sensitive hiv");
  EXPECT_EQ(sited.exit_code, 0) << sited.out;
  EXPECT_EQ(sited.out.find("mask: hiv"), std::string::npos) << sited.out;
  CliRun changes = labvault("audit query" + cfg() + " --action config-change");
  EXPECT_NE(changes.out.find("policy-file-"), std::string::npos) << changes.out;
  EXPECT_NE(changes.out.find("policy-defaults-"), std::string::npos) << changes.out;
}

TEST_F(CliUsers, ACanaryPasswordIsInNoFileAndNoOutput) {
  init(true);
  Person root = demo_admin();
  const std::string canary = "CANARY lantern 4417 orbit";
  std::string code = root.recovery.back();
  root.recovery.pop_back();
  CliRun changed = labvault("user passwd" + cfg() + " --as demo.admin",
                            root.password + "\n" + code + "\n" + canary + "\n");
  ASSERT_EQ(changed.exit_code, 0) << changed.out;
  root.password = canary;
  CliRun wrong = labvault("user list" + cfg() + " --as demo.admin", "CANARY wrong 4417\n123456\n");
  EXPECT_NE(wrong.exit_code, 0);
  CliRun ok = as(root, "user list");
  ASSERT_EQ(ok.exit_code, 0) << ok.out;
  for (const CliRun& r : {changed, wrong, ok}) EXPECT_EQ(r.out.find("CANARY"), std::string::npos);
  for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(bytes.find("CANARY"), std::string::npos) << entry.path();
  }
}

}  // namespace
