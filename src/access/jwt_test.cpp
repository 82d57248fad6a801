#include "access/jwt.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/jwt_signer.hpp"

namespace labvault::access {
namespace {

using model::ErrorCode;
using nlohmann::json;
using testing::TestSigner;

constexpr std::int64_t kNow = 1'700'000'000;
constexpr const char* kClient = "lab-analyzer-7";
constexpr const char* kEndpoint = "https://labvault.example/auth/token";

// Key generation is the slow part: each key once per test process, and only if a test needs it.
const TestSigner& rsa_a() {
  static const TestSigner k = TestSigner::rsa();
  return k;
}
const TestSigner& rsa_b() {
  static const TestSigner k = TestSigner::rsa();
  return k;
}
const TestSigner& ec_a() {
  static const TestSigner k = TestSigner::ec();
  return k;
}
const TestSigner& ec_b() {
  static const TestSigner k = TestSigner::ec();
  return k;
}

json header(const char* alg, const char* kid = nullptr) {
  json h = {{"alg", alg}, {"typ", "JWT"}};
  if (kid != nullptr) h["kid"] = kid;
  return h;
}

// What a well-behaved SMART backend client sends.
json claims() {
  return {{"iss", kClient},    {"sub", kClient}, {"aud", kEndpoint},
          {"exp", kNow + 240}, {"iat", kNow},    {"jti", "9f0c2a5e-6b1d-4a8e-b7a4-1c3d5e7f9a0b"}};
}

// {"keys":[...]}
std::string key_set(std::initializer_list<json> keys) {
  json array = json::array();
  for (const json& k : keys) array.push_back(k);
  return json{{"keys", array}}.dump();
}

json with(json object, const char* name, json value) {
  object[name] = std::move(value);
  return object;
}

PublicKeySet keys_of(const std::string& text) {
  auto keys = parse_public_keys(text);
  EXPECT_TRUE(keys.has_value()) << keys.error().to_string();
  return keys.has_value() ? *keys : *parse_public_keys(rsa_a().public_pem());
}

model::Result<void> check(const std::string& token, const PublicKeySet& keys,
                          std::int64_t now = kNow) {
  auto jwt = decode_jwt(token);
  if (!jwt) return std::unexpected(jwt.error());
  return verify_client_assertion(*jwt, keys, kClient, kEndpoint, now);
}

void expect_refused(const model::Result<void>& r, std::string_view message) {
  ASSERT_FALSE(r.has_value()) << "accepted; expected: " << message;
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(r.error().message, message);
  EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL error queue left non-empty";
}

void expect_key_refused(const std::string& text, ErrorCode code, std::string_view message = {}) {
  auto r = parse_public_keys(text);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, code) << r.error().message;
  if (!message.empty()) {
    EXPECT_EQ(r.error().message, message);
  }
}

void expect_malformed(const std::string& token) {
  auto r = decode_jwt(token);
  ASSERT_FALSE(r.has_value()) << token;
  EXPECT_EQ(r.error().code, ErrorCode::kParse);
}

std::vector<std::string> parts(const std::string& token) {
  std::size_t a = token.find('.'), b = token.find('.', a + 1);
  return {token.substr(0, a), token.substr(a + 1, b - a - 1), token.substr(b + 1)};
}

std::string as_text(std::span<const std::uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// ---- base64url -------------------------------------------------------------------------------

TEST(Base64url, EncodesAndDecodesRfc4648VectorsWithUrlAlphabetAndNoPadding) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"}};
  for (const auto& [plain, encoded] : vectors) {
    std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(plain.data()),
                                        plain.size());
    EXPECT_EQ(base64url_encode(bytes), encoded);
    auto decoded = base64url_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
  std::vector<std::uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<std::uint8_t>(255 - i);
  auto back = base64url_decode(base64url_encode(all));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, as_text(all));
}

TEST(Base64url, DecoderRefusesPaddingWhitespaceStandardAlphabetAndImpossibleInput) {
  for (const char* bad : {"Zg==", "Zg=", "Zm9v=", "Zm9v\n", " Zm9v", "Zm 9v", "Zm+v", "Zm/v", "Z",
                          "Zm9vY", "Zh", "Zm9", "Zm.v", "Zm\xc3\xa9v"}) {
    auto r = base64url_decode(bad);
    EXPECT_FALSE(r.has_value()) << bad;
  }
  // Trailing bits: "Zm8" and "Zm9" differ only in bits that belong to no byte.
  EXPECT_TRUE(base64url_decode("Zm8").has_value());
  EXPECT_FALSE(base64url_decode("Zm9").has_value());
  EXPECT_FALSE(base64url_decode(std::string_view("Zm\0v", 4)).has_value());
}

// ---- keys ------------------------------------------------------------------------------------

TEST(PublicKeys, ReadsSeveralPemBlocksOfRsaAndEc) {
  auto keys = parse_public_keys(rsa_a().public_pem() + "\n" + ec_a().public_pem());
  ASSERT_TRUE(keys.has_value()) << keys.error().to_string();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ(keys->keys()[0].type, KeyType::kRsa);
  EXPECT_EQ(keys->keys()[0].bits, 3072);
  EXPECT_EQ(keys->keys()[1].type, KeyType::kEc);
  EXPECT_EQ(keys->keys()[1].bits, 384);
  EXPECT_TRUE(keys->keys()[0].kid.empty());
}

TEST(PublicKeys, ReadsJwksWithKids) {
  json ec = with(with(ec_a().jwk("e1"), "alg", "ES384"), "use", "sig");
  auto keys = parse_public_keys(json::parse(key_set({rsa_a().jwk("r1"), ec})).dump(2));
  ASSERT_TRUE(keys.has_value()) << keys.error().to_string();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ(keys->keys()[0].kid, "r1");
  EXPECT_EQ(keys->keys()[0].type, KeyType::kRsa);
  EXPECT_EQ(keys->keys()[1].kid, "e1");
  EXPECT_EQ(keys->keys()[1].type, KeyType::kEc);
}

TEST(PublicKeys, RefusesPrivateKeyMaterial) {
  const char* kMessage = "a private key was given; register only the public key";
  expect_key_refused(key_set({with(ec_a().jwk("e1"), "d", "AAAA")}), ErrorCode::kUsage, kMessage);
  expect_key_refused(key_set({with(rsa_a().jwk("r1"), "p", "AAAA")}), ErrorCode::kUsage, kMessage);
  expect_key_refused(key_set({with(rsa_a().jwk(), "k", "AAAA")}), ErrorCode::kUsage, kMessage);
  expect_key_refused(ec_a().private_pem(), ErrorCode::kUsage, kMessage);
  expect_key_refused(rsa_a().public_pem() + rsa_a().private_pem(), ErrorCode::kUsage, kMessage);
}

TEST(PublicKeys, RefusesWeakRsaAndCurvesOtherThanP384) {
  TestSigner rsa1024 = TestSigner::rsa(1024);
  TestSigner p256 = TestSigner::ec("P-256");
  expect_key_refused(rsa1024.public_pem(), ErrorCode::kUsage,
                     "an RSA key has fewer than 2048 bits");
  expect_key_refused(rsa1024.jwks("weak"), ErrorCode::kUsage,
                     "an RSA key has fewer than 2048 bits");
  expect_key_refused(p256.public_pem(), ErrorCode::kUsage, "an EC key is not on curve P-384");
  expect_key_refused(p256.jwks("p256"), ErrorCode::kUsage, "an EC key is not on curve P-384");
  // P-256 coordinates under a P-384 label are not a P-384 point.
  expect_key_refused(key_set({with(p256.jwk("x"), "crv", "P-384")}), ErrorCode::kParse);
}

TEST(PublicKeys, RefusesEmptySetsUnknownTypesAndMismatchedMetadata) {
  expect_key_refused(R"({"keys":[]})", ErrorCode::kUsage, "the key set holds no key");
  expect_key_refused("", ErrorCode::kParse);
  expect_key_refused("{}", ErrorCode::kParse);
  expect_key_refused(R"({"keys":{}})", ErrorCode::kParse);
  expect_key_refused("not a key", ErrorCode::kParse);
  expect_key_refused("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                     ErrorCode::kParse);
  expect_key_refused(R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg"}]})",
                     ErrorCode::kUsage, "a JWK's \"kty\" is neither RSA nor EC");
  expect_key_refused(key_set({with(rsa_a().jwk("r"), "alg", "RS256")}), ErrorCode::kUsage);
  expect_key_refused(key_set({with(ec_a().jwk("e"), "alg", "RS384")}), ErrorCode::kUsage);
  expect_key_refused(key_set({with(ec_a().jwk("e"), "use", "enc")}), ErrorCode::kUsage);
  expect_key_refused(key_set({with(rsa_a().jwk("r"), "kid", 7)}), ErrorCode::kParse);
  expect_key_refused(key_set({with(rsa_a().jwk("r"), "n", "AA+A")}), ErrorCode::kParse);
  expect_key_refused(key_set({rsa_a().jwk("same"), ec_a().jwk("same")}), ErrorCode::kUsage,
                     "two keys of the JWK Set have the same \"kid\"");
  // A point off the curve: y + 1.
  json off = ec_a().jwk("e");
  auto y = base64url_decode(off["y"].get<std::string>());
  ASSERT_TRUE(y.has_value());
  y->back() = static_cast<char>(y->back() ^ 1);
  off["y"] = base64url_encode({reinterpret_cast<const std::uint8_t*>(y->data()), y->size()});
  expect_key_refused(key_set({off}), ErrorCode::kUsage);
}

TEST(PublicKeys, CopiesShareKeysThatOutliveTheOriginal) {
  std::optional<PublicKeySet> copy;
  {
    PublicKeySet original = keys_of(ec_a().public_pem());
    copy = original;
  }
  EXPECT_TRUE(check(ec_a().sign(header("ES384"), claims()), *copy).has_value());
}

// ---- decoding --------------------------------------------------------------------------------

TEST(DecodeJwt, ExposesHeaderClaimsSigningInputAndSignature) {
  json c = claims();
  c["aud"] = {"https://other.example/token", kEndpoint};
  c["nbf"] = kNow - 5;
  std::string token = ec_a().sign(header("ES384", "e1"), c);
  auto jwt = decode_jwt(token);
  ASSERT_TRUE(jwt.has_value()) << jwt.error().to_string();
  EXPECT_EQ(jwt->alg, "ES384");
  EXPECT_EQ(jwt->kid, "e1");
  EXPECT_EQ(jwt->typ, "JWT");
  EXPECT_EQ(jwt->iss, kClient);
  EXPECT_EQ(jwt->sub, kClient);
  EXPECT_EQ(jwt->aud, (std::vector<std::string>{"https://other.example/token", kEndpoint}));
  EXPECT_EQ(jwt->jti, "9f0c2a5e-6b1d-4a8e-b7a4-1c3d5e7f9a0b");
  EXPECT_EQ(jwt->exp, kNow + 240);
  EXPECT_EQ(jwt->iat, kNow);
  EXPECT_EQ(jwt->nbf, kNow - 5);
  EXPECT_EQ(jwt->signing_input, token.substr(0, token.rfind('.')));
  EXPECT_EQ(jwt->signature.size(), 96u);

  auto bare = decode_jwt(TestSigner::compact({{"alg", "RS384"}}, json::object(), ""));
  ASSERT_TRUE(bare.has_value());
  EXPECT_FALSE(bare->kid || bare->typ || bare->iss || bare->sub || bare->jti || bare->exp ||
               bare->iat || bare->nbf);
  EXPECT_TRUE(bare->aud.empty());
}

TEST(DecodeJwt, RefusesPaddingAndTheStandardAlphabet) {
  using testing::jws_base64url;
  auto padded = [](std::string_view text) {
    std::string b = jws_base64url(text);
    while (b.size() % 4 != 0) b += '=';
    return b;
  };
  std::string c = jws_base64url(claims().dump());
  for (const char* h : {R"({"alg":"RS384","kid":"k"})", R"({"alg":"RS384","kid":"kk"})"}) {
    ASSERT_NE(std::string_view(h).size() % 3, 0u);  // so that base64 would pad it
    ASSERT_TRUE(decode_jwt(jws_base64url(h) + '.' + c + ".AAAA").has_value());
    expect_malformed(padded(h) + '.' + c + ".AAAA");
  }
  std::string body = jws_base64url(R"({"alg":"RS384"})") + '.' + c + '.';
  ASSERT_TRUE(decode_jwt(body + jws_base64url("ab")).has_value());
  expect_malformed(body + padded("ab"));
  expect_malformed(body + padded("a"));

  std::vector<std::string> p = parts(rsa_a().sign(header("RS384"), claims()));
  ASSERT_TRUE(decode_jwt(p[0] + '.' + p[1] + '.' + p[2]).has_value());
  for (char bad : {'+', '/', '=', ' ', '\n', '\0'}) {
    std::string sig = p[2], head = p[0];
    sig[10] = bad;
    head[3] = bad;
    expect_malformed(p[0] + '.' + p[1] + '.' + sig);
    expect_malformed(head + '.' + p[1] + '.' + p[2]);
  }
}

TEST(DecodeJwt, RefusesAnythingButThreeParts) {
  std::string token = rsa_a().sign(header("RS384"), claims());
  std::vector<std::string> p = parts(token);
  expect_malformed(p[0] + '.' + p[1]);
  expect_malformed(token + '.' + p[2]);
  expect_malformed(token + '.');
  expect_malformed("");
  expect_malformed("..");
}

TEST(DecodeJwt, RefusesHeaderOrPayloadThatIsNotAJsonObject) {
  using testing::jws_base64url;
  std::string h = jws_base64url(header("RS384").dump());
  std::string c = jws_base64url(claims().dump());
  for (const char* not_object : {"[1,2]", "\"RS384\"", "42", "null", "{", "{\"alg\":\"RS384\"} x",
                                 "{\"alg\":\"RS384\",\"alg\":\"none\"}"}) {
    expect_malformed(jws_base64url(not_object) + '.' + c + ".AAAA");
    expect_malformed(h + '.' + jws_base64url(not_object) + ".AAAA");
  }
  expect_malformed(jws_base64url(R"({"typ":"JWT"})") + '.' + c + ".AAAA");  // no alg
  expect_malformed(jws_base64url(R"({"alg":"RS384","crit":["exp"]})") + '.' + c + ".AAAA");
}

TEST(DecodeJwt, RefusesClaimsOfTheWrongType) {
  auto with = [](const char* name, json value) {
    json c = claims();
    c[name] = std::move(value);
    return TestSigner::compact(header("RS384"), c, "sig");
  };
  expect_malformed(with("exp", std::to_string(kNow + 60)));
  expect_malformed(with("exp", kNow + 60.5));
  expect_malformed(with("exp", 18446744073709551615ull));
  expect_malformed(with("nbf", true));
  expect_malformed(with("iat", nullptr));
  expect_malformed(with("aud", 7));
  expect_malformed(with("aud", json::array({kEndpoint, 7})));
  expect_malformed(with("iss", json::array({kClient})));
  expect_malformed(with("jti", 12345));
  expect_malformed(TestSigner::compact({{"alg", "RS384"}, {"kid", 1}}, claims(), "sig"));
  EXPECT_TRUE(decode_jwt(with("exp", kNow + 60)).has_value());
}

TEST(DecodeJwt, RefusesInputOver16KiB) {
  // A token of exactly the limit decodes, one character more does not. The signature part is
  // 'A's (all-zero bits), so any length but 4k+1 is valid base64url.
  std::string prefix, sig;
  for (std::size_t jti = 1000;; ++jti) {
    prefix =
        TestSigner::signing_input(header("RS384"), with(claims(), "jti", std::string(jti, 'j')));
    std::size_t rest = kMaxJwtSize - prefix.size() - 1;
    if (rest % 4 != 1 && (rest + 1) % 4 != 1) {
      sig.assign(rest, 'A');
      break;
    }
  }
  std::string token = prefix + '.' + sig;
  ASSERT_EQ(token.size(), kMaxJwtSize);
  auto at_limit = decode_jwt(token);
  ASSERT_TRUE(at_limit.has_value()) << at_limit.error().message;
  expect_malformed(token + 'A');
  expect_malformed(std::string(1 << 20, 'A'));
}

// ---- verification: accepted ------------------------------------------------------------------

TEST(ClientAssertion, Rs384AndEs384VerifyAgainstPemKeys) {
  PublicKeySet keys = keys_of(rsa_a().public_pem() + ec_a().public_pem());
  EXPECT_TRUE(check(rsa_a().sign(header("RS384"), claims()), keys).has_value());
  EXPECT_TRUE(check(ec_a().sign(header("ES384"), claims()), keys).has_value());
  // SMART clients always send a kid; a key registered as PEM has none and answers to any.
  auto r = check(ec_a().sign(header("ES384", "client-chosen-kid"), claims()), keys);
  EXPECT_TRUE(r.has_value()) << r.error().message;
}

TEST(ClientAssertion, KidSelectsTheKeyAmongSeveralInAJwks) {
  PublicKeySet keys =
      keys_of(key_set({rsa_a().jwk("r1"), rsa_b().jwk("r2"), ec_a().jwk("e1"), ec_b().jwk("e2")}));
  EXPECT_TRUE(check(rsa_b().sign(header("RS384", "r2"), claims()), keys).has_value());
  EXPECT_TRUE(check(ec_b().sign(header("ES384", "e2"), claims()), keys).has_value());
  EXPECT_TRUE(check(ec_a().sign(header("ES384", "e1"), claims()), keys).has_value());
  // Without a kid every key of the alg's type is tried.
  EXPECT_TRUE(check(rsa_b().sign(header("RS384"), claims()), keys).has_value());
  // With a kid, only that key: r1's kid on r2's signature does not verify.
  expect_refused(check(rsa_b().sign(header("RS384", "r1"), claims()), keys),
                 "signature does not verify");
  expect_refused(check(ec_a().sign(header("ES384", "e2"), claims()), keys),
                 "signature does not verify");
}

TEST(ClientAssertion, AudienceArrayHoldingTheEndpointAndEdgesOfTheTimeWindowAreAccepted) {
  PublicKeySet keys = keys_of(ec_a().public_pem());
  json c = claims();
  c["aud"] = {"https://elsewhere.example/token", kEndpoint, "https://third.example/token"};
  c["exp"] = kNow + 300;
  c["nbf"] = kNow + 60;
  c["jti"] = std::string(256, 'j');
  auto r = check(ec_a().sign(header("ES384"), c), keys);
  EXPECT_TRUE(r.has_value()) << r.error().message;
  c["exp"] = kNow + 1;
  EXPECT_TRUE(check(ec_a().sign(header("ES384"), c), keys).has_value());
}

// ---- verification: refused -------------------------------------------------------------------

TEST(ClientAssertion, AlteredSignatureOrPayloadDoesNotVerify) {
  for (const TestSigner* signer : {&rsa_a(), &ec_a()}) {
    const char* alg = signer == &rsa_a() ? "RS384" : "ES384";
    PublicKeySet keys = keys_of(signer->public_pem());
    std::string input = TestSigner::signing_input(header(alg), claims());
    std::string sig = signer->signature(input);
    ASSERT_TRUE(check(input + '.' + testing::jws_base64url(sig), keys).has_value());
    for (std::size_t at : {std::size_t{0}, sig.size() / 2, sig.size() - 1}) {
      std::string flipped = sig;
      flipped[at] = static_cast<char>(flipped[at] ^ 0x01);
      expect_refused(check(input + '.' + testing::jws_base64url(flipped), keys),
                     "signature does not verify");
    }
    expect_refused(check(input + '.' + testing::jws_base64url('\0' + sig), keys),
                   signer == &rsa_a() ? "signature does not verify"
                                      : "an ES384 signature is not 96 bytes of raw R || S");
    json changed = claims();
    changed["exp"] = kNow + 241;
    std::string tampered =
        TestSigner::signing_input(header(alg), changed) + '.' + testing::jws_base64url(sig);
    expect_refused(check(tampered, keys), "signature does not verify");
  }
}

TEST(ClientAssertion, SignatureByAnotherKeyDoesNotVerify) {
  expect_refused(check(rsa_b().sign(header("RS384"), claims()), keys_of(rsa_a().public_pem())),
                 "signature does not verify");
  expect_refused(check(ec_b().sign(header("ES384"), claims()), keys_of(ec_a().public_pem())),
                 "signature does not verify");
  // The right key but the digest of RS256 under an RS384 header.
  std::string input = TestSigner::signing_input(header("RS384"), claims());
  expect_refused(check(input + '.' + testing::jws_base64url(rsa_a().signature(input, EVP_sha256())),
                       keys_of(rsa_a().public_pem())),
                 "signature does not verify");
}

TEST(ClientAssertion, AlgorithmsOtherThanRs384AndEs384AreRefusedBeforeAnyKeyIsUsed) {
  std::string pem = rsa_a().public_pem();
  PublicKeySet keys = keys_of(pem + ec_a().public_pem());
  const char* kMessage = "alg is not RS384 or ES384";
  // "none" with an empty signature.
  expect_refused(check(TestSigner::compact(header("none"), claims(), ""), keys), kMessage);
  // Key confusion: HMAC keyed with the registered public key's PEM text.
  std::string input = TestSigner::signing_input(header("HS384"), claims());
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t mac_len = 0;
  ASSERT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA384", nullptr, pem.data(), pem.size(),
                      reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
                      sizeof mac, &mac_len),
            nullptr);
  expect_refused(
      check(input + '.' + testing::jws_base64url({reinterpret_cast<char*>(mac), mac_len}), keys),
      kMessage);
  // Genuine signatures, but with SHA-256.
  std::string rs256 = TestSigner::signing_input(header("RS256"), claims());
  expect_refused(
      check(rs256 + '.' + testing::jws_base64url(rsa_a().signature(rs256, EVP_sha256())), keys),
      kMessage);
  std::string es256 = TestSigner::signing_input(header("ES256"), claims());
  expect_refused(
      check(es256 + '.' + testing::jws_base64url(ec_a().signature(es256, EVP_sha256())), keys),
      kMessage);
  for (const char* alg : {"rs384", "PS384", "RS384 ", "", "ES512"}) {
    expect_refused(check(rsa_a().sign(header(alg), claims()), keys), kMessage);
  }
}

TEST(ClientAssertion, Es384SignatureMustBeRawRAndS) {
  PublicKeySet keys = keys_of(ec_a().public_pem());
  std::string input = TestSigner::signing_input(header("ES384"), claims());
  std::string der;
  do {  // a DER signature is 96 bytes only if R and S both lose leading zeros: sign again
    der = ec_a().signature(input, EVP_sha384(), TestSigner::Form::kDer);
  } while (der.size() == 96);
  const char* kMessage = "an ES384 signature is not 96 bytes of raw R || S";
  expect_refused(check(input + '.' + testing::jws_base64url(der), keys), kMessage);
  std::string raw = ec_a().signature(input);
  expect_refused(check(input + '.' + testing::jws_base64url(raw.substr(1)), keys), kMessage);
  expect_refused(check(input + '.' + testing::jws_base64url(raw + '\0'), keys), kMessage);
  expect_refused(check(input + '.', keys), kMessage);
}

TEST(ClientAssertion, UnknownKidOrKeyOfTheWrongTypeIsRefused) {
  PublicKeySet jwks = keys_of(key_set({rsa_a().jwk("r1"), ec_a().jwk("e1")}));
  expect_refused(check(rsa_a().sign(header("RS384", "r9"), claims()), jwks),
                 "no registered key has the assertion's kid");
  expect_refused(check(rsa_a().sign(header("RS384", "e1"), claims()), jwks),
                 "no registered RSA key for RS384");
  expect_refused(check(rsa_a().sign(header("RS384"), claims()), keys_of(ec_a().public_pem())),
                 "no registered RSA key for RS384");
  expect_refused(check(ec_a().sign(header("ES384"), claims()), keys_of(rsa_a().public_pem())),
                 "no registered EC P-384 key for ES384");
}

class ClaimRefusal : public ::testing::Test {
 protected:
  // Signs claims() with `name` set to value (or removed, for a null json) and checks the refusal.
  void expect(const char* name, const json& value, std::string_view message) {
    json c = claims();
    if (value.is_null()) {
      c.erase(name);
    } else {
      c[name] = value;
    }
    expect_refused(check(ec_a().sign(header("ES384"), c), keys_), message);
  }
  PublicKeySet keys_ = keys_of(ec_a().public_pem());
};

TEST_F(ClaimRefusal, AudienceOtherThanThisTokenEndpoint) {
  expect("aud", "https://labvault.example/fhir", "aud is not this token endpoint");
  expect("aud", std::string(kEndpoint) + "/", "aud is not this token endpoint");
  expect("aud", {"https://a.example/token", "https://b.example/token"},
         "aud is not this token endpoint");
  expect("aud", json::array(), "aud is missing");
  expect("aud", nullptr, "aud is missing");
}

TEST_F(ClaimRefusal, ExpiredMissingOrTooFarAhead) {
  expect("exp", kNow, "exp has passed");
  expect("exp", kNow - 3600, "exp has passed");
  expect("exp", kNow + 301, "exp is more than 5 minutes ahead");
  expect("exp", INT64_MAX, "exp is more than 5 minutes ahead");
  expect("exp", nullptr, "exp is missing");
  expect("nbf", kNow + 61, "nbf is more than 60 seconds ahead");
}

TEST_F(ClaimRefusal, MissingEmptyOrOversizedJti) {
  expect("jti", nullptr, "jti is missing");
  expect("jti", "", "jti is empty");
  expect("jti", std::string(257, 'j'), "jti is longer than 256 bytes");
}

TEST_F(ClaimRefusal, IssuerOrSubjectOtherThanTheClient) {
  expect("sub", "another-client", "sub is not the client_id");
  expect("sub", nullptr, "sub is missing");
  expect("iss", "another-client", "iss is not the client_id");
  expect("iss", nullptr, "iss is missing");
  json c = claims();
  c["iss"] = c["sub"] = "another-client";
  expect_refused(check(ec_a().sign(header("ES384"), c), keys_), "iss is not the client_id");
}

TEST(ClientAssertion, NoErrorMessageRepeatsTheTokenTheJtiOrClaimValues) {
  const std::string kCanary = "CANARY-JTI-7781";
  const std::string kEvilAud = "https://CANARY-AUD.example/token";
  PublicKeySet keys = keys_of(ec_a().jwks("CANARY-KID-1"));
  std::vector<std::string> tokens;
  auto variant = [&](const char* name, json value, const TestSigner& signer = ec_a()) {
    json c = claims();
    c["jti"] = kCanary;
    if (name != nullptr) c[name] = std::move(value);
    tokens.push_back(signer.sign(header("ES384", "CANARY-KID-1"), c));
  };
  variant(nullptr, nullptr, ec_b());                // bad signature
  variant("aud", kEvilAud);                         // wrong audience
  variant("exp", kNow);                             // expired
  variant("iss", "CANARY-ISS");                     // wrong issuer
  variant("jti", kCanary + std::string(300, 'x'));  // jti too long
  variant("exp", "CANARY-EXP");                     // malformed claim
  tokens.push_back(TestSigner::compact(header("none", "CANARY-KID-2"), claims(), ""));
  tokens.push_back(tokens.front() + "CANARY=");

  std::vector<model::Error> errors;
  for (const std::string& token : tokens) {
    auto r = check(token, keys);
    ASSERT_FALSE(r.has_value());
    errors.push_back(r.error());
  }
  errors.push_back(
      parse_public_keys(key_set({with(ec_a().jwk("CANARY-KID-3"), "d", "CANARY-D")})).error());
  errors.push_back(
      parse_public_keys(key_set({with(ec_a().jwk("CANARY-KID-4"), "crv", "CANARY-CRV")})).error());
  errors.push_back(parse_public_keys(R"({"keys":[{"kty":"CANARY-KTY"}]})").error());
  for (const model::Error& e : errors) {
    std::string text = e.to_string();
    EXPECT_EQ(text.find("CANARY"), std::string::npos) << text;
    for (const std::string& token : tokens) {
      EXPECT_EQ(text.find(parts(token)[1]), std::string::npos) << text;
    }
  }
}

}  // namespace
}  // namespace labvault::access
