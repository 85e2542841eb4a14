// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// dashctl's own TLS identity for the buttons: an RSA 2048 key (old embedded TLS stacks may
// offer RSA key exchange only) and a self-signed certificate naming the intercepted hosts.
// No button can verify it; a button that checks the certificate gives up at once, which is
// what saves its battery (see dashctl-run(8), BUTTON LIFE). This file, the TLS endpoint and
// the MQTT client's mqtts:// context speak to OpenSSL.

#include <string>
#include <vector>

namespace dashctl::tls {

struct Identity {
  std::string key;   ///< the private key's path (PEM), mode 0600
  std::string cert;  ///< the certificate's path (PEM), mode 0644
  bool created = false;  ///< made by this call
};

/// The key and certificate in `dir` (tls.key, tls.crt): read as they are when both exist,
/// else created (the directory and its missing parents too, 0700), each written atomically. `names` (the intercepted
/// host names) become the certificate's subject alternative names; its common name is the
/// first. Valid from an hour ago for 20 years. Throws util::Error (Exit::cant_create,
/// Exit::no_perm, Exit::software when OpenSSL fails).
Identity ensure_identity(const std::string& dir, const std::vector<std::string>& names);

}  // namespace dashctl::tls
