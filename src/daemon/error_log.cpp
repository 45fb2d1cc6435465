#include "daemon/error_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>

#include <fmt/format.h>

namespace httpapi::daemon {
namespace {

// httperr fields are space-separated: spaces and control characters become '+', and an
// empty field is '-' (reference §5.1).
std::string field(std::string_view value) {
  if (value.empty()) return "-";
  std::string out(value.substr(0, 4096));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) c = '+';
  }
  return out;
}

}  // namespace

ErrorLog::ErrorLog(std::string directory, std::size_t rollover_bytes)
    : directory_(std::move(directory)), rollover_bytes_(rollover_bytes) {
  std::filesystem::create_directories(directory_);
  // Continue after the highest existing file, as HTTP.sys does after a restart.
  while (std::filesystem::exists(fmt::format("{}/httperr{}.log", directory_, sequence_ + 1))) {
    ++sequence_;
  }
  if (sequence_ > 0) --sequence_;
  open_next();
}

ErrorLog::~ErrorLog() {
  if (fd_ >= 0) ::close(fd_);
}

std::string ErrorLog::current_path() const {
  std::lock_guard lock(mutex_);
  return fmt::format("{}/httperr{}.log", directory_, sequence_);
}

void ErrorLog::reopen() {
  std::lock_guard lock(mutex_);
  open_current();
  if (fd_ < 0) next_open_attempt_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
}

void ErrorLog::open_next() {
  ++sequence_;
  open_current();
}

// Opens httperr<sequence_>.log, creating the directory again if it was deleted.
void ErrorLog::open_current() {
  if (fd_ >= 0) ::close(fd_);
  std::error_code ignored;
  std::filesystem::create_directories(directory_, ignored);
  const std::string path = fmt::format("{}/httperr{}.log", directory_, sequence_);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  struct stat st {};
  written_ = (fd_ >= 0 && fstat(fd_, &st) == 0) ? static_cast<std::size_t>(st.st_size) : 0;
  if (written_ == 0 && fd_ >= 0) {
    const std::time_t now = std::time(nullptr);
    std::tm t{};
    gmtime_r(&now, &t);
    const std::string header = fmt::format(
        "#Software: httpapi {}\n#Version: 1.0\n#Date: {:04}-{:02}-{:02} {:02}:{:02}:{:02}\n"
        "#Fields: date time c-ip c-port s-ip s-port cs-version cs-method cs-uri sc-status "
        "s-siteid s-reason s-queuename\n",
        HTTPAPI_VERSION_STRING, t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour,
        t.tm_min, t.tm_sec);
    const ssize_t n = ::write(fd_, header.data(), header.size());
    if (n > 0) written_ += static_cast<std::size_t>(n);
  }
}

// Whether fd_ leads to a file in the log directory. A deleted file (its directory removed,
// or logrotate without a reload) would swallow every line unseen, so it is replaced; a
// failed open is retried once a second, not on every line of a flood.
bool ErrorLog::usable() {
  struct stat st {};
  if (fd_ >= 0 && (fstat(fd_, &st) != 0 || st.st_nlink == 0)) {
    ::close(fd_);
    fd_ = -1;
  }
  if (fd_ >= 0) return true;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_open_attempt_) return false;
  next_open_attempt_ = now + std::chrono::seconds(1);
  open_current();
  return fd_ >= 0;
}

void ErrorLog::write(const ErrorLogEntry& e) {
  const std::time_t now = std::time(nullptr);
  std::tm t{};
  gmtime_r(&now, &t);
  const std::string line = fmt::format(
      "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {} {} {} {} {} {} {} {} - {} {}\n", t.tm_year + 1900,
      t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, field(e.client_ip),
      e.client_port ? std::to_string(e.client_port) : "-", field(e.server_ip),
      e.server_port ? std::to_string(e.server_port) : "-", field(e.version), field(e.method),
      field(e.uri), e.status ? std::to_string(e.status) : "-", field(e.reason), field(e.queue));
  std::lock_guard lock(mutex_);
  if (usable() && written_ + line.size() > rollover_bytes_ && written_ > 0) open_next();
  const ssize_t n = fd_ >= 0 ? ::write(fd_, line.data(), line.size()) : -1;
  if (n > 0) written_ += static_cast<std::size_t>(n);
  if (n != static_cast<ssize_t>(line.size())) lost_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace httpapi::daemon
