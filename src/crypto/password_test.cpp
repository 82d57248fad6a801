#include "crypto/password.hpp"

#include <argon2.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace labvault::crypto {
namespace {

using model::ErrorCode;

// Tests that are not about the default cost use a tiny one to stay fast.
constexpr PasswordParams kCheap{.memory_kib = 64, .iterations = 1, .parallelism = 1};
constexpr std::string_view kCanary = "canary-Pa55w0rd-7f3e";

std::string hash_cheap(std::string_view password) {
  auto h = hash_password(password, kCheap);
  EXPECT_TRUE(h) << h.error().message;
  return h.value_or("");
}

// An Argon2 string of another type, made the same way libargon2 would for a legacy system.
std::string other_type_hash(argon2_type type, std::string_view password) {
  std::string salt = "0123456789abcdef";
  std::string out(argon2_encodedlen(1, 64, 1, salt.size(), 32, type), '\0');
  int rc = argon2_hash(1, 64, 1, password.data(), password.size(), salt.data(), salt.size(),
                       nullptr, 32, out.data(), out.size(), type, ARGON2_VERSION_13);
  EXPECT_EQ(rc, ARGON2_OK) << argon2_error_message(rc);
  out.resize(out.find('\0'));
  return out;
}

TEST(Password, DefaultHashIsOwaspArgon2idAndVerifies) {
  auto h = hash_password(kCanary);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_TRUE(h->starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << *h;
  // 16-byte salt and 32-byte tag as unpadded base64: 22 and 43 characters.
  auto salt_start = h->rfind('$', h->rfind('$') - 1) + 1;
  EXPECT_EQ(h->rfind('$') - salt_start, 22u);
  EXPECT_EQ(h->size() - h->rfind('$') - 1, 43u);
  EXPECT_EQ(verify_password(kCanary, *h), true);
  EXPECT_FALSE(needs_rehash(*h));
}

TEST(Password, RoundTripAndMismatch) {
  std::string h = hash_cheap(kCanary);
  EXPECT_EQ(verify_password(kCanary, h), true);
  EXPECT_EQ(verify_password("canary-Pa55w0rd-7f3E", h), false);
  EXPECT_EQ(verify_password("", h), false);
  EXPECT_EQ(verify_password(std::string(kCanary) + '\0', h), false);
}

TEST(Password, EmptyAndBinaryPasswordsWork) {
  std::string empty = hash_cheap("");
  EXPECT_EQ(verify_password("", empty), true);
  EXPECT_EQ(verify_password(" ", empty), false);
  std::string binary("\0\xff\x80 p\xc3\xa9", 7);
  std::string h = hash_cheap(binary);
  EXPECT_EQ(verify_password(binary, h), true);
  EXPECT_EQ(verify_password(binary.substr(1), h), false);
}

TEST(Password, SaltMakesEachHashDifferent) {
  std::string a = hash_cheap(kCanary);
  std::string b = hash_cheap(kCanary);
  EXPECT_NE(a, b);
  EXPECT_EQ(verify_password(kCanary, a), true);
  EXPECT_EQ(verify_password(kCanary, b), true);
}

TEST(Password, TamperedTagIsAMismatchNotAnError) {
  std::string h = hash_cheap(kCanary);
  // The first character of the hash, not the last: the last base64 character carries padding
  // bits that argon2 requires to be zero, so changing it can be a decoding error instead.
  char& c = h[h.rfind('$') + 1];
  c = c == 'A' ? 'B' : 'A';
  EXPECT_EQ(verify_password(kCanary, h), false);
}

TEST(Password, MalformedHashIsACryptoError) {
  std::string good = hash_cheap(kCanary);
  std::string no_nul = good;
  no_nul.insert(20, 1, '\0');
  for (std::string bad : {std::string(""), std::string("not a hash"), std::string("$argon2id$"),
                          std::string("$argon2id$v=19$m=abc,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"),
                          std::string("$argon2id$v=19$m=64,t=1,p=1$!!!!$????"),
                          std::string("$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaGhhc2g"),  // salt 4
                          good.substr(0, good.rfind('$')), no_nul}) {
    auto r = verify_password(kCanary, bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kCrypto) << bad;
    EXPECT_FALSE(r.error().message.empty());
  }
}

TEST(Password, OtherArgon2TypesAreRejectedEvenWithTheRightPassword) {
  for (argon2_type type : {Argon2_i, Argon2_d}) {
    std::string h = other_type_hash(type, kCanary);
    ASSERT_TRUE(h.starts_with(type == Argon2_i ? "$argon2i$" : "$argon2d$")) << h;
    auto r = verify_password(kCanary, h);
    ASSERT_FALSE(r) << h;
    EXPECT_EQ(r.error().code, ErrorCode::kCrypto);
    EXPECT_TRUE(needs_rehash(h));
  }
}

TEST(Password, NeedsRehashWhenWeakerThanPolicy) {
  auto weak = hash_password(kCanary, {.memory_kib = 8192, .iterations = 2, .parallelism = 1});
  ASSERT_TRUE(weak) << weak.error().message;
  EXPECT_TRUE(weak->starts_with("$argon2id$v=19$m=8192,t=2,p=1$"));
  EXPECT_TRUE(needs_rehash(*weak));
  EXPECT_FALSE(needs_rehash(*weak, {.memory_kib = 8192, .iterations = 2, .parallelism = 1}));
  EXPECT_EQ(verify_password(kCanary, *weak), true);  // old hashes still verify

  std::string cheap = hash_cheap(kCanary);
  EXPECT_FALSE(needs_rehash(cheap, kCheap));
  EXPECT_TRUE(needs_rehash(cheap, {.memory_kib = 64, .iterations = 2, .parallelism = 1}));
  EXPECT_TRUE(needs_rehash(cheap, {.memory_kib = 64, .iterations = 1, .parallelism = 2}));

  // needs_rehash only reads the string, so stronger variants can be written by hand.
  std::string tail = cheap.substr(cheap.find("$", std::string_view("$argon2id$v=19$").size()));
  EXPECT_FALSE(needs_rehash("$argon2id$v=19$m=65536,t=3,p=1" + tail));
  EXPECT_TRUE(needs_rehash("$argon2id$v=19$m=65536,t=1,p=1" + tail));
  EXPECT_TRUE(needs_rehash("$argon2id$v=16$m=65536,t=3,p=1" + tail));
  EXPECT_TRUE(needs_rehash("$argon2id$m=65536,t=3,p=1" + tail));
}

TEST(Password, NeedsRehashForMalformedOrShortSaltOrTag) {
  for (std::string_view bad :
       {"", "garbage", "$argon2id$v=19$m=19456,t=2,p=1", "$argon2id$v=19$m=19456,t=2$c2FsdA$aGFz",
        "$argon2id$v=19$m=19456,t=2,p=1,x=1$MDEyMzQ1Njc4OWFiY2RlZg$"
        "aGFzaA",
        "$argon2id$v=19$m=-1,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$aGFzaA",
        "$argon2id$v=19$m=99999999999,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$aGFzaA",
        "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$aGFzaA",  // 4-byte tag
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$"
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}) {  // 8-byte salt
    EXPECT_TRUE(needs_rehash(bad)) << bad;
  }
}

TEST(Password, OverLongPasswordIsRefusedWithoutEchoingIt) {
  std::string longest(kMaxPasswordBytes, 'x');
  std::string h = hash_cheap(longest);
  EXPECT_EQ(verify_password(longest, h), true);

  std::string too_long = std::string(kCanary) + std::string(kMaxPasswordBytes, 'x');
  auto hashed = hash_password(too_long, kCheap);
  ASSERT_FALSE(hashed);
  EXPECT_EQ(hashed.error().code, ErrorCode::kValueTooLong);
  EXPECT_NE(hashed.error().message.find("4096"), std::string::npos) << hashed.error().message;
  auto verified = verify_password(too_long, h);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, ErrorCode::kValueTooLong);
  for (const auto& e : {hashed.error(), verified.error()}) {
    EXPECT_EQ(e.to_string().find(kCanary), std::string::npos);
    EXPECT_EQ(e.to_string().find("xxxx"), std::string::npos);
  }
}

TEST(Password, ErrorsNeverCarryThePasswordOrTheHash) {
  std::string h = hash_cheap(kCanary);
  std::string tag = h.substr(h.rfind('$') + 1);
  std::vector<model::Error> errors;
  for (std::string_view bad : {std::string_view("$argon2id$v=19$m=64,t=1,p=1$!!$!!"),
                               std::string_view(h).substr(0, h.rfind('$')),
                               std::string_view("$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFz")}) {
    auto r = verify_password(kCanary, bad);
    ASSERT_FALSE(r);
    errors.push_back(r.error());
  }
  auto r = hash_password(kCanary, {.memory_kib = 1, .iterations = 1, .parallelism = 1});
  ASSERT_FALSE(r);  // below Argon2's memory floor
  EXPECT_EQ(r.error().code, ErrorCode::kConfig);
  errors.push_back(r.error());
  for (const auto& e : errors) {
    std::string text = e.to_string();
    EXPECT_EQ(text.find(kCanary), std::string::npos) << text;
    EXPECT_EQ(text.find(tag), std::string::npos) << text;
    EXPECT_EQ(text.find("argon2i$"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace labvault::crypto
