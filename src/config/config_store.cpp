// The configuration store on SQLite. Layout of the file (schema version 3):
//
//   reservations(prefix)                       one row per reserved URL prefix
//   reservation_acl(prefix, kind, id, listen, delegate)
//                                              its access list, in the order given
//   listen_addresses(address)                  the IP listen list, in the order added
//   listen_endpoints(host, port, proxy_protocol, trusted)
//                                              its IP:PORT entries (version 3)
//   settings(key, value)                       server-wide limits and timers, as text
//   cert_bindings(kind, host, port, client_cert, ca_pem, min_tls, disable_http2,
//                 disable_session_id)          one row per certificate binding (version 2)
//   cert_binding_certificates(kind, host, port, position, certificate_pem, key_pem)
//                                              its one or two certificates, in order
//
// Private keys live in the file, so it is created mode 0600 and an older file is tightened
// to 0600 when opened; SQLite gives the -wal and -shm files the mode of the database file.
//
// The schema version is PRAGMA user_version. kMigrations lists the steps from one version to
// the next; open() applies the missing ones in one IMMEDIATE transaction, so two processes
// opening an old file at once migrate it exactly once.
//
// Durability: WAL journal, synchronous=FULL (a change is on disk when its call returns),
// every change one BEGIN IMMEDIATE ... COMMIT. A file that fails the checks in open() is
// never written to: the checks run before anything that could write (journal mode,
// migrations).
#include "config/config_store.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

namespace httpapi::config {
namespace {

// One step of the schema: the SQL that takes the file from version - 1 to version.
struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE reservations (
  prefix TEXT NOT NULL COLLATE NOCASE PRIMARY KEY
);
CREATE TABLE reservation_acl (
  prefix   TEXT NOT NULL COLLATE NOCASE
           REFERENCES reservations(prefix) ON DELETE CASCADE,
  kind     TEXT NOT NULL CHECK (kind IN ('user', 'group')),
  id       INTEGER NOT NULL CHECK (id BETWEEN 0 AND 4294967295),
  listen   INTEGER NOT NULL CHECK (listen IN (0, 1)),
  delegate INTEGER NOT NULL CHECK (delegate IN (0, 1)),
  UNIQUE (prefix, kind, id)
);
CREATE TABLE listen_addresses (
  address TEXT NOT NULL PRIMARY KEY
);
CREATE TABLE settings (
  key   TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
);
)sql"},
    {2, R"sql(
CREATE TABLE cert_bindings (
  kind               TEXT NOT NULL CHECK (kind IN ('ipport', 'hostnameport')),
  host               TEXT NOT NULL,
  port               INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
  client_cert        TEXT NOT NULL CHECK (client_cert IN ('none', 'request', 'require')),
  ca_pem             TEXT NOT NULL,
  min_tls            TEXT NOT NULL CHECK (min_tls IN ('1.2', '1.3')),
  disable_http2      INTEGER NOT NULL CHECK (disable_http2 IN (0, 1)),
  disable_session_id INTEGER NOT NULL CHECK (disable_session_id IN (0, 1)),
  PRIMARY KEY (kind, host, port)
);
CREATE TABLE cert_binding_certificates (
  kind            TEXT NOT NULL,
  host            TEXT NOT NULL,
  port            INTEGER NOT NULL,
  position        INTEGER NOT NULL CHECK (position IN (0, 1)),
  certificate_pem TEXT NOT NULL,
  key_pem         TEXT NOT NULL,
  PRIMARY KEY (kind, host, port, position),
  FOREIGN KEY (kind, host, port) REFERENCES cert_bindings(kind, host, port) ON DELETE CASCADE
);
)sql"},
    {3, R"sql(
CREATE TABLE listen_endpoints (
  host           TEXT NOT NULL,
  port           INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
  proxy_protocol INTEGER NOT NULL CHECK (proxy_protocol IN (0, 1)),
  trusted        TEXT NOT NULL,
  PRIMARY KEY (host, port)
);
)sql"},
    // {4, "ALTER TABLE ...;"},  // the next schema change goes here
};

constexpr int kLastMigration = kMigrations[std::size(kMigrations) - 1].version;
static_assert(kLastMigration == ConfigStore::kSchemaVersion,
              "kMigrations must end at ConfigStore::kSchemaVersion");

constexpr int kBusyTimeoutMs = 10000;

bool is_busy(int rc) { return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED; }

// A prepared statement, reset and unbound when the guard goes away (statements are cached
// per connection and reused).
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() {
    if (stmt_) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  explicit operator bool() const { return stmt_ != nullptr; }

  void bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
  }
  void bind(int index, std::int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  int step() { return sqlite3_step(stmt_); }
  std::string text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    const int size = sqlite3_column_bytes(stmt_, column);
    return data ? std::string(data, static_cast<std::size_t>(size)) : std::string();
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  int type(int column) const { return sqlite3_column_type(stmt_, column); }

 private:
  sqlite3_stmt* stmt_;
};

// Canonical text of an IP address ("::0001" → "::1"); empty when it is not one.
std::string canonical_address(const std::string& text) {
  std::string bare = text;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  unsigned char buffer[sizeof(in6_addr)];
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, bare.c_str(), buffer) == 1) {
    return inet_ntop(AF_INET, buffer, out, sizeof out) ? std::string(out) : std::string();
  }
  if (inet_pton(AF_INET6, bare.c_str(), buffer) == 1) {
    return inet_ntop(AF_INET6, buffer, out, sizeof out) ? std::string(out) : std::string();
  }
  return {};
}

const char* kind_text(AclEntry::Kind kind) {
  return kind == AclEntry::Kind::user ? "user" : "group";
}

// The connection and its statement cache (ConfigStore::Impl is this; the helpers below take
// it by this name because Impl is private to ConfigStore).
struct Database {
  sqlite3* db = nullptr;
  std::string path;
  std::unordered_map<std::string_view, sqlite3_stmt*> statements;

  ~Database() {
    for (auto& [sql, stmt] : statements) sqlite3_finalize(stmt);
    if (db) sqlite3_close(db);
  }

  std::string errmsg() const { return db ? sqlite3_errmsg(db) : "out of memory"; }

  // `sql` must be a string literal: the cache is keyed by its text.
  Statement prepare(std::string_view sql) {
    if (auto it = statements.find(sql); it != statements.end()) return Statement(it->second);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
      return Statement(nullptr);
    }
    statements.emplace(sql, stmt);
    return Statement(stmt);
  }

  int exec(const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }

  // The message for a failed change: what failed, SQLite's reason, what to do.
  void storage_error(StoreError& error, const char* what, int rc) const {
    error.kind = StoreError::Kind::storage;
    if (is_busy(rc)) {
      error.message = std::string("cannot ") + what + ": the configuration store " + path +
                      " stayed locked by another process for " +
                      std::to_string(kBusyTimeoutMs / 1000) +
                      " s; find the process holding it (fuser " + path +
                      ") and try again. Nothing was changed.";
      return;
    }
    error.message = std::string("cannot ") + what + ": the configuration store " + path +
                    " failed (" + errmsg() + "); check the disk and the file's permissions. " +
                    "Nothing was changed.";
  }
};

// BEGIN IMMEDIATE ... COMMIT; rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(Database& impl) : impl_(impl) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (open_) impl_.exec("ROLLBACK");
  }
  int begin() {
    const int rc = impl_.exec("BEGIN IMMEDIATE");
    open_ = rc == SQLITE_OK;
    return rc;
  }
  int commit() {
    const int rc = impl_.exec("COMMIT");
    if (rc == SQLITE_OK) open_ = false;
    return rc;
  }

 private:
  Database& impl_;
  bool open_ = false;
};

// Reads `PRAGMA user_version`; returns the SQLite result code.
int read_user_version(Database& impl, int& version) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(impl.db, "PRAGMA user_version", -1, &stmt, nullptr);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      version = sqlite3_column_int(stmt, 0);
      rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(stmt);
  return rc;
}

// The advice that ends every message about a file open() refuses.
std::string refuse_advice(const std::string& path) {
  return "; the file was not modified. Restore it from a backup, or move it aside (mv " + path +
         " " + path + ".broken) to start with an empty configuration";
}

// Checks run before anything may write to the file. False with `error` set when the file
// must not be used.
bool check_file(Database& impl, StoreError& error) {
  const std::string& path = impl.path;
  // Reading the schema reads page 1 (the header) and the schema table: a file that is not a
  // database fails here with SQLITE_NOTADB, a damaged schema with SQLITE_CORRUPT.
  int rc = sqlite3_exec(impl.db, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr,
                        nullptr);
  if (rc != SQLITE_OK) {
    error.kind = StoreError::Kind::storage;
    if ((rc & 0xff) == SQLITE_NOTADB) {
      error.message = "the configuration store " + path + " is not an SQLite database (" +
                      impl.errmsg() + ")" + refuse_advice(path);
    } else if ((rc & 0xff) == SQLITE_CORRUPT) {
      error.message = "the configuration store " + path + " is corrupt (" + impl.errmsg() +
                      ")" + refuse_advice(path);
    } else if (is_busy(rc)) {
      error.message = "the configuration store " + path +
                      " is locked by another process; stop the other httpapid using it (fuser " +
                      path + ") and start again";
    } else {
      error.message = "cannot read the configuration store " + path + " (" + impl.errmsg() +
                      "); check that httpapid may read and write it and its directory";
    }
    return false;
  }

  std::string problems;
  int problem_count = 0;
  sqlite3_stmt* stmt = nullptr;
  rc = sqlite3_prepare_v2(impl.db, "PRAGMA quick_check(5)", -1, &stmt, nullptr);
  if (rc == SQLITE_OK) {
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const auto* line = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      const std::string text = line ? line : "";
      if (text == "ok") continue;
      if (problem_count++ < 2) {
        if (!problems.empty()) problems += "; ";
        problems += text;
      }
    }
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE || problem_count > 0) {
    if (problems.empty()) problems = impl.errmsg();
    error.kind = StoreError::Kind::storage;
    error.message = "the configuration store " + path + " is corrupt (quick_check: " +
                    problems + ")" + refuse_advice(path);
    return false;
  }

  int version = 0;
  rc = read_user_version(impl, version);
  if (rc != SQLITE_OK) {
    error.kind = StoreError::Kind::storage;
    error.message = "cannot read the schema version of the configuration store " + path + " (" +
                    impl.errmsg() + ")" + refuse_advice(path);
    return false;
  }
  if (version > ConfigStore::kSchemaVersion || version < 0) {
    error.kind = StoreError::Kind::storage;
    error.message = "the configuration store " + path + " has schema version " +
                    std::to_string(version) + ", newer than this httpapid understands (" +
                    std::to_string(ConfigStore::kSchemaVersion) +
                    "); the file was not modified. Run the httpapid release that wrote it, or "
                    "point --config-db at another file";
    return false;
  }
  return true;
}

// Per-connection pragmas: full durability of every commit, foreign keys enforced.
bool configure(Database& impl, StoreError& error) {
  int rc = SQLITE_OK;
  if ((rc = impl.exec("PRAGMA synchronous=FULL")) != SQLITE_OK ||
      (rc = impl.exec("PRAGMA foreign_keys=ON")) != SQLITE_OK) {
    impl.storage_error(error, "configure the store", rc);
    return false;
  }
  return true;
}

// Switches the file to WAL (recorded in the file; a no-op when it is already).
bool enable_wal(Database& impl, StoreError& error) {
  int rc = SQLITE_OK;
  std::string mode;
  // Changing the journal mode takes an exclusive lock and does not always wait through the
  // busy handler; retry for as long as the busy timeout.
  for (int attempt = 0; attempt < kBusyTimeoutMs / 50; ++attempt) {
    sqlite3_stmt* stmt = nullptr;
    rc = sqlite3_prepare_v2(impl.db, "PRAGMA journal_mode=WAL", -1, &stmt, nullptr);
    if (rc == SQLITE_OK) {
      rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        mode = text ? text : "";
        rc = SQLITE_OK;
      }
    }
    sqlite3_finalize(stmt);
    if (!is_busy(rc)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (rc != SQLITE_OK || mode != "wal") {
    error.kind = StoreError::Kind::storage;
    error.message = "cannot switch the configuration store " + impl.path +
                    " to WAL mode (" + (rc != SQLITE_OK ? impl.errmsg() : "mode " + mode) +
                    "); the file must be on a local file system that supports shared memory "
                    "(not NFS), in a directory httpapid may write";
    return false;
  }
  return true;
}

bool migrate(Database& impl, StoreError& error) {
  int version = 0;
  int rc = read_user_version(impl, version);
  if (rc != SQLITE_OK) {
    impl.storage_error(error, "read the schema version", rc);
    return false;
  }
  if (version == ConfigStore::kSchemaVersion) return true;

  Transaction transaction(impl);
  if ((rc = transaction.begin()) != SQLITE_OK) {
    impl.storage_error(error, "migrate the schema", rc);
    return false;
  }
  // Read again under the write lock: another process may have migrated meanwhile.
  if ((rc = read_user_version(impl, version)) != SQLITE_OK) {
    impl.storage_error(error, "read the schema version", rc);
    return false;
  }
  if (version > ConfigStore::kSchemaVersion) {
    error.kind = StoreError::Kind::storage;
    error.message = "the configuration store " + impl.path + " has schema version " +
                    std::to_string(version) + ", newer than this httpapid understands (" +
                    std::to_string(ConfigStore::kSchemaVersion) +
                    "); run the httpapid release that wrote it";
    return false;
  }
  for (const Migration& step : kMigrations) {
    if (step.version <= version) continue;
    char* message = nullptr;
    rc = sqlite3_exec(impl.db, step.sql, nullptr, nullptr, &message);
    if (rc == SQLITE_OK) {
      const std::string pragma = "PRAGMA user_version=" + std::to_string(step.version);
      rc = sqlite3_exec(impl.db, pragma.c_str(), nullptr, nullptr, &message);
    }
    if (rc != SQLITE_OK) {
      error.kind = StoreError::Kind::storage;
      error.message = "cannot migrate the configuration store " + impl.path + " from schema " +
                      std::to_string(step.version - 1) + " to " + std::to_string(step.version) +
                      " (" + (message ? message : impl.errmsg()) +
                      "); the file was not modified. Restore it from a backup or move it aside";
      sqlite3_free(message);
      return false;
    }
  }
  if ((rc = transaction.commit()) != SQLITE_OK) {
    impl.storage_error(error, "migrate the schema", rc);
    return false;
  }
  return true;
}

// The store holds private keys: creates `path` mode 0600 when it is missing, and takes the
// group and other bits off an existing file and its -wal and -shm files. A path that cannot
// be created here (a missing directory) is left for sqlite3_open_v2 to report.
bool make_private(const std::string& path, StoreError& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return true;
  }
  if (errno != EEXIST) return true;
  for (const std::string& file : {path, path + "-wal", path + "-shm"}) {
    struct stat info{};
    if (::stat(file.c_str(), &info) != 0 || (info.st_mode & 077) == 0) continue;
    if (::chmod(file.c_str(), info.st_mode & 0700) != 0) {
      error.kind = StoreError::Kind::storage;
      error.message = "cannot make the configuration store " + file + " private (mode 0600: " +
                      std::strerror(errno) +
                      "); it holds private keys, so run httpapid as the file's owner or chown "
                      "it to that user";
      return false;
    }
  }
  return true;
}

const char* kind_text(tls::CertBinding::Kind kind) {
  return kind == tls::CertBinding::Kind::ip_port ? "ipport" : "hostnameport";
}

const char* client_cert_text(tls::ClientCertMode mode) {
  switch (mode) {
    case tls::ClientCertMode::request: return "request";
    case tls::ClientCertMode::require: return "require";
    default: return "none";
  }
}

tls::ClientCertMode client_cert_mode(const std::string& text) {
  if (text == "request") return tls::ClientCertMode::request;
  if (text == "require") return tls::ClientCertMode::require;
  return tls::ClientCertMode::none;
}

// "0.0.0.0:443", "[::]:443", "www.example.com:443".
std::string endpoint_name(tls::CertBinding::Kind kind, const std::string& host,
                          std::uint16_t port) {
  const bool v6 = kind == tls::CertBinding::Kind::ip_port && host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string binding_name(const tls::CertBinding& binding) {
  return endpoint_name(binding.kind, binding.host, binding.port);
}

// What the store itself insists on; the service has checked the rest.
bool valid_binding(const tls::CertBinding& binding, StoreError& error) {
  if (binding.host.empty() || binding.port == 0) {
    error.kind = StoreError::Kind::invalid;
    error.message = "a certificate binding needs a host and a port";
    return false;
  }
  if (binding.certificates.empty() || binding.certificates.size() > 2) {
    error.kind = StoreError::Kind::invalid;
    error.message = "a certificate binding holds one or two certificates, not " +
                    std::to_string(binding.certificates.size());
    return false;
  }
  return true;
}

}  // namespace

struct ConfigStore::Impl : Database {};

ConfigStore::ConfigStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ConfigStore::~ConfigStore() = default;

std::unique_ptr<ConfigStore> ConfigStore::open(const std::string& path, StoreError& error) {
  error = {};
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  if (path.empty()) {
    error.kind = StoreError::Kind::invalid;
    error.message = "no configuration store path given; pass --config-db FILE";
    return nullptr;
  }
  struct stat info{};
  if (::stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) {
    error.kind = StoreError::Kind::storage;
    error.message = "the configuration store " + path +
                    " is not a regular file; point --config-db at a file";
    return nullptr;
  }
  if (!make_private(path, error)) return nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &impl->db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                     SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    error.kind = StoreError::Kind::storage;
    error.message = "cannot open the configuration store " + path + " (" + impl->errmsg() +
                    "); check that its directory exists and that httpapid may read and write "
                    "both";
    return nullptr;
  }
  sqlite3_extended_result_codes(impl->db, 1);
  sqlite3_busy_timeout(impl->db, kBusyTimeoutMs);
  // Migrate before switching to WAL: a migration that fails then leaves the file exactly as
  // it was (the rollback journal never touches the main file before COMMIT, and the journal
  // mode itself is recorded in the file header).
  if (!check_file(*impl, error) || !configure(*impl, error) || !migrate(*impl, error) ||
      !enable_wal(*impl, error)) {
    return nullptr;
  }
  return std::unique_ptr<ConfigStore>(new ConfigStore(std::move(impl)));
}

int ConfigStore::schema_version() const {
  int version = 0;
  return read_user_version(*impl_, version) == SQLITE_OK ? version : -1;
}

const std::string& ConfigStore::path() const { return impl_->path; }

bool ConfigStore::add_reservation(const Reservation& reservation, StoreError& error) {
  error = {};
  if (reservation.prefix.empty()) {
    error.kind = StoreError::Kind::invalid;
    error.message = "a reservation needs a URL prefix";
    return false;
  }
  Transaction transaction(*impl_);
  int rc = transaction.begin();
  if (rc != SQLITE_OK) {
    impl_->storage_error(error, "add the reservation", rc);
    return false;
  }
  {
    Statement insert = impl_->prepare("INSERT INTO reservations(prefix) VALUES (?1)");
    if (!insert) {
      impl_->storage_error(error, "add the reservation", SQLITE_ERROR);
      return false;
    }
    insert.bind(1, reservation.prefix);
    rc = insert.step();
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
      error.kind = StoreError::Kind::already_exists;
      error.message = "the URL prefix " + reservation.prefix +
                      " is already reserved; delete the reservation first to change it";
      return false;
    }
    if (rc != SQLITE_DONE) {
      impl_->storage_error(error, "add the reservation", rc);
      return false;
    }
  }
  for (const AclEntry& entry : reservation.acl) {
    Statement insert = impl_->prepare(
        "INSERT INTO reservation_acl(prefix, kind, id, listen, delegate) "
        "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!insert) {
      impl_->storage_error(error, "add the reservation", SQLITE_ERROR);
      return false;
    }
    insert.bind(1, reservation.prefix);
    insert.bind(2, kind_text(entry.kind));
    insert.bind(3, static_cast<std::int64_t>(entry.id));
    insert.bind(4, std::int64_t{entry.listen ? 1 : 0});
    insert.bind(5, std::int64_t{entry.delegate ? 1 : 0});
    rc = insert.step();
    if (rc == SQLITE_CONSTRAINT_UNIQUE) {
      error.kind = StoreError::Kind::invalid;
      error.message = "the access list for " + reservation.prefix + " names " +
                      kind_text(entry.kind) + " " + std::to_string(entry.id) +
                      " twice; give each user and group once";
      return false;
    }
    if (rc != SQLITE_DONE) {
      impl_->storage_error(error, "add the reservation", rc);
      return false;
    }
  }
  if ((rc = transaction.commit()) != SQLITE_OK) {
    impl_->storage_error(error, "add the reservation", rc);
    return false;
  }
  return true;
}

bool ConfigStore::delete_reservation(const std::string& prefix, StoreError& error) {
  error = {};
  Transaction transaction(*impl_);
  int rc = transaction.begin();
  if (rc != SQLITE_OK) {
    impl_->storage_error(error, "delete the reservation", rc);
    return false;
  }
  Statement remove = impl_->prepare("DELETE FROM reservations WHERE prefix = ?1");
  if (!remove) {
    impl_->storage_error(error, "delete the reservation", SQLITE_ERROR);
    return false;
  }
  remove.bind(1, prefix);
  if ((rc = remove.step()) != SQLITE_DONE) {
    impl_->storage_error(error, "delete the reservation", rc);
    return false;
  }
  if (sqlite3_changes(impl_->db) == 0) {
    error.kind = StoreError::Kind::not_found;
    error.message = "there is no reservation for " + prefix;
    return false;
  }
  if ((rc = transaction.commit()) != SQLITE_OK) {
    impl_->storage_error(error, "delete the reservation", rc);
    return false;
  }
  return true;
}

std::vector<Reservation> ConfigStore::reservations() const {
  std::vector<Reservation> out;
  Statement select = impl_->prepare(
      "SELECT r.prefix, a.kind, a.id, a.listen, a.delegate FROM reservations r "
      "LEFT JOIN reservation_acl a ON a.prefix = r.prefix ORDER BY r.prefix, a.rowid");
  if (!select) return out;
  while (select.step() == SQLITE_ROW) {
    std::string prefix = select.text(0);
    if (out.empty() || out.back().prefix != prefix) out.push_back({std::move(prefix), {}});
    if (select.type(1) == SQLITE_NULL) continue;
    AclEntry entry;
    entry.kind = select.text(1) == "group" ? AclEntry::Kind::group : AclEntry::Kind::user;
    entry.id = static_cast<std::uint32_t>(select.integer(2));
    entry.listen = select.integer(3) != 0;
    entry.delegate = select.integer(4) != 0;
    out.back().acl.push_back(entry);
  }
  return out;
}

bool ConfigStore::add_listen_address(const std::string& address, StoreError& error) {
  error = {};
  const std::string canonical = canonical_address(address);
  if (canonical.empty()) {
    error.kind = StoreError::Kind::invalid;
    error.message = "'" + address +
                    "' is not an IPv4 or IPv6 address; give one without a port, e.g. "
                    "127.0.0.1, ::1, 0.0.0.0 (any IPv4) or :: (any IPv6)";
    return false;
  }
  Transaction transaction(*impl_);
  int rc = transaction.begin();
  if (rc != SQLITE_OK) {
    impl_->storage_error(error, "add the listen address", rc);
    return false;
  }
  Statement insert = impl_->prepare("INSERT INTO listen_addresses(address) VALUES (?1)");
  if (!insert) {
    impl_->storage_error(error, "add the listen address", SQLITE_ERROR);
    return false;
  }
  insert.bind(1, canonical);
  rc = insert.step();
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
    error.kind = StoreError::Kind::already_exists;
    error.message = canonical + " is already in the IP listen list";
    return false;
  }
  if (rc != SQLITE_DONE) {
    impl_->storage_error(error, "add the listen address", rc);
    return false;
  }
  if ((rc = transaction.commit()) != SQLITE_OK) {
    impl_->storage_error(error, "add the listen address", rc);
    return false;
  }
  return true;
}

bool ConfigStore::delete_listen_address(const std::string& address, StoreError& error) {
  error = {};
  std::string canonical = canonical_address(address);
  if (canonical.empty()) canonical = address;  // may still match nothing: reported below
  Transaction transaction(*impl_);
  int rc = transaction.begin();
  if (rc != SQLITE_OK) {
    impl_->storage_error(error, "delete the listen address", rc);
    return false;
  }
  Statement remove = impl_->prepare("DELETE FROM listen_addresses WHERE address = ?1");
  if (!remove) {
    impl_->storage_error(error, "delete the listen address", SQLITE_ERROR);
    return false;
  }
  remove.bind(1, canonical);
  if ((rc = remove.step()) != SQLITE_DONE) {
    impl_->storage_error(error, "delete the listen address", rc);
    return false;
  }
  if (sqlite3_changes(impl_->db) == 0) {
    error.kind = StoreError::Kind::not_found;
    error.message = address + " is not in the IP listen list";
    return false;
  }
  if ((rc = transaction.commit()) != SQLITE_OK) {
    impl_->storage_error(error, "delete the listen address", rc);
    return false;
  }
  return true;
}

std::vector<std::string> ConfigStore::listen_addresses() const {
  std::vector<std::string> out;
  Statement select = impl_->prepare("SELECT address FROM listen_addresses ORDER BY rowid");
  if (!select) return out;
  while (select.step() == SQLITE_ROW) out.push_back(select.text(0));
  return out;
}

bool ConfigStore::add_listen_endpoint(const ListenEndpoint& endpoint, StoreError& error) {
  error = {};
  const std::string where = endpoint.host.find(':') == std::string::npos
                                ? endpoint.host + ":" + std::to_string(endpoint.port)
                                : "[" + endpoint.host + "]:" + std::to_string(endpoint.port);
  Transaction transaction(*impl_);
  int rc = transaction.begin();
  if (rc != SQLITE_OK) {
    impl_->storage_error(error, "add the listen endpoint", rc);
    return false;
  }
  Statement insert = impl_->prepare(
      "INSERT INTO listen_endpoints(host, port, proxy_protocol, trusted) VALUES (?1, ?2, ?3, ?4)");
  if (!insert) {
    impl_->storage_error(error, "add the listen endpoint", SQLITE_ERROR);
    return false;
  }
  insert.bind(1, endpoint.host);
  insert.bind(2, static_cast<std::int64_t>(endpoint.port));
  insert.bind(3, static_cast<std::int64_t>(endpoint.proxy_protocol ? 1 : 0));
  insert.bind(4, endpoint.trusted);
  rc = insert.step();
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
    error.kind = StoreError::Kind::already_exists;
    error.message = where + " is already in the IP listen list; delete it first to change it";
    return false;
  }
  if (rc != SQLITE_DONE || (rc = transaction.commit()) != SQLITE_OK) {
    impl_->storage_error(error, "add the listen endpoint", rc);
    return false;
  }
  return true;
}

bool ConfigStore::delete_listen_endpoint(const std::string& host, std::uint16_t port,
                                         StoreError& error) {
  error = {};
  Transaction transaction(*impl_);
  int rc = transaction.begin();
  if (rc != SQLITE_OK) {
    impl_->storage_error(error, "delete the listen endpoint", rc);
    return false;
  }
  Statement remove = impl_->prepare("DELETE FROM listen_endpoints WHERE host = ?1 AND port = ?2");
  if (!remove) {
    impl_->storage_error(error, "delete the listen endpoint", SQLITE_ERROR);
    return false;
  }
  remove.bind(1, host);
  remove.bind(2, static_cast<std::int64_t>(port));
  if ((rc = remove.step()) != SQLITE_DONE) {
    impl_->storage_error(error, "delete the listen endpoint", rc);
    return false;
  }
  if (sqlite3_changes(impl_->db) == 0) {
    error.kind = StoreError::Kind::not_found;
    error.message = (host.find(':') == std::string::npos ? host : "[" + host + "]") + ":" +
                    std::to_string(port) + " is not in the IP listen list";
    return false;
  }
  if ((rc = transaction.commit()) != SQLITE_OK) {
    impl_->storage_error(error, "delete the listen endpoint", rc);
    return false;
  }
  return true;
}

std::vector<ListenEndpoint> ConfigStore::listen_endpoints() const {
  std::vector<ListenEndpoint> out;
  Statement select = impl_->prepare(
      "SELECT host, port, proxy_protocol, trusted FROM listen_endpoints ORDER BY rowid");
  if (!select) return out;
  while (select.step() == SQLITE_ROW) {
    ListenEndpoint e;
    e.host = select.text(0);
    e.port = static_cast<std::uint16_t>(select.integer(1));
    e.proxy_protocol = select.integer(2) != 0;
    e.trusted = select.text(3);
    out.push_back(std::move(e));
  }
  return out;
}

bool ConfigStore::set_setting(const std::string& key, const std::string& value,
                              StoreError& error) {
  error = {};
  if (key.empty()) {
    error.kind = StoreError::Kind::invalid;
    error.message = "a setting needs a name";
    return false;
  }
  Transaction transaction(*impl_);
  int rc = transaction.begin();
  if (rc != SQLITE_OK) {
    impl_->storage_error(error, "change the setting", rc);
    return false;
  }
  Statement upsert = impl_->prepare(
      "INSERT INTO settings(key, value) VALUES (?1, ?2) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (!upsert) {
    impl_->storage_error(error, "change the setting", SQLITE_ERROR);
    return false;
  }
  upsert.bind(1, key);
  upsert.bind(2, value);
  if ((rc = upsert.step()) != SQLITE_DONE) {
    impl_->storage_error(error, "change the setting", rc);
    return false;
  }
  if ((rc = transaction.commit()) != SQLITE_OK) {
    impl_->storage_error(error, "change the setting", rc);
    return false;
  }
  return true;
}

bool ConfigStore::delete_setting(const std::string& key, StoreError& error) {
  error = {};
  Transaction transaction(*impl_);
  int rc = transaction.begin();
  if (rc != SQLITE_OK) {
    impl_->storage_error(error, "delete the setting", rc);
    return false;
  }
  Statement remove = impl_->prepare("DELETE FROM settings WHERE key = ?1");
  if (!remove) {
    impl_->storage_error(error, "delete the setting", SQLITE_ERROR);
    return false;
  }
  remove.bind(1, key);
  if ((rc = remove.step()) != SQLITE_DONE) {
    impl_->storage_error(error, "delete the setting", rc);
    return false;
  }
  if (sqlite3_changes(impl_->db) == 0) {
    error.kind = StoreError::Kind::not_found;
    error.message = "the setting " + key + " is not set";
    return false;
  }
  if ((rc = transaction.commit()) != SQLITE_OK) {
    impl_->storage_error(error, "delete the setting", rc);
    return false;
  }
  return true;
}

std::map<std::string, std::string> ConfigStore::settings() const {
  std::map<std::string, std::string> out;
  Statement select = impl_->prepare("SELECT key, value FROM settings");
  if (!select) return out;
  while (select.step() == SQLITE_ROW) out.emplace(select.text(0), select.text(1));
  return out;
}

namespace {

// Inserts the binding's certificates (its row exists).
int insert_certificates(Database& impl, const tls::CertBinding& binding) {
  for (std::size_t i = 0; i < binding.certificates.size(); ++i) {
    Statement insert = impl.prepare(
        "INSERT INTO cert_binding_certificates(kind, host, port, position, certificate_pem, "
        "key_pem) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!insert) return SQLITE_ERROR;
    insert.bind(1, kind_text(binding.kind));
    insert.bind(2, binding.host);
    insert.bind(3, std::int64_t{binding.port});
    insert.bind(4, static_cast<std::int64_t>(i));
    insert.bind(5, binding.certificates[i].certificate_pem);
    insert.bind(6, binding.certificates[i].key_pem);
    if (const int rc = insert.step(); rc != SQLITE_DONE) return rc;
  }
  return SQLITE_DONE;
}

// Binds ?1..?3 to the key and ?4..?8 to the options.
void bind_binding(Statement& statement, const tls::CertBinding& binding) {
  statement.bind(1, kind_text(binding.kind));
  statement.bind(2, binding.host);
  statement.bind(3, std::int64_t{binding.port});
  statement.bind(4, client_cert_text(binding.client_cert));
  statement.bind(5, binding.ca_pem);
  statement.bind(6, binding.min_tls == tls::MinTls::v1_3 ? "1.3" : "1.2");
  statement.bind(7, std::int64_t{binding.disable_http2 ? 1 : 0});
  statement.bind(8, std::int64_t{binding.disable_session_id ? 1 : 0});
}

}  // namespace

bool ConfigStore::add_cert_binding(const tls::CertBinding& binding, StoreError& error) {
  error = {};
  if (!valid_binding(binding, error)) return false;
  Transaction transaction(*impl_);
  int rc = transaction.begin();
  if (rc != SQLITE_OK) {
    impl_->storage_error(error, "add the certificate binding", rc);
    return false;
  }
  {
    Statement insert = impl_->prepare(
        "INSERT INTO cert_bindings(kind, host, port, client_cert, ca_pem, min_tls, "
        "disable_http2, disable_session_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!insert) {
      impl_->storage_error(error, "add the certificate binding", SQLITE_ERROR);
      return false;
    }
    bind_binding(insert, binding);
    rc = insert.step();
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
      error.kind = StoreError::Kind::already_exists;
      error.message = "there is already a certificate binding for " + binding_name(binding) +
                      "; replace it with update (httpcfg sslcert update)";
      return false;
    }
    if (rc != SQLITE_DONE) {
      impl_->storage_error(error, "add the certificate binding", rc);
      return false;
    }
  }
  if ((rc = insert_certificates(*impl_, binding)) != SQLITE_DONE) {
    impl_->storage_error(error, "add the certificate binding", rc);
    return false;
  }
  if ((rc = transaction.commit()) != SQLITE_OK) {
    impl_->storage_error(error, "add the certificate binding", rc);
    return false;
  }
  return true;
}

bool ConfigStore::update_cert_binding(const tls::CertBinding& binding, StoreError& error) {
  error = {};
  if (!valid_binding(binding, error)) return false;
  Transaction transaction(*impl_);
  int rc = transaction.begin();
  if (rc != SQLITE_OK) {
    impl_->storage_error(error, "update the certificate binding", rc);
    return false;
  }
  {
    Statement update = impl_->prepare(
        "UPDATE cert_bindings SET client_cert = ?4, ca_pem = ?5, min_tls = ?6, "
        "disable_http2 = ?7, disable_session_id = ?8 WHERE kind = ?1 AND host = ?2 AND "
        "port = ?3");
    if (!update) {
      impl_->storage_error(error, "update the certificate binding", SQLITE_ERROR);
      return false;
    }
    bind_binding(update, binding);
    if ((rc = update.step()) != SQLITE_DONE) {
      impl_->storage_error(error, "update the certificate binding", rc);
      return false;
    }
    if (sqlite3_changes(impl_->db) == 0) {
      error.kind = StoreError::Kind::not_found;
      error.message = "there is no certificate binding for " + binding_name(binding) +
                      "; create it with add (httpcfg sslcert add)";
      return false;
    }
  }
  {
    Statement remove = impl_->prepare(
        "DELETE FROM cert_binding_certificates WHERE kind = ?1 AND host = ?2 AND port = ?3");
    if (!remove) {
      impl_->storage_error(error, "update the certificate binding", SQLITE_ERROR);
      return false;
    }
    remove.bind(1, kind_text(binding.kind));
    remove.bind(2, binding.host);
    remove.bind(3, std::int64_t{binding.port});
    if ((rc = remove.step()) != SQLITE_DONE) {
      impl_->storage_error(error, "update the certificate binding", rc);
      return false;
    }
  }
  if ((rc = insert_certificates(*impl_, binding)) != SQLITE_DONE) {
    impl_->storage_error(error, "update the certificate binding", rc);
    return false;
  }
  if ((rc = transaction.commit()) != SQLITE_OK) {
    impl_->storage_error(error, "update the certificate binding", rc);
    return false;
  }
  return true;
}

bool ConfigStore::delete_cert_binding(tls::CertBinding::Kind kind, const std::string& host,
                                      std::uint16_t port, StoreError& error) {
  error = {};
  Transaction transaction(*impl_);
  int rc = transaction.begin();
  if (rc != SQLITE_OK) {
    impl_->storage_error(error, "delete the certificate binding", rc);
    return false;
  }
  Statement remove = impl_->prepare(
      "DELETE FROM cert_bindings WHERE kind = ?1 AND host = ?2 AND port = ?3");
  if (!remove) {
    impl_->storage_error(error, "delete the certificate binding", SQLITE_ERROR);
    return false;
  }
  remove.bind(1, kind_text(kind));
  remove.bind(2, host);
  remove.bind(3, std::int64_t{port});
  if ((rc = remove.step()) != SQLITE_DONE) {
    impl_->storage_error(error, "delete the certificate binding", rc);
    return false;
  }
  if (sqlite3_changes(impl_->db) == 0) {
    error.kind = StoreError::Kind::not_found;
    error.message = "there is no certificate binding for " + endpoint_name(kind, host, port) +
                    "; see the bindings with httpcfg sslcert show";
    return false;
  }
  if ((rc = transaction.commit()) != SQLITE_OK) {
    impl_->storage_error(error, "delete the certificate binding", rc);
    return false;
  }
  return true;
}

std::vector<tls::CertBinding> ConfigStore::cert_bindings() const {
  std::vector<tls::CertBinding> out;
  Statement select = impl_->prepare(
      "SELECT b.kind, b.host, b.port, b.client_cert, b.ca_pem, b.min_tls, b.disable_http2, "
      "b.disable_session_id, c.certificate_pem, c.key_pem FROM cert_bindings b "
      "LEFT JOIN cert_binding_certificates c "
      "ON c.kind = b.kind AND c.host = b.host AND c.port = b.port "
      "ORDER BY b.port, b.kind, b.host, c.position");
  if (!select) return out;
  while (select.step() == SQLITE_ROW) {
    const auto kind = select.text(0) == "ipport" ? tls::CertBinding::Kind::ip_port
                                                 : tls::CertBinding::Kind::hostname_port;
    std::string host = select.text(1);
    const auto port = static_cast<std::uint16_t>(select.integer(2));
    if (out.empty() || out.back().kind != kind || out.back().host != host ||
        out.back().port != port) {
      tls::CertBinding binding;
      binding.kind = kind;
      binding.host = std::move(host);
      binding.port = port;
      binding.client_cert = client_cert_mode(select.text(3));
      binding.ca_pem = select.text(4);
      binding.min_tls = select.text(5) == "1.3" ? tls::MinTls::v1_3 : tls::MinTls::v1_2;
      binding.disable_http2 = select.integer(6) != 0;
      binding.disable_session_id = select.integer(7) != 0;
      out.push_back(std::move(binding));
    }
    if (select.type(8) == SQLITE_NULL) continue;
    out.back().certificates.push_back({select.text(8), select.text(9)});
  }
  return out;
}

}  // namespace httpapi::config
