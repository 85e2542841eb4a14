// SPDX-License-Identifier: GPL-2.0-or-later
#include "tls/identity.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <memory>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/error.h"
#include "util/fs.h"

namespace dashctl::tls {
namespace {

using util::Error;
using util::Exit;

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

[[noreturn]] void openssl_failed(const std::string& what) {
  const unsigned long e = ERR_get_error();
  char text[256] = "unknown error";
  if (e) ERR_error_string_n(e, text, sizeof text);
  ERR_clear_error();
  throw Error(Exit::software, "creating the TLS certificate: " + what + ": " + text);
}

std::string pem(const std::function<int(BIO*)>& write, const char* what) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) openssl_failed(what);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

/// The subject alternative names: DNS entries for names that are host names.
std::string san_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (n.empty() || n.find_first_of(",:\n") != std::string::npos) continue;
    out += (out.empty() ? "DNS:" : ",DNS:") + n;
  }
  return out;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

Identity ensure_identity(const std::string& dir, const std::vector<std::string>& names) {
  Identity id{dir + "/tls.key", dir + "/tls.crt", false};
  if (exists(id.key) && exists(id.cert)) return id;
  // The directory and any parent missing (a state directory's first use), private.
  util::make_directories(dir, 0700, "the TLS certificate");

  Key key(EVP_RSA_gen(2048));
  if (!key) openssl_failed("an RSA key");
  Cert cert(X509_new());
  if (!cert) openssl_failed("a certificate");
  X509_set_version(cert.get(), 2);  // v3
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) openssl_failed("a serial number");
  serial[0] &= 0x7f;  // positive
  std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()))) openssl_failed("a serial number");
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 20L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  const std::string cn = names.empty() ? std::string("dashctl") : names.front().substr(0, 64);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("dashctl"), -1, -1, 0);
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                                  -1, 0))
    openssl_failed("the certificate's name");
  X509_set_issuer_name(cert.get(), name);  // self-signed
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  auto extend = [&](int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext) openssl_failed("a certificate extension");
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  };
  if (const auto sans = san_list(names); !sans.empty()) extend(NID_subject_alt_name, sans);
  extend(NID_basic_constraints, "critical,CA:FALSE");
  extend(NID_key_usage, "critical,digitalSignature,keyEncipherment");
  extend(NID_ext_key_usage, "serverAuth");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) openssl_failed("signing the certificate");

  const std::string key_pem = pem(
      [&](BIO* b) { return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr); }, "the key");
  const std::string cert_pem = pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); }, "the certificate");
  // The key first: a certificate is never there without its key.
  util::write_file_atomic(id.key, key_pem, 0600);
  util::write_file_atomic(id.cert, cert_pem, 0644);
  id.created = true;
  return id;
}

}  // namespace dashctl::tls
