#include "crypto/totp.hpp"

#include <gtest/gtest.h>
#include <liboath/oath.h>

#include <array>
#include <cstdint>
#include <string>
#include <utility>

namespace labvault::crypto {
namespace {

using model::ErrorCode;

SecretBytes bytes(std::string_view s) {
  return SecretBytes(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

// RFC 6238 Appendix B, SHA-1 key.
SecretBytes rfc_secret() { return bytes("12345678901234567890"); }

std::string code_at(const SecretBytes& secret, std::int64_t t) {
  auto c = totp_code(secret, t);
  EXPECT_TRUE(c) << c.error().message;
  return c.value_or("");
}

TEST(Totp, Rfc6238Sha1Vectors) {
  // The RFC lists 8-digit values; a 6-digit code is their last six digits.
  const std::pair<std::int64_t, std::string_view> vectors[] = {
      {59, "287082"},         {1111111109, "081804"}, {1111111111, "050471"},
      {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
  };
  SecretBytes secret = rfc_secret();
  for (auto [t, expected] : vectors) {
    EXPECT_EQ(code_at(secret, t), expected) << "t=" << t;
    auto step = verify_totp(secret, expected, t);
    ASSERT_TRUE(step) << step.error().message;
    EXPECT_EQ(*step, t / 30) << "t=" << t;
  }
}

TEST(Totp, AcceptsOneStepEitherSideAndReturnsTheMatchedStep) {
  SecretBytes secret = rfc_secret();
  const std::int64_t now = 1111111111;
  const std::int64_t step = now / kTotpStepSeconds;
  for (int offset : {-1, 0, 1}) {
    std::string code = code_at(secret, now + offset * kTotpStepSeconds);
    auto matched = verify_totp(secret, code, now);
    ASSERT_TRUE(matched) << matched.error().message;
    EXPECT_EQ(*matched, step + offset) << "offset " << offset;
  }
  for (int offset : {-3, -2, 2, 3}) {
    std::string code = code_at(secret, now + offset * kTotpStepSeconds);
    auto matched = verify_totp(secret, code, now);
    ASSERT_TRUE(matched) << matched.error().message;
    EXPECT_EQ(*matched, std::nullopt) << "offset " << offset;
  }
}

TEST(Totp, WindowZeroAndWiderWindows) {
  SecretBytes secret = rfc_secret();
  const std::int64_t now = 1234567890;
  std::string previous = code_at(secret, now - kTotpStepSeconds);
  std::string two_ahead = code_at(secret, now + 2 * kTotpStepSeconds);
  EXPECT_EQ(verify_totp(secret, previous, now, 0).value(), std::nullopt);
  EXPECT_EQ(verify_totp(secret, code_at(secret, now), now, 0).value(), now / 30);
  EXPECT_EQ(verify_totp(secret, two_ahead, now, 2).value(), now / 30 + 2);
  for (int window : {-1, 11}) {
    auto r = verify_totp(secret, previous, now, window);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kUsage);
  }
}

TEST(Totp, StepBoundaries) {
  SecretBytes secret = rfc_secret();
  // 1111111109 and 1111111111 straddle a step boundary (1111111110 = 37037037 * 30).
  EXPECT_EQ(code_at(secret, 1111111110), "050471");
  EXPECT_EQ(code_at(secret, 1111111139), "050471");
  EXPECT_EQ(verify_totp(secret, "081804", 1111111111).value(), 37037036);
  EXPECT_EQ(verify_totp(secret, code_at(secret, 0), 59).value(), 0);
  EXPECT_EQ(verify_totp(secret, "287082", 0).value(), 1);
  // At step 0 liboath's window also tries the counter 0 - 1, which wraps to 2^64 - 1; a match
  // there must not come back as step -1.
  std::array<char, 7> wrapped{};
  ASSERT_EQ(oath_hotp_generate(reinterpret_cast<const char*>(secret.data()), secret.size(),
                               UINT64_MAX, 6, false, OATH_HOTP_DYNAMIC_TRUNCATION, wrapped.data()),
            OATH_OK);
  EXPECT_EQ(verify_totp(secret, wrapped.data(), 0).value(), std::nullopt);
  EXPECT_EQ(verify_totp(secret, wrapped.data(), 0, 0).value(), std::nullopt);
}

TEST(Totp, AnythingButSixAsciiDigitsIsAMismatch) {
  SecretBytes secret = rfc_secret();
  // At t = 59 the 8-digit RFC value is 94287082. liboath's own validator would take the digit
  // count from the input and accept its 7- and 8-digit tails.
  const std::string_view codes[] = {
      "94287082",
      "4287082",
      "87082",
      "",
      "28708a",
      " 287082",
      "287082 ",
      "287082\n",
      "-87082",
      "+87082",
      "28 082",
      "２８７０８２",
      std::string_view("287\00082", 6),  // NUL in the middle
      std::string_view("287082\0", 7),   // trailing NUL
  };
  for (std::string_view code : codes) {
    auto r = verify_totp(secret, code, 59);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, std::nullopt) << "'" << code << "'";
  }
  EXPECT_EQ(verify_totp(secret, "287082", 59).value(), 1);
}

TEST(Totp, BadInputsAreErrorsWithoutSecrets) {
  SecretBytes empty;
  auto code = totp_code(empty, 59);
  ASSERT_FALSE(code);
  EXPECT_EQ(code.error().code, ErrorCode::kKey);
  ASSERT_FALSE(verify_totp(empty, "287082", 59));
  auto before_epoch = totp_code(rfc_secret(), -1);
  ASSERT_FALSE(before_epoch);
  EXPECT_EQ(before_epoch.error().code, ErrorCode::kUsage);
  for (const auto& e : {code.error(), before_epoch.error()}) {
    EXPECT_EQ(e.message.find("12345678901234567890"), std::string::npos);
    EXPECT_EQ(e.message.find("287082"), std::string::npos);
  }
}

TEST(Totp, NewSecretIs160RandomBits) {
  auto a = new_totp_secret();
  auto b = new_totp_secret();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), kTotpSecretSize);
  EXPECT_FALSE(*a == *b);
  auto code = totp_code(*a, 1700000000);
  ASSERT_TRUE(code);
  EXPECT_EQ(verify_totp(*a, *code, 1700000000).value(), 1700000000 / 30);
}

TEST(Base32, Rfc4648VectorsWithoutPadding) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},
      {"f", "MY"},
      {"fo", "MZXQ"},
      {"foo", "MZXW6"},
      {"foob", "MZXW6YQ"},
      {"fooba", "MZXW6YTB"},
      {"foobar", "MZXW6YTBOI"},
  };
  for (auto [plain, encoded] : vectors) {
    SecretBytes raw = bytes(plain);
    EXPECT_EQ(base32_encode(raw.span()), encoded);
    auto decoded = base32_decode(encoded);
    ASSERT_TRUE(decoded) << encoded << ": " << decoded.error().message;
    EXPECT_TRUE(*decoded == raw) << encoded;
  }
}

TEST(Base32, DecodeAcceptsPaddingAndLowercase) {
  SecretBytes foobar = bytes("foobar");
  for (std::string_view text :
       {"MZXW6YTBOI======", "mzxw6ytboi", "mzxw6ytboi======", "MzXw6YtBoI"}) {
    auto decoded = base32_decode(text);
    ASSERT_TRUE(decoded) << text << ": " << decoded.error().message;
    EXPECT_TRUE(*decoded == foobar) << text;
  }
  auto f = base32_decode("MY======");
  ASSERT_TRUE(f);
  EXPECT_TRUE(*f == bytes("f"));
  EXPECT_TRUE(*base32_decode("MZXW6YTB") == bytes("fooba"));
}

TEST(Base32, DecodeRejectsWhatIsNotBase32) {
  for (std::string_view text : {"M", "MZX", "MZXW6Y", "MZXW6YTBO", "MZXW6YTBOI=", "MZXW6YTBOI====",
                                "MZXW6YTB========", "MZ=XW6YTBOI", "MZXW 6YTBOI", "MZXW6YTBO1",
                                "MZXW6YTBO8", "MZXW6YTBOI\n", "====", "MZXW-6YT"}) {
    auto r = base32_decode(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kKey);
    EXPECT_EQ(r.error().message.find(text), std::string::npos);
  }
}

TEST(Base32, RoundTripsEveryLengthAndByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= 40; ++n) {
    for (std::size_t start : {std::size_t{0}, 256 - n}) {
      SecretBytes raw = bytes(std::string_view(all).substr(start, n));
      auto decoded = base32_decode(base32_encode(raw.span()));
      ASSERT_TRUE(decoded) << n;
      EXPECT_TRUE(*decoded == raw) << n;
    }
  }
  SecretBytes everything = bytes(all);
  std::string encoded = base32_encode(everything.span());
  EXPECT_EQ(encoded.find('='), std::string::npos);
  EXPECT_TRUE(*base32_decode(encoded) == everything);
}

TEST(OtpauthUri, KeyUriFormat) {
  SecretBytes secret = rfc_secret();
  EXPECT_EQ(otpauth_uri("Labvault", "alice", secret),
            "otpauth://totp/Labvault:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            "&issuer=Labvault&algorithm=SHA1&digits=6&period=30");
}

TEST(OtpauthUri, WithoutIssuerTheLabelIsTheAccount) {
  EXPECT_EQ(otpauth_uri("", "alice", bytes("foobar")),
            "otpauth://totp/alice?secret=MZXW6YTBOI&algorithm=SHA1&digits=6&period=30");
}

TEST(OtpauthUri, PercentEncodesIssuerAndAccount) {
  SecretBytes secret = bytes("foobar");
  EXPECT_EQ(otpauth_uri("Acme Lab", "alice@example.org", secret),
            "otpauth://totp/Acme%20Lab:alice%40example.org?secret=MZXW6YTBOI"
            "&issuer=Acme%20Lab&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(otpauth_uri("A:B&C=D?/#%+", "j.doe-1_x~é", secret),
            "otpauth://totp/A%3AB%26C%3DD%3F%2F%23%25%2B:j.doe-1_x~%C3%A9?secret=MZXW6YTBOI"
            "&issuer=A%3AB%26C%3DD%3F%2F%23%25%2B&algorithm=SHA1&digits=6&period=30");
}

}  // namespace
}  // namespace labvault::crypto
