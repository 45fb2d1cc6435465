// The configuration store (src/config): persistence, migrations, refusal of damaged or
// too-new files without touching them, and concurrent writers in separate processes.
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "config/config_store.hpp"

namespace fs = std::filesystem;
using httpapi::config::AclEntry;
using httpapi::config::ConfigStore;
using httpapi::config::Reservation;
using httpapi::config::StoreError;
using httpapi::tls::CertBinding;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "httpapi-config-XXXXXX").string();
    if (!mkdtemp(pattern.data())) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Runs SQL on the file with the plain SQLite API (no ConfigStore), for hand-made files and
// checks behind the store's back. Returns the first column of the last row, as text.
std::string raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::string last;
  char* message = nullptr;
  const int rc = sqlite3_exec(
      db, sql.c_str(),
      [](void* out, int columns, char** values, char**) {
        if (columns > 0) *static_cast<std::string*>(out) = values[0] ? values[0] : "NULL";
        return 0;
      },
      &last, &message);
  EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (message ? message : "");
  sqlite3_free(message);
  sqlite3_close(db);
  return last;
}

Reservation make_reservation(const std::string& prefix) {
  Reservation r;
  r.prefix = prefix;
  r.acl.push_back({AclEntry::Kind::user, 1001, true, false});
  r.acl.push_back({AclEntry::Kind::group, 50, true, true});
  return r;
}

std::unique_ptr<ConfigStore> open_ok(const std::string& path) {
  StoreError error;
  auto store = ConfigStore::open(path, error);
  EXPECT_TRUE(store) << error.message;
  return store;
}

// Opens a file that must be refused; checks the message names the file and that the file
// is byte for byte what it was.
std::string expect_refused(const std::string& path) {
  const std::string before = read_bytes(path);
  StoreError error;
  auto store = ConfigStore::open(path, error);
  EXPECT_FALSE(store);
  EXPECT_NE(error.message.find(path), std::string::npos) << error.message;
  EXPECT_TRUE(read_bytes(path) == before) << "a refused store file was modified";
  return error.message;
}

TEST(ConfigStore, CreatesAndPersistsAcrossReopen) {
  TempDir dir;
  const std::string path = dir.file("config.db");
  {
    auto store = open_ok(path);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->schema_version(), ConfigStore::kSchemaVersion);
    EXPECT_EQ(store->path(), path);
    EXPECT_TRUE(store->reservations().empty());
    StoreError error;
    ASSERT_TRUE(store->add_reservation(make_reservation("http://+:80/shop/"), error))
        << error.message;
    ASSERT_TRUE(store->add_reservation({"https://example.com:443/", {}}, error));
    ASSERT_TRUE(store->add_listen_address("127.0.0.1", error)) << error.message;
    ASSERT_TRUE(store->set_setting("header_wait_seconds", "30", error)) << error.message;
  }
  EXPECT_EQ(raw_sql(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw_sql(path, "PRAGMA user_version"), "3");

  auto store = open_ok(path);
  ASSERT_TRUE(store);
  const auto reservations = store->reservations();
  ASSERT_EQ(reservations.size(), 2u);
  EXPECT_EQ(reservations[0].prefix, "http://+:80/shop/");
  ASSERT_EQ(reservations[0].acl.size(), 2u);
  EXPECT_EQ(reservations[0].acl[0].kind, AclEntry::Kind::user);
  EXPECT_EQ(reservations[0].acl[0].id, 1001u);
  EXPECT_TRUE(reservations[0].acl[0].listen);
  EXPECT_FALSE(reservations[0].acl[0].delegate);
  EXPECT_EQ(reservations[0].acl[1].kind, AclEntry::Kind::group);
  EXPECT_EQ(reservations[0].acl[1].id, 50u);
  EXPECT_TRUE(reservations[0].acl[1].delegate);
  EXPECT_EQ(reservations[1].prefix, "https://example.com:443/");
  EXPECT_TRUE(reservations[1].acl.empty());
  EXPECT_EQ(store->listen_addresses(), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(store->settings().at("header_wait_seconds"), "30");
}

TEST(ConfigStore, MigratesAnEmptyFile) {
  TempDir dir;
  const std::string path = dir.file("config.db");
  write_bytes(path, "");
  auto store = open_ok(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), ConfigStore::kSchemaVersion);
  StoreError error;
  EXPECT_TRUE(store->add_reservation(make_reservation("http://+:8080/"), error));
}

TEST(ConfigStore, MigratesAHandMadeVersion0File) {
  TempDir dir;
  const std::string path = dir.file("config.db");
  // A database from before the schema existed: user_version 0, rollback journal, an
  // unrelated table that must survive.
  raw_sql(path, "CREATE TABLE notes(x TEXT); INSERT INTO notes VALUES ('kept');");
  EXPECT_EQ(raw_sql(path, "PRAGMA user_version"), "0");
  {
    auto store = open_ok(path);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->schema_version(), ConfigStore::kSchemaVersion);
    StoreError error;
    EXPECT_TRUE(store->add_listen_address("::1", error)) << error.message;
  }
  EXPECT_EQ(raw_sql(path, "SELECT x FROM notes"), "kept");
  EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM sqlite_schema WHERE name IN "
                          "('reservations','reservation_acl','listen_addresses','settings')"),
            "4");
  EXPECT_EQ(raw_sql(path, "PRAGMA journal_mode"), "wal");
}

TEST(ConfigStore, FailedMigrationLeavesTheFileUnchanged) {
  TempDir dir;
  const std::string path = dir.file("config.db");
  // Version 0 but a table in the way of migration 1: the migration fails as a whole.
  raw_sql(path, "CREATE TABLE settings(other INTEGER);");
  const std::string message = expect_refused(path);
  EXPECT_NE(message.find("migrate"), std::string::npos) << message;
  EXPECT_EQ(raw_sql(path, "PRAGMA user_version"), "0");
  EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM sqlite_schema WHERE name='reservations'"), "0");
}

TEST(ConfigStore, DuplicateReservationIsRefused) {
  TempDir dir;
  auto store = open_ok(dir.file("config.db"));
  ASSERT_TRUE(store);
  StoreError error;
  ASSERT_TRUE(store->add_reservation(make_reservation("http://+:80/x/"), error));
  Reservation other{"http://+:80/x/", {{AclEntry::Kind::user, 7, true, true}}};
  EXPECT_FALSE(store->add_reservation(other, error));
  EXPECT_EQ(error.kind, StoreError::Kind::already_exists);
  EXPECT_NE(error.message.find("http://+:80/x/"), std::string::npos);
  // Reservations compare like routing does: case-insensitively.
  other.prefix = "http://+:80/X/";
  EXPECT_FALSE(store->add_reservation(other, error));
  EXPECT_EQ(error.kind, StoreError::Kind::already_exists);
  const auto all = store->reservations();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].acl.size(), 2u);
  EXPECT_EQ(all[0].acl[0].id, 1001u);
}

TEST(ConfigStore, AclNamingAnIdentityTwiceIsRefusedWhole) {
  TempDir dir;
  auto store = open_ok(dir.file("config.db"));
  ASSERT_TRUE(store);
  Reservation r{"http://+:80/y/",
                {{AclEntry::Kind::user, 5, true, false}, {AclEntry::Kind::user, 5, true, true}}};
  StoreError error;
  EXPECT_FALSE(store->add_reservation(r, error));
  EXPECT_EQ(error.kind, StoreError::Kind::invalid);
  EXPECT_TRUE(store->reservations().empty()) << "half a reservation was stored";
  // A user and a group with the same number are different identities.
  r.acl[1].kind = AclEntry::Kind::group;
  EXPECT_TRUE(store->add_reservation(r, error)) << error.message;
}

TEST(ConfigStore, DeleteCascadesToTheAccessList) {
  TempDir dir;
  const std::string path = dir.file("config.db");
  auto store = open_ok(path);
  ASSERT_TRUE(store);
  StoreError error;
  ASSERT_TRUE(store->add_reservation(make_reservation("http://+:80/a/"), error));
  ASSERT_TRUE(store->add_reservation(make_reservation("http://+:80/b/"), error));
  EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM reservation_acl"), "4");
  ASSERT_TRUE(store->delete_reservation("http://+:80/a/", error)) << error.message;
  EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM reservation_acl"), "2");
  EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM reservation_acl WHERE prefix='http://+:80/a/'"),
            "0");
  ASSERT_EQ(store->reservations().size(), 1u);
  EXPECT_EQ(store->reservations()[0].prefix, "http://+:80/b/");

  EXPECT_FALSE(store->delete_reservation("http://+:80/a/", error));
  EXPECT_EQ(error.kind, StoreError::Kind::not_found);
  EXPECT_NE(error.message.find("http://+:80/a/"), std::string::npos);
}

TEST(ConfigStore, ListenEndpointsRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("config.db");
  {
    auto store = open_ok(path);
    ASSERT_TRUE(store);
    StoreError error;
    EXPECT_TRUE(store->add_listen_endpoint({"127.0.0.2", 8080, true, "127.0.0.1/32"}, error))
        << error.message;
    EXPECT_TRUE(store->add_listen_endpoint({"::", 8443, true, "::1/128,10.0.0.0/8"}, error));
    EXPECT_FALSE(store->add_listen_endpoint({"127.0.0.2", 8080, true, "10.0.0.0/8"}, error));
    EXPECT_EQ(error.kind, StoreError::Kind::already_exists);
    EXPECT_EQ(error.message,
              "127.0.0.2:8080 is already in the IP listen list; delete it first to change it");
    EXPECT_TRUE(store->add_listen_endpoint({"10.0.0.1", 80, true, "10.0.0.0/8"}, error));
    EXPECT_TRUE(store->delete_listen_endpoint("10.0.0.1", 80, error)) << error.message;
    EXPECT_FALSE(store->delete_listen_endpoint("10.0.0.1", 80, error));
    EXPECT_EQ(error.kind, StoreError::Kind::not_found);
    EXPECT_FALSE(store->delete_listen_endpoint("::", 80, error));
    EXPECT_EQ(error.message, "[::]:80 is not in the IP listen list");
  }
  auto store = open_ok(path);
  ASSERT_TRUE(store);
  const auto endpoints = store->listen_endpoints();
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_EQ(endpoints[0].host, "127.0.0.2");
  EXPECT_EQ(endpoints[0].port, 8080);
  EXPECT_TRUE(endpoints[0].proxy_protocol);
  EXPECT_EQ(endpoints[0].trusted, "127.0.0.1/32");
  EXPECT_EQ(endpoints[1].host, "::");
  EXPECT_EQ(endpoints[1].trusted, "::1/128,10.0.0.0/8");
}

TEST(ConfigStore, ListenListRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("config.db");
  {
    auto store = open_ok(path);
    ASSERT_TRUE(store);
    StoreError error;
    EXPECT_TRUE(store->add_listen_address("::0001", error)) << error.message;
    EXPECT_TRUE(store->add_listen_address("10.0.0.1", error));
    EXPECT_TRUE(store->add_listen_address("0.0.0.0", error));
    EXPECT_TRUE(store->add_listen_address("[::]", error));
    EXPECT_FALSE(store->add_listen_address("::1", error));
    EXPECT_EQ(error.kind, StoreError::Kind::already_exists);
    for (const char* bad : {"", "1.2.3.4:80", "localhost", "300.1.1.1", "::1%lo"}) {
      EXPECT_FALSE(store->add_listen_address(bad, error)) << bad;
      EXPECT_EQ(error.kind, StoreError::Kind::invalid) << bad;
    }
    EXPECT_TRUE(store->delete_listen_address("10.0.0.1", error)) << error.message;
    EXPECT_FALSE(store->delete_listen_address("10.0.0.1", error));
    EXPECT_EQ(error.kind, StoreError::Kind::not_found);
  }
  auto store = open_ok(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->listen_addresses(), (std::vector<std::string>{"::1", "0.0.0.0", "::"}));
}

TEST(ConfigStore, SettingsRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("config.db");
  {
    auto store = open_ok(path);
    ASSERT_TRUE(store);
    StoreError error;
    EXPECT_TRUE(store->set_setting("max_request_bytes", "16384", error));
    EXPECT_TRUE(store->set_setting("header_wait_seconds", "120", error));
    EXPECT_TRUE(store->set_setting("header_wait_seconds", "30", error));
    EXPECT_TRUE(store->set_setting("server_header", "", error));
    EXPECT_FALSE(store->set_setting("", "x", error));
    EXPECT_EQ(error.kind, StoreError::Kind::invalid);
    EXPECT_TRUE(store->delete_setting("max_request_bytes", error));
    EXPECT_FALSE(store->delete_setting("max_request_bytes", error));
    EXPECT_EQ(error.kind, StoreError::Kind::not_found);
  }
  auto store = open_ok(path);
  ASSERT_TRUE(store);
  const std::map<std::string, std::string> expected{{"header_wait_seconds", "30"},
                                                    {"server_header", ""}};
  EXPECT_EQ(store->settings(), expected);
}

TEST(ConfigStore, RefusesAFileThatIsNotADatabase) {
  TempDir dir;
  const std::string path = dir.file("config.db");
  std::string garbage;
  for (int i = 0; i < 300; ++i) garbage += "this is not a database, it is a text file\n";
  write_bytes(path, garbage);
  const std::string message = expect_refused(path);
  EXPECT_NE(message.find("not an SQLite database"), std::string::npos) << message;
  EXPECT_NE(message.find("backup"), std::string::npos) << message;
}

// A real store with enough rows to span many pages, closed cleanly (WAL checkpointed).
std::string make_populated_store(const TempDir& dir) {
  const std::string path = dir.file("config.db");
  auto store = open_ok(path);
  StoreError error;
  for (int i = 0; i < 300; ++i) {
    EXPECT_TRUE(store->add_reservation(
        make_reservation("http://+:80/some/fairly/long/path/number/" + std::to_string(i) + "/"),
        error));
  }
  store.reset();
  EXPECT_FALSE(fs::exists(path + "-wal"));
  return path;
}

TEST(ConfigStore, RefusesATruncatedDatabase) {
  TempDir dir;
  const std::string path = make_populated_store(dir);
  const auto size = fs::file_size(path);
  ASSERT_GT(size, 16u * 4096u);
  fs::resize_file(path, size / 2);
  const std::string message = expect_refused(path);
  EXPECT_NE(message.find("corrupt"), std::string::npos) << message;
}

TEST(ConfigStore, RefusesADatabaseWithDamagedPages) {
  TempDir dir;
  const std::string path = make_populated_store(dir);
  std::string bytes = read_bytes(path);
  // Overwrite pages 4..6 (keeping the header page intact) with a pattern.
  ASSERT_GT(bytes.size(), 8u * 4096u);
  for (std::size_t i = 3 * 4096; i < 6 * 4096; ++i) bytes[i] = static_cast<char>(0xa5);
  write_bytes(path, bytes);
  const std::string message = expect_refused(path);
  EXPECT_NE(message.find("corrupt"), std::string::npos) << message;
}

TEST(ConfigStore, RefusesANewerSchema) {
  TempDir dir;
  const std::string path = dir.file("config.db");
  raw_sql(path, "CREATE TABLE future(x); PRAGMA user_version=4;");
  const std::string message = expect_refused(path);
  EXPECT_NE(message.find("schema version 4"), std::string::npos) << message;
  EXPECT_NE(message.find("newer"), std::string::npos) << message;
  EXPECT_EQ(raw_sql(path, "PRAGMA user_version"), "4");
}

TEST(ConfigStore, RefusesADirectoryAndAMissingDirectory) {
  TempDir dir;
  StoreError error;
  EXPECT_FALSE(ConfigStore::open(dir.file(""), error));
  EXPECT_FALSE(error.message.empty());
  EXPECT_FALSE(ConfigStore::open(dir.file("no/such/dir/config.db"), error));
  EXPECT_NE(error.message.find("no/such/dir/config.db"), std::string::npos) << error.message;
}

TEST(ConfigStore, ConcurrentWritersInTwoProcesses) {
  TempDir dir;
  const std::string path = dir.file("config.db");
  open_ok(path).reset();  // created and migrated once, as httpapid would on start

  constexpr int kPerProcess = 200;
  pid_t children[2];
  for (int c = 0; c < 2; ++c) {
    children[c] = fork();
    ASSERT_GE(children[c], 0);
    if (children[c] == 0) {
      StoreError error;
      auto store = ConfigStore::open(path, error);
      if (!store) _exit(10);
      for (int i = 0; i < kPerProcess; ++i) {
        Reservation r = make_reservation("http://+:80/p" + std::to_string(c) + "/" +
                                         std::to_string(i) + "/");
        if (!store->add_reservation(r, error)) _exit(11);
        if (i % 50 == 0 && !store->set_setting("writer" + std::to_string(c),
                                               std::to_string(i), error)) {
          _exit(12);
        }
      }
      store.reset();
      _exit(0);
    }
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  auto store = open_ok(path);
  ASSERT_TRUE(store);
  const auto all = store->reservations();
  EXPECT_EQ(all.size(), 2u * kPerProcess);
  std::set<std::string> prefixes;
  for (const auto& r : all) {
    prefixes.insert(r.prefix);
    EXPECT_EQ(r.acl.size(), 2u) << r.prefix;
  }
  EXPECT_EQ(prefixes.size(), 2u * kPerProcess);
  EXPECT_TRUE(prefixes.count("http://+:80/p0/199/"));
  EXPECT_TRUE(prefixes.count("http://+:80/p1/0/"));
  store.reset();
  EXPECT_EQ(raw_sql(path, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM reservation_acl"), "800");
}

}  // namespace

// ---- certificate bindings (schema version 2)

namespace {

CertBinding make_binding(CertBinding::Kind kind, const std::string& host, std::uint16_t port) {
  CertBinding b;
  b.kind = kind;
  b.host = host;
  b.port = port;
  b.certificates.push_back({"-----BEGIN CERTIFICATE-----\nRSA " + host + "\n",
                            "-----BEGIN PRIVATE KEY-----\nsecret " + host + "\n"});
  return b;
}

mode_t mode_of(const std::string& path) {
  struct stat info{};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

}  // namespace

TEST(ConfigStore, CertBindingsRoundTripAcrossReopen) {
  TempDir dir;
  const std::string path = dir.file("config.db");
  CertBinding full = make_binding(CertBinding::Kind::hostname_port, "*.example.com", 8443);
  full.certificates.push_back({"ECDSA chain", "ECDSA key"});
  full.client_cert = httpapi::tls::ClientCertMode::require;
  full.ca_pem = "CA bundle";
  full.min_tls = httpapi::tls::MinTls::v1_3;
  full.disable_http2 = true;
  full.disable_session_id = true;
  {
    auto store = open_ok(path);
    ASSERT_TRUE(store);
    EXPECT_TRUE(store->cert_bindings().empty());
    StoreError error;
    ASSERT_TRUE(store->add_cert_binding(make_binding(CertBinding::Kind::ip_port, "::", 443),
                                        error))
        << error.message;
    ASSERT_TRUE(store->add_cert_binding(full, error)) << error.message;
    ASSERT_TRUE(store->add_cert_binding(
        make_binding(CertBinding::Kind::ip_port, "0.0.0.0", 443), error));
  }
  auto store = open_ok(path);
  ASSERT_TRUE(store);
  const auto bindings = store->cert_bindings();
  ASSERT_EQ(bindings.size(), 3u);
  // Ordered by port, then kind, then host.
  EXPECT_EQ(bindings[0].host, "0.0.0.0");
  EXPECT_EQ(bindings[1].host, "::");
  EXPECT_EQ(bindings[1].kind, CertBinding::Kind::ip_port);
  EXPECT_EQ(bindings[1].port, 443);
  EXPECT_EQ(bindings[1].client_cert, httpapi::tls::ClientCertMode::none);
  EXPECT_EQ(bindings[1].min_tls, httpapi::tls::MinTls::v1_2);
  EXPECT_FALSE(bindings[1].disable_http2);
  ASSERT_EQ(bindings[1].certificates.size(), 1u);
  EXPECT_EQ(bindings[1].certificates[0].key_pem, "-----BEGIN PRIVATE KEY-----\nsecret ::\n");
  const CertBinding& got = bindings[2];
  EXPECT_EQ(got.kind, CertBinding::Kind::hostname_port);
  EXPECT_EQ(got.host, "*.example.com");
  EXPECT_EQ(got.port, 8443);
  ASSERT_EQ(got.certificates.size(), 2u);
  EXPECT_EQ(got.certificates[0].certificate_pem, full.certificates[0].certificate_pem);
  EXPECT_EQ(got.certificates[1].certificate_pem, "ECDSA chain");
  EXPECT_EQ(got.certificates[1].key_pem, "ECDSA key");
  EXPECT_EQ(got.client_cert, httpapi::tls::ClientCertMode::require);
  EXPECT_EQ(got.ca_pem, "CA bundle");
  EXPECT_EQ(got.min_tls, httpapi::tls::MinTls::v1_3);
  EXPECT_TRUE(got.disable_http2);
  EXPECT_TRUE(got.disable_session_id);
}

TEST(ConfigStore, DuplicateCertBindingIsRefusedAndChangesNothing) {
  TempDir dir;
  auto store = open_ok(dir.file("config.db"));
  ASSERT_TRUE(store);
  StoreError error;
  ASSERT_TRUE(store->add_cert_binding(make_binding(CertBinding::Kind::ip_port, "::", 443), error));
  CertBinding again = make_binding(CertBinding::Kind::ip_port, "::", 443);
  again.certificates[0].key_pem = "other";
  EXPECT_FALSE(store->add_cert_binding(again, error));
  EXPECT_EQ(error.kind, StoreError::Kind::already_exists);
  EXPECT_NE(error.message.find("[::]:443"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("update"), std::string::npos) << error.message;
  // The same host and port as the other kind is another binding.
  EXPECT_TRUE(store->add_cert_binding(make_binding(CertBinding::Kind::hostname_port, "::", 443),
                                      error));
  const auto bindings = store->cert_bindings();
  ASSERT_EQ(bindings.size(), 2u);
  EXPECT_EQ(bindings[0].certificates[0].key_pem, "-----BEGIN PRIVATE KEY-----\nsecret ::\n");
}

TEST(ConfigStore, UpdateReplacesTheWholeBinding) {
  TempDir dir;
  auto store = open_ok(dir.file("config.db"));
  ASSERT_TRUE(store);
  StoreError error;
  CertBinding b = make_binding(CertBinding::Kind::hostname_port, "www.example.com", 443);
  b.certificates.push_back({"second", "second key"});
  b.client_cert = httpapi::tls::ClientCertMode::request;
  b.ca_pem = "ca";
  ASSERT_TRUE(store->add_cert_binding(b, error));

  CertBinding replacement = make_binding(CertBinding::Kind::hostname_port, "www.example.com", 443);
  replacement.certificates[0] = {"new chain", "new key"};
  ASSERT_TRUE(store->update_cert_binding(replacement, error)) << error.message;
  const auto bindings = store->cert_bindings();
  ASSERT_EQ(bindings.size(), 1u);
  ASSERT_EQ(bindings[0].certificates.size(), 1u);
  EXPECT_EQ(bindings[0].certificates[0].certificate_pem, "new chain");
  EXPECT_EQ(bindings[0].certificates[0].key_pem, "new key");
  EXPECT_EQ(bindings[0].client_cert, httpapi::tls::ClientCertMode::none);
  EXPECT_EQ(bindings[0].ca_pem, "");
}

TEST(ConfigStore, UpdateAndDeleteOfAMissingBindingAreNotFound) {
  TempDir dir;
  auto store = open_ok(dir.file("config.db"));
  ASSERT_TRUE(store);
  StoreError error;
  EXPECT_FALSE(store->update_cert_binding(
      make_binding(CertBinding::Kind::ip_port, "127.0.0.1", 443), error));
  EXPECT_EQ(error.kind, StoreError::Kind::not_found);
  EXPECT_NE(error.message.find("127.0.0.1:443"), std::string::npos) << error.message;
  EXPECT_FALSE(store->delete_cert_binding(CertBinding::Kind::ip_port, "127.0.0.1", 443, error));
  EXPECT_EQ(error.kind, StoreError::Kind::not_found);
  EXPECT_TRUE(store->cert_bindings().empty());
}

TEST(ConfigStore, DeleteCascadesToTheCertificates) {
  TempDir dir;
  const std::string path = dir.file("config.db");
  {
    auto store = open_ok(path);
    ASSERT_TRUE(store);
    StoreError error;
    ASSERT_TRUE(store->add_cert_binding(
        make_binding(CertBinding::Kind::ip_port, "127.0.0.1", 443), error));
    ASSERT_TRUE(store->add_cert_binding(
        make_binding(CertBinding::Kind::ip_port, "127.0.0.1", 444), error));
    ASSERT_TRUE(store->delete_cert_binding(CertBinding::Kind::ip_port, "127.0.0.1", 443, error))
        << error.message;
    ASSERT_EQ(store->cert_bindings().size(), 1u);
    EXPECT_EQ(store->cert_bindings()[0].port, 444);
  }
  EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM cert_binding_certificates"), "1");
  EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM cert_binding_certificates WHERE key_pem LIKE "
                          "'%secret 127.0.0.1%' AND port = 443"),
            "0");
}

TEST(ConfigStore, ABindingNeedsOneOrTwoCertificates) {
  TempDir dir;
  auto store = open_ok(dir.file("config.db"));
  ASSERT_TRUE(store);
  StoreError error;
  CertBinding none = make_binding(CertBinding::Kind::ip_port, "::", 443);
  none.certificates.clear();
  EXPECT_FALSE(store->add_cert_binding(none, error));
  EXPECT_EQ(error.kind, StoreError::Kind::invalid);
  CertBinding three = make_binding(CertBinding::Kind::ip_port, "::", 443);
  three.certificates.resize(3, three.certificates[0]);
  EXPECT_FALSE(store->add_cert_binding(three, error));
  EXPECT_EQ(error.kind, StoreError::Kind::invalid);
  EXPECT_TRUE(store->cert_bindings().empty());
}

TEST(ConfigStore, MigratesAVersion1FileKeepingItsData) {
  TempDir dir;
  const std::string path = dir.file("config.db");
  // Schema version 1 exactly as the previous release wrote it.
  raw_sql(path, R"sql(
CREATE TABLE reservations (prefix TEXT NOT NULL COLLATE NOCASE PRIMARY KEY);
CREATE TABLE reservation_acl (
  prefix TEXT NOT NULL COLLATE NOCASE REFERENCES reservations(prefix) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('user', 'group')),
  id INTEGER NOT NULL CHECK (id BETWEEN 0 AND 4294967295),
  listen INTEGER NOT NULL CHECK (listen IN (0, 1)),
  delegate INTEGER NOT NULL CHECK (delegate IN (0, 1)),
  UNIQUE (prefix, kind, id));
CREATE TABLE listen_addresses (address TEXT NOT NULL PRIMARY KEY);
CREATE TABLE settings (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO reservations VALUES ('http://+:80/kept/');
INSERT INTO settings VALUES ('header_wait_seconds', '12');
PRAGMA user_version=1;
)sql");
  auto store = open_ok(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), ConfigStore::kSchemaVersion);
  ASSERT_EQ(store->reservations().size(), 1u);
  EXPECT_EQ(store->reservations()[0].prefix, "http://+:80/kept/");
  EXPECT_EQ(store->settings().at("header_wait_seconds"), "12");
  StoreError error;
  EXPECT_TRUE(store->add_cert_binding(make_binding(CertBinding::Kind::ip_port, "::", 443), error))
      << error.message;
}

TEST(ConfigStore, FileAndItsWalAreCreatedPrivate) {
  TempDir dir;
  const std::string path = dir.file("config.db");
  const mode_t old_umask = ::umask(022);
  auto store = open_ok(path);
  ::umask(old_umask);
  ASSERT_TRUE(store);
  StoreError error;
  ASSERT_TRUE(store->add_cert_binding(make_binding(CertBinding::Kind::ip_port, "::", 443), error));
  EXPECT_EQ(mode_of(path), 0600u);
  ASSERT_TRUE(fs::exists(path + "-wal"));
  ASSERT_TRUE(fs::exists(path + "-shm"));
  EXPECT_EQ(mode_of(path + "-wal"), 0600u);
  EXPECT_EQ(mode_of(path + "-shm"), 0600u);
}

TEST(ConfigStore, AnOlderReadableFileIsMadePrivate) {
  TempDir dir;
  const std::string path = dir.file("config.db");
  raw_sql(path, "CREATE TABLE notes(x TEXT);");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  write_bytes(path + "-wal", "");
  ASSERT_EQ(::chmod((path + "-wal").c_str(), 0666), 0);
  auto store = open_ok(path);
  ASSERT_TRUE(store);
  StoreError error;
  ASSERT_TRUE(store->set_setting("header_wait_seconds", "30", error)) << error.message;
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(mode_of(path + "-wal"), 0600u);
  EXPECT_EQ(mode_of(path + "-shm"), 0600u);
}
