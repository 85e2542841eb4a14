// SPDX-License-Identifier: GPL-2.0-or-later
// dashctl's TLS identity: made once, with the key private, an RSA 2048 key, and the
// intercepted names in the certificate; kept as it is afterwards.

#include "support/catch.h"

#include <sys/stat.h>

#include <cstdio>
#include <memory>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "support/tmpdir.h"
#include "tls/identity.h"
#include "util/fs.h"

using namespace dashctl;

namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("tls: the identity is made once, key private, certificate naming the hosts") {
  test::TempDir tmp;
  const std::string dir = tmp / "state";
  const std::vector<std::string> names{"dash-button-na-aws-opf.amazon.com", "parker-gateway-na.amazon.com"};
  const auto id = tls::ensure_identity(dir, names);
  CHECK(id.created);
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(id.key) == 0600);
  CHECK(mode_of(id.cert) == 0644);

  FILE* f = std::fopen(id.cert.c_str(), "r");
  REQUIRE(f);
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_X509(f, nullptr, nullptr, nullptr), X509_free);
  std::fclose(f);
  REQUIRE(cert);
  f = std::fopen(id.key.c_str(), "r");
  REQUIRE(f);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr),
                                                          EVP_PKEY_free);
  std::fclose(f);
  REQUIRE(key);
  CHECK(EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA);
  CHECK(EVP_PKEY_get_bits(key.get()) == 2048);
  CHECK(X509_check_private_key(cert.get(), key.get()) == 1);
  CHECK(X509_verify(cert.get(), key.get()) == 1);  // self-signed
  for (const auto& n : names) CHECK(X509_check_host(cert.get(), n.c_str(), n.size(), 0, nullptr) == 1);
  CHECK(X509_check_host(cert.get(), "example.com", 11, 0, nullptr) == 0);
  CHECK(X509_cmp_current_time(X509_get0_notBefore(cert.get())) < 0);
  CHECK(X509_cmp_current_time(X509_get0_notAfter(cert.get())) > 0);

  // Again: kept, not made anew.
  const auto before = util::read_file(id.cert);
  const auto again = tls::ensure_identity(dir, names);
  CHECK_FALSE(again.created);
  CHECK(util::read_file(again.cert) == before);
}

TEST_CASE("tls: a directory that cannot be made is a clear error") {
  test::TempDir tmp;
  tmp.write("file", "x");
  CHECK_THROWS_WITH(tls::ensure_identity(tmp / "file/state", {"a.example"}),
                    Catch::Contains("for the TLS certificate"));
}
