#include "api/tls_credentials.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "core/logging.h"

namespace accel {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

// OpenSSL's most recent error on this thread, and an empty queue afterwards (the queue is per thread and
// would otherwise leak into the next OpenSSL call's report).
std::string OpenSslReason() {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return "no PEM data of the right kind";
  char text[256];
  ERR_error_string_n(last, text, sizeof(text));
  return text;
}

Status FileError(const std::string& what, const std::string& path, const std::string& reason) {
  return InvalidArgument(what + " '" + path + "': " + reason);
}

StatusOr<std::string> ReadPem(const std::string& what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return FileError("cannot read " + what, path, "cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return FileError("cannot read " + what, path, "read error");
  return text.str();
}

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate in `pem`, in order. Other PEM blocks (a key in the same file) are skipped.
std::vector<X509Ptr> ReadCertificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  BioPtr bio = MemoryBio(pem);
  if (!bio) return out;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(cert);
  return out;
}

// Never prompts: without it OpenSSL asks for an encrypted key's passphrase on the terminal.
int NoPassphrase(char*, int, int, void*) { return -1; }

}  // namespace

StatusOr<TlsCredentials> LoadTlsCredentials(const TlsFiles& files) {
  if (files.cert_file.empty() != files.key_file.empty()) {
    return InvalidArgument(files.cert_file.empty()
                               ? "a TLS private key was given without a certificate (--tls-cert)"
                               : "a TLS certificate was given without its private key (--tls-key)");
  }
  if (files.cert_file.empty()) {
    if (!files.client_ca_file.empty())
      return InvalidArgument("a TLS client CA (--tls-client-ca) needs TLS on: give --tls-cert and --tls-key");
    return InvalidArgument("no TLS certificate and key given");
  }
  ERR_clear_error();
  TlsCredentials out;
  ACCEL_ASSIGN_OR_RETURN(out.cert_chain_pem, ReadPem("TLS certificate file", files.cert_file));
  ACCEL_ASSIGN_OR_RETURN(out.private_key_pem, ReadPem("TLS private key file", files.key_file));

  std::vector<X509Ptr> chain = ReadCertificates(out.cert_chain_pem);
  if (chain.empty()) {
    return FileError("no certificate in TLS certificate file", files.cert_file,
                     "expected PEM '-----BEGIN CERTIFICATE-----' (" + OpenSslReason() + ")");
  }
  ERR_clear_error();
  if (X509_cmp_current_time(X509_get0_notAfter(chain.front().get())) < 0) {
    ACCEL_LOG(kWarn, "tls") << "the certificate in " << files.cert_file
                            << " has expired: clients that check it will refuse to connect";
  }

  BioPtr key_bio = MemoryBio(out.private_key_pem);
  KeyPtr key(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (!key) {
    return FileError("no usable private key in TLS private key file", files.key_file,
                     "expected an unencrypted PEM private key (" + OpenSslReason() + ")");
  }
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    return FileError(
        "TLS private key file", files.key_file,
        "the key does not belong to the certificate in '" + files.cert_file + "' (" + OpenSslReason() + ")");
  }

  if (!files.client_ca_file.empty()) {
    ACCEL_ASSIGN_OR_RETURN(out.client_ca_pem, ReadPem("TLS client CA file", files.client_ca_file));
    if (ReadCertificates(out.client_ca_pem).empty()) {
      return FileError("no certificate in TLS client CA file", files.client_ca_file,
                       "expected PEM '-----BEGIN CERTIFICATE-----' (" + OpenSslReason() + ")");
    }
  }
  ERR_clear_error();
  return out;
}

}  // namespace accel
