// Where httpapid's files go (service_paths.hpp): one --state-dir, Debian's places for root,
// explicit directories, and when the store's old place is looked at.
#include "daemon/service_paths.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace httpapi::daemon {
namespace {

namespace fs = std::filesystem;

TEST(ServicePaths, StateDirHoldsEverythingAndHasNoOldPlace) {
  Options options;
  options.state_dir = "/srv/h";
  resolve_service_paths(options);
  EXPECT_EQ(options.runtime_dir, "/srv/h");
  EXPECT_EQ(options.store_dir, "/srv/h");
  EXPECT_EQ(options.log_dir, "/srv/h/logs");
  EXPECT_EQ(options.config_db, "/srv/h/config.db");
  EXPECT_EQ(options.legacy_config_db, "");
}

TEST(ServicePaths, RootGetsDebiansPlacesAndTheOldStoreOnRun) {
  if (geteuid() != 0) GTEST_SKIP() << "the defaults differ for other users";
  Options options;
  resolve_service_paths(options);
  EXPECT_EQ(options.runtime_dir, "/run/httpapi");
  EXPECT_EQ(options.store_dir, "/var/lib/httpapi");
  EXPECT_EQ(options.log_dir, "/var/log/httpapi");
  EXPECT_EQ(options.config_db, "/var/lib/httpapi/config.db");
  EXPECT_EQ(options.legacy_config_db, "/run/httpapi/config.db");
}

// The unit starts the service as httpapi already (User=), with --user httpapi: it must
// still use the places systemd made for it, not a user's own directory.
TEST(ServicePaths, TheServiceAccountGetsDebiansPlacesWhoeverStartsIt) {
  Options options;
  options.user = "httpapi";
  resolve_service_paths(options);
  EXPECT_EQ(options.runtime_dir, "/run/httpapi");
  EXPECT_EQ(options.store_dir, "/var/lib/httpapi");
  EXPECT_EQ(options.log_dir, "/var/log/httpapi");
  EXPECT_EQ(options.config_db, "/var/lib/httpapi/config.db");

  Options tests;  // --state-dir still keeps everything in one place
  tests.user = "httpapi";
  tests.state_dir = "/srv/h";
  resolve_service_paths(tests);
  EXPECT_EQ(tests.store_dir, "/srv/h");
}

TEST(ServicePaths, ExplicitDirectoriesWinAndAGivenStoreIsNotMigrated) {
  Options options;
  options.state_dir = "/srv/h";
  options.log_dir = "/var/log/elsewhere";
  resolve_service_paths(options);
  EXPECT_EQ(options.log_dir, "/var/log/elsewhere");
  EXPECT_EQ(options.runtime_dir, "/srv/h");

  Options given;
  given.runtime_dir = "/r";
  given.store_dir = "/s";
  given.config_db = "/x/my.db";
  resolve_service_paths(given);
  EXPECT_EQ(given.config_db, "/x/my.db");
  EXPECT_EQ(given.legacy_config_db, "");
}

TEST(ServicePaths, MigrationMovesTheStoreAndItsLogOnce) {
  const fs::path root = fs::temp_directory_path() / ("httpapi-paths-" + std::to_string(getpid()));
  fs::remove_all(root);
  Options options;
  options.runtime_dir = (root / "run").string();
  options.store_dir = (root / "lib").string();
  options.log_dir = (root / "log").string();
  resolve_service_paths(options);
  create_service_directories(options);
  EXPECT_EQ(fs::status(options.runtime_dir).permissions() & fs::perms::all,
            fs::perms(0755));
  EXPECT_EQ(fs::status(options.store_dir).permissions() & fs::perms::all, fs::perms(0750));
  std::ofstream(options.legacy_config_db) << "db";
  std::ofstream(options.legacy_config_db + "-wal") << "wal";
  std::ofstream(options.legacy_config_db + "-shm") << "shm";
  std::string error;
  ASSERT_TRUE(migrate_legacy_store(options, error)) << error;
  EXPECT_FALSE(fs::exists(options.legacy_config_db));
  EXPECT_FALSE(fs::exists(options.legacy_config_db + "-shm"));
  EXPECT_TRUE(fs::exists(options.config_db + "-wal"));
  std::string text;
  std::ifstream(options.config_db) >> text;
  EXPECT_EQ(text, "db");
  // A store at both places: the new one is kept, the old one left alone.
  std::ofstream(options.legacy_config_db) << "old";
  ASSERT_TRUE(migrate_legacy_store(options, error)) << error;
  std::ifstream(options.config_db) >> text;
  EXPECT_EQ(text, "db");
  EXPECT_TRUE(fs::exists(options.legacy_config_db));
  fs::remove_all(root);
}

}  // namespace
}  // namespace httpapi::daemon
