// The access logs of the service (HTTP.sys's HttpServerLoggingProperty): one per URL group
// that asked for one (httpapi_url_group_set_logging), and the server-wide log for every
// other request (setting access_log_format), all under STATE_DIR/logs/access/.
//
// I/O threads never touch a file: push() copies the record into a bounded buffer under a
// short lock (no allocation once the buffer's slots have grown) and returns; when the
// buffer is full the record is dropped and counted. One writer thread owns the files: it
// takes the whole buffer at once (every 100 ms, or sooner when it fills), formats the lines
// and writes each log's lines with one write(2).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "daemon/logging/access_file.hpp"
#include "daemon/logging/access_format.hpp"
#include "daemon/logging/access_record.hpp"

namespace httpapi::daemon {

// What a URL group asked for.
struct AccessLogConfig {
  AccessStyle style;
  AccessFilePolicy file;
};

class AccessLog {
 public:
  // The server-wide log's file name (httpapid.log); no URL group may take it.
  static constexpr std::string_view kServerLogName = "httpapid";

  AccessLog(std::string directory, std::size_t capacity);
  ~AccessLog();  // writes what is buffered, then stops the writer
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // --- any thread
  // The record goes to URL group `group_id`'s log, or with group 0 to the server-wide log
  // in `server_format`. False when the buffer was full (the line is counted as dropped).
  bool push(std::uint64_t group_id, AccessFormat server_format, const AccessRecord& record);
  // Does some URL group log? (The I/O threads skip gathering a record when nothing would.)
  bool groups_logging() const noexcept { return groups_logging_.load(std::memory_order_relaxed) > 0; }
  // Every file is closed and opened again by name before its next line: after logrotate
  // moved them (a SIGHUP handler calls this).
  void reopen();
  // Blocks until everything pushed so far is written (tests, shutdown).
  void flush();
  std::string directory() const { return directory_; }

  std::uint64_t lines_written() const noexcept { return written_.load(std::memory_order_relaxed); }
  // Dropped: the buffer was full. Lost: the file could not take them.
  std::uint64_t lines_dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  std::uint64_t lines_lost() const noexcept { return lost_.load(std::memory_order_relaxed); }

  // --- the service loop
  // Group `group_id` logs as `config` says from now on; nullopt: it stops logging.
  void configure(std::uint64_t group_id, std::optional<AccessLogConfig> config);
  // The server-wide log's rollover and time style from now on (its format travels with
  // each record, from the settings the I/O thread had then).
  void configure_server(Rollover rollover, std::uint64_t max_bytes, bool local_time);

 private:
  struct Entry {
    std::uint64_t group = 0;
    AccessFormat server_format = AccessFormat::none;
    AccessRecord record;
  };
  // One log as the writer keeps it: its style, file and the lines formatted for it.
  struct Sink {
    AccessStyle style;
    std::unique_ptr<AccessFile> file;
    std::string pending;
    std::uint64_t pending_lines = 0;
  };
  void run();
  void apply_configs();
  Sink* sink_for(const Entry& entry);
  void add(Sink& sink, const AccessRecord& record);
  void write_pending(Sink& sink);
  Sink make_sink(const AccessStyle& style, const AccessFilePolicy& policy);

  const std::string directory_;
  const std::size_t capacity_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::vector<Entry> entries_;  // the producers' side: slots [0, count_) are filled
  std::size_t count_ = 0;
  std::vector<std::pair<std::uint64_t, std::optional<AccessLogConfig>>> configs_;
  std::set<std::uint64_t> configured_;  // groups with a log
  std::optional<AccessLogConfig> server_config_;  // the server-wide log's, not applied yet
  bool reopen_ = false;
  bool flush_ = false;
  bool stop_ = false;
  std::uint64_t pushed_ = 0;   // entries handed over, for flush()
  std::uint64_t handled_ = 0;  // entries the writer is done with

  // The writer thread's own.
  std::vector<Entry> batch_;
  std::map<std::uint64_t, Sink> groups_;
  std::unique_ptr<Sink> server_;  // the server-wide log, in the format last asked for
  AccessLogConfig server_wide_;  // its rollover and time style
  std::string line_;
  CivilClock utc_{false};
  CivilClock local_{true};

  std::atomic<int> groups_logging_{0};
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> lost_{0};
  std::thread thread_;
};

}  // namespace httpapi::daemon
