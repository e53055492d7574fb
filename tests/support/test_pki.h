// A throwaway PKI for the TLS tests, made with OpenSSL's API into a temporary folder: a CA, a server
// certificate it signed (SAN 127.0.0.1 and localhost), a client certificate it signed, and a second,
// unrelated CA with a client certificate of its own (one the server must not trust). P-256 keys, valid from
// an hour ago for a year. Header-only, for tests only.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace accel::testing {

class TestPki {
 public:
  // Throws std::runtime_error when OpenSSL fails (the test cannot run without its certificates).
  TestPki() {
    char pattern[] = "/tmp/accel-pki-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    Key ca_key;
    Cert ca = Sign(ca_key, "Accel test CA", nullptr, ca_key, kCa, 1);
    Key server_key;
    Cert server = Sign(server_key, "localhost", ca.get(), ca_key, kServer, 2);
    Key client_key;
    Cert client = Sign(client_key, "accel test client", ca.get(), ca_key, kClient, 3);
    Key other_ca_key;
    Cert other_ca = Sign(other_ca_key, "Unrelated CA", nullptr, other_ca_key, kCa, 4);
    Key other_client_key;
    Cert other_client = Sign(other_client_key, "stranger", other_ca.get(), other_ca_key, kClient, 5);
    ca_cert = Write("ca.pem", ca.get());
    server_cert = Write("server.pem", server.get());
    server_key_file = Write("server.key", server_key.get());
    encrypted_key_file = Write("server-encrypted.key", server_key.get(), "secret");
    client_cert = Write("client.pem", client.get());
    client_key_file = Write("client.key", client_key.get());
    other_client_cert = Write("other-client.pem", other_client.get());
    other_client_key_file = Write("other-client.key", other_client_key.get());
  }
  ~TestPki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  // Writes `text` to a file in the folder and returns its path (for malformed-input tests).
  std::string WriteText(const std::string& name, const std::string& text) const {
    std::string path = dir_ + "/" + name;
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot write " + path);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    return path;
  }
  const std::string& dir() const { return dir_; }

  std::string ca_cert, server_cert, server_key_file, client_cert, client_key_file;
  std::string encrypted_key_file;  // server_key_file's key, encrypted with the passphrase "secret"
  std::string other_client_cert, other_client_key_file;

 private:
  enum Role { kCa, kServer, kClient };
  struct Key {
    Key() : key(EVP_EC_gen("P-256")) {
      if (!key) throw std::runtime_error("EVP_EC_gen failed");
    }
    ~Key() { EVP_PKEY_free(key); }
    Key(const Key&) = delete;
    Key& operator=(const Key&) = delete;
    EVP_PKEY* get() const { return key; }
    EVP_PKEY* key;
  };
  struct CertFree {
    void operator()(X509* x) const { X509_free(x); }
  };
  using Cert = std::unique_ptr<X509, CertFree>;

  static void AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
    if (!ext || X509_add_ext(cert, ext, -1) != 1) throw std::runtime_error("cannot add an extension");
    X509_EXTENSION_free(ext);
  }

  // A certificate for `key`, signed by `issuer` (self-signed when null) with `issuer_key`.
  static Cert Sign(const Key& key, const char* common_name, X509* issuer, const Key& issuer_key, Role role,
                   long serial) {
    Cert cert(X509_new());
    X509* x = cert.get();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
    X509_set_pubkey(x, key.get());
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name),
                               -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
    AddExtension(x, &ctx, NID_subject_key_identifier, "hash");
    if (role == kCa) {
      AddExtension(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
      AddExtension(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
      AddExtension(x, &ctx, NID_authority_key_identifier, "keyid");
      AddExtension(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
      AddExtension(x, &ctx, NID_key_usage, "critical,digitalSignature");
      AddExtension(x, &ctx, NID_ext_key_usage, role == kServer ? "serverAuth" : "clientAuth");
      if (role == kServer) AddExtension(x, &ctx, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    }
    if (X509_sign(x, issuer_key.get(), EVP_sha256()) == 0) throw std::runtime_error("X509_sign failed");
    return cert;
  }

  template <class Object>
  std::string Write(const std::string& name, Object* object, const char* passphrase = nullptr) const {
    std::string path = dir_ + "/" + name;
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot write " + path);
    int ok;
    if constexpr (std::is_same_v<Object, X509>) {
      ok = PEM_write_X509(f, object);
    } else {
      ok = passphrase ? PEM_write_PrivateKey(f, object, EVP_aes_128_cbc(),
                                             reinterpret_cast<const unsigned char*>(passphrase),
                                             static_cast<int>(std::strlen(passphrase)), nullptr, nullptr)
                      : PEM_write_PrivateKey(f, object, nullptr, nullptr, 0, nullptr, nullptr);
    }
    std::fclose(f);
    if (!ok) throw std::runtime_error("cannot write " + path);
    return path;
  }

  std::string dir_;
};

}  // namespace accel::testing
