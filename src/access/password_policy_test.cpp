// NIST SP 800-63B: length, not composition; common and predictable passwords refused.
#include "access/password_policy.hpp"

#include <gtest/gtest.h>

namespace labvault::access {
namespace {

TEST(PasswordPolicy, ShortPasswordsAreRefusedCountingCharactersNotBytes) {
  EXPECT_FALSE(check_new_password("Xq7#vL2!pZ9", {}).has_value());  // 11 characters
  // 12 characters, 24 bytes: long enough, whatever the script.
  EXPECT_TRUE(check_new_password("жёлтыйкотбег", {}).has_value());
  EXPECT_FALSE(check_new_password("ёжикёжикёж", {}).has_value());  // 10 characters, 20 bytes
  EXPECT_FALSE(check_new_password("\xff\xfe not utf-8 at all", {}).has_value());
}

TEST(PasswordPolicy, CommonAndPredictablePasswordsAreRefused) {
  for (const char* p : {"passwordpassword", "password1234", "123456789012", "qwertyuiopasdf",
                        "aaaaaaaaaaaaaaaa", "iloveyou12345", "abcdefghijklmnop", "Password2024!"}) {
    auto r = check_new_password(p, {});
    EXPECT_FALSE(r.has_value()) << p;
    if (!r) EXPECT_EQ(r.error().message.find(p), std::string::npos) << "repeats the password";
  }
}

TEST(PasswordPolicy, TheUsersOwnNameIsNotAPassword) {
  // Strong enough on its own, refused as the person's own username.
  ASSERT_TRUE(check_new_password("zorbatrellix.quonn", {}).has_value());
  EXPECT_FALSE(check_new_password("zorbatrellix.quonn", {"zorbatrellix.quonn"}).has_value());
}

TEST(PasswordPolicy, NoCompositionRulesForALongUnpredictablePassphrase) {
  EXPECT_TRUE(check_new_password("violet tractor simmers 1987", {}).has_value());
  EXPECT_TRUE(check_new_password("correct horse battery staple", {}).has_value());
  EXPECT_TRUE(check_new_password("k3v9q2m8x7w4", {}).has_value());  // no capital, no symbol
}

}  // namespace
}  // namespace labvault::access
