#include "crypto/aead.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "crypto/blind_index.hpp"
#include "crypto/secret.hpp"

namespace labvault::crypto {
namespace {

AeadKey make_key(KeyRef ref) {
  auto raw = random_key(kKeySize);
  EXPECT_TRUE(raw.has_value());
  auto key = AeadKey::make(ref, std::move(*raw));
  EXPECT_TRUE(key.has_value());
  return std::move(*key);
}

TEST(Aead, SealThenOpenGivesThePlaintextBack) {
  AeadKey key = make_key({7, 2});
  for (std::string plain : {std::string(), std::string("CANARY-VALUE-5.4"), std::string(5000, 'x'),
                            std::string("\0binary\xff", 8)}) {
    auto sealed = key.seal(plain,
                           "observations\x1fvalue\x1f"
                           "12\x1f"
                           "3");
    ASSERT_TRUE(sealed.has_value());
    EXPECT_EQ(sealed->size(), plain.size() + kSealOverhead);
    auto opened = key.open(*sealed,
                           "observations\x1fvalue\x1f"
                           "12\x1f"
                           "3");
    ASSERT_TRUE(opened.has_value()) << opened.error().message;
    EXPECT_EQ(*opened, plain);
  }
}

// Nonces are buffered per key; a forked child must not hand out the parent's remaining ones.
TEST(Aead, ForkedChildDrawsNoncesOfItsOwn) {
  AeadKey key = make_key({1, 1});
  ASSERT_TRUE(key.seal("x", "aad").has_value());  // the parent draws its block
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto sealed = key.seal("x", "aad");
    std::string nonce = sealed ? sealed->substr(13, 12) : std::string(12, '\0');
    ssize_t n = ::write(pipefd[1], nonce.data(), nonce.size());
    ::_exit(n == 12 ? 0 : 1);
  }
  ::close(pipefd[1]);
  std::string child_nonce(12, '\0');
  ASSERT_EQ(::read(pipefd[0], child_nonce.data(), 12), 12);
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  auto parent = key.seal("x", "aad");
  ASSERT_TRUE(parent.has_value());
  EXPECT_NE(parent->substr(13, 12), child_nonce);
}

TEST(Aead, CiphertextCarriesKeyIdAndVersionButNotThePlaintext) {
  AeadKey key = make_key({0x0102030405060708, 9});
  auto sealed = key.seal("CANARY-MRN-991", "aad");
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(sealed->find("CANARY"), std::string::npos);
  auto ref = sealed_key_ref(*sealed);
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->id, 0x0102030405060708u);
  EXPECT_EQ(ref->version, 9u);
}

TEST(Aead, NoncesAreFreshForEveryValue) {
  AeadKey key = make_key({1, 1});
  std::set<std::string> nonces;
  for (int i = 0; i < 2000; ++i) {  // crosses several refills of the nonce block
    auto sealed = key.seal("same", "same");
    ASSERT_TRUE(sealed.has_value());
    nonces.insert(sealed->substr(13, 12));
  }
  EXPECT_EQ(nonces.size(), 2000u);
}

TEST(Aead, OtherAssociatedDataFailsToOpen) {
  AeadKey key = make_key({1, 1});
  auto sealed = key.seal("CANARY-NAME",
                         "patients\x1fname\x1f"
                         "5\x1f"
                         "1");
  ASSERT_TRUE(sealed.has_value());
  for (std::string aad : {"patients\x1fname\x1f"
                          "6\x1f"
                          "1",
                          "patients\x1fphone\x1f"
                          "5\x1f"
                          "1",
                          "patients\x1fname\x1f"
                          "5\x1f"
                          "2",
                          ""}) {
    auto opened = key.open(*sealed, aad);
    ASSERT_FALSE(opened.has_value());
    EXPECT_EQ(opened.error().code, model::ErrorCode::kCrypto);
    EXPECT_NE(opened.error().message.find("moved"), std::string::npos);
  }
}

TEST(Aead, EveryFlippedBitIsDetected) {
  AeadKey key = make_key({3, 1});
  auto sealed = key.seal("CANARY-RESULT-7.7", "aad");
  ASSERT_TRUE(sealed.has_value());
  for (std::size_t i = 0; i < sealed->size(); ++i) {
    std::string bad = *sealed;
    bad[i] ^= 0x01;
    EXPECT_FALSE(key.open(bad, "aad").has_value()) << "byte " << i;
  }
  EXPECT_FALSE(key.open(sealed->substr(0, sealed->size() - 1), "aad").has_value());
  EXPECT_FALSE(key.open("", "aad").has_value());
}

TEST(Aead, AnotherKeyCannotOpen) {
  AeadKey a = make_key({5, 1});
  AeadKey b = make_key({5, 1});  // same reference, different bytes: a swapped key file
  AeadKey c = make_key({6, 1});
  auto sealed = a.seal("CANARY", "aad");
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(b.open(*sealed, "aad").error().code, model::ErrorCode::kCrypto);
  EXPECT_EQ(c.open(*sealed, "aad").error().code, model::ErrorCode::kKey);
}

TEST(Aead, KeysMustBe256Bits) {
  auto key = AeadKey::make({1, 1}, SecretBytes(16));
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, model::ErrorCode::kKey);
}

TEST(BlindIndex, SameValueSameTagAndDomainsAndScopesSeparate) {
  auto raw = random_key(32);
  ASSERT_TRUE(raw.has_value());
  auto indexer = BlindIndexer::make(std::move(*raw));
  ASSERT_TRUE(indexer.has_value());
  std::string a = indexer->index("mrn", 1, "CANARY-MRN-1");
  EXPECT_EQ(a.size(), kBlindIndexSize);
  EXPECT_EQ(a, indexer->index("mrn", 1, "CANARY-MRN-1"));
  EXPECT_NE(a, indexer->index("mrn", 2, "CANARY-MRN-1"));
  EXPECT_NE(a, indexer->index("accession", 1, "CANARY-MRN-1"));
  EXPECT_NE(a, indexer->index("mrn", 1, "CANARY-MRN-2"));
  auto other = BlindIndexer::make(*random_key(32));
  ASSERT_TRUE(other.has_value());
  EXPECT_NE(a, other->index("mrn", 1, "CANARY-MRN-1"));
}

TEST(Secret, Base64RoundTripAndStrictDecoding) {
  for (std::string s : {"f", "fo", "foo", "foob", "fooba", "foobar"}) {
    std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
    std::string enc = base64_encode(bytes);
    auto dec = base64_decode(enc);
    ASSERT_TRUE(dec.has_value()) << enc;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(dec->data()), dec->size()), s);
  }
  EXPECT_EQ(base64_encode(
                std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>("foobar"), 6)),
            "Zm9vYmFy");
  EXPECT_FALSE(base64_decode("Zm9v YmFy").has_value());
  EXPECT_FALSE(base64_decode("Zm9").has_value());
}

}  // namespace
}  // namespace labvault::crypto
