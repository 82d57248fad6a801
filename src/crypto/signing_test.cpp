#include "crypto/signing.hpp"

#include <gtest/gtest.h>

namespace labvault::crypto {
namespace {

SigningKey make_key() {
  auto seed = random_key(32);
  EXPECT_TRUE(seed.has_value());
  auto key = SigningKey::from_seed(*seed);
  EXPECT_TRUE(key.has_value());
  return std::move(*key);
}

// RFC 8032 7.1, TEST 1: the empty message.
TEST(Signing, MatchesRfc8032TestVector) {
  auto seed = base64_decode("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=");
  ASSERT_TRUE(seed.has_value());
  auto key = SigningKey::from_seed(*seed);
  ASSERT_TRUE(key.has_value());
  auto pub = key->public_key();
  EXPECT_EQ(base64_encode(pub), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  auto sig = key->sign("");
  ASSERT_TRUE(sig.has_value());
  std::span<const std::uint8_t> sig_bytes(reinterpret_cast<const std::uint8_t*>(sig->data()),
                                          sig->size());
  EXPECT_EQ(
      base64_encode(sig_bytes),
      "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw==");
  EXPECT_TRUE(verify_signature(pub, "", *sig));
}

TEST(Signing, AlteredMessageSignatureOrKeyFailsToVerify) {
  SigningKey key = make_key();
  SigningKey other = make_key();
  auto sig = key.sign("tree_size=10 root=ab");
  ASSERT_TRUE(sig.has_value());
  EXPECT_TRUE(verify_signature(key.public_key(), "tree_size=10 root=ab", *sig));
  EXPECT_FALSE(verify_signature(key.public_key(), "tree_size=11 root=ab", *sig));
  EXPECT_FALSE(verify_signature(other.public_key(), "tree_size=10 root=ab", *sig));
  std::string flipped = *sig;
  flipped[5] ^= 1;
  EXPECT_FALSE(verify_signature(key.public_key(), "tree_size=10 root=ab", flipped));
  EXPECT_FALSE(verify_signature(key.public_key(), "tree_size=10 root=ab", sig->substr(1)));
  EXPECT_FALSE(verify_signature(key.public_key(), "tree_size=10 root=ab", ""));
}

TEST(Signing, KeyIdIsStableAndDistinguishesKeys) {
  SigningKey a = make_key();
  SigningKey b = make_key();
  EXPECT_EQ(key_id(a.public_key()).size(), 16u);
  EXPECT_EQ(key_id(a.public_key()), key_id(a.public_key()));
  EXPECT_NE(key_id(a.public_key()), key_id(b.public_key()));
}

TEST(Signing, SeedOfTheWrongSizeIsRefused) {
  SecretBytes short_seed(16);
  auto key = SigningKey::from_seed(short_seed);
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, model::ErrorCode::kKey);
}

}  // namespace
}  // namespace labvault::crypto
