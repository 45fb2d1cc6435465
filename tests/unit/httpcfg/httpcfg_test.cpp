// httpcfg against a fake admin service: a thread that listens on a temporary control socket,
// speaks the real framing (src/ipc), records each JSON command and answers with canned
// results. The real binary runs as a child process, so the command line, the JSON sent, the
// output, the error line and the exit status are all checked as a user would see them.
// (The real httpapid answering these commands is covered by the integration tests.)
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ipc/frame.hpp"
#include "ipc/messages.hpp"

extern char** environ;

namespace fs = std::filesystem;
namespace ipc = httpapi::ipc;
using nlohmann::json;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "httpcfg-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

struct Reply {
  std::uint32_t status = 0;
  std::string detail;
};

class FakeService {
 public:
  explicit FakeService(const std::string& socket_path) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listener_, 8), 0);
    EXPECT_EQ(::pipe(stop_), 0);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeService() {
    (void)!::write(stop_[1], "x", 1);
    thread_.join();
    ::close(listener_);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }

  void queue_reply(std::uint32_t status, std::string detail) {
    std::lock_guard lock(mutex_);
    replies_.push_back({status, std::move(detail)});
  }
  std::vector<std::string> commands() {
    std::lock_guard lock(mutex_);
    return commands_;
  }
  std::vector<ipc::Role> roles() {
    std::lock_guard lock(mutex_);
    return roles_;
  }

 private:
  void run() {
    for (;;) {
      pollfd fds[2] = {{listener_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents) return;
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        serve(fd);
        ::close(fd);
      }
    }
  }

  void serve(int fd) {
    std::string in;
    for (;;) {
      ipc::Frame frame;
      std::size_t consumed = 0;
      const auto status = ipc::next_frame(in, frame, consumed);
      if (status == ipc::FrameStatus::incomplete) {
        char buffer[4096];
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) return;
        in.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (status != ipc::FrameStatus::complete) return;
      std::string out;
      ipc::Hello hello;
      ipc::AdminCall call;
      if (ipc::decode(frame, hello)) {
        {
          std::lock_guard lock(mutex_);
          roles_.push_back(hello.role);
        }
        ipc::HelloAck ack;
        ack.peer_id = 1;
        ipc::encode(out, ack);
      } else if (ipc::decode(frame, call)) {
        Reply reply;
        {
          std::lock_guard lock(mutex_);
          commands_.emplace_back(call.json);
          if (!replies_.empty()) {
            reply = replies_.front();
            replies_.pop_front();
          }
        }
        ipc::encode(out, ipc::Result{call.call, reply.status, 0, reply.detail});
      } else {
        return;
      }
      in.erase(0, consumed);
      if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
        return;
      }
    }
  }

  int listener_ = -1;
  int stop_[2] = {-1, -1};
  std::thread thread_;
  std::mutex mutex_;
  std::deque<Reply> replies_;
  std::vector<std::string> commands_;
  std::vector<ipc::Role> roles_;
};

struct Outcome {
  int status = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs httpcfg with `args`; HTTPAPI_CONTROL is removed from its environment unless given.
Outcome httpcfg(const std::vector<std::string>& args,
            const std::optional<std::string>& control = std::nullopt) {
  TempDir io;
  const std::string out_path = io.path() + "/out", err_path = io.path() + "/err";
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "HTTPAPI_CONTROL=", 16) != 0) env_strings.emplace_back(*e);
  }
  if (control) env_strings.push_back("HTTPAPI_CONTROL=" + *control);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings{HTTPCFG_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  pid_t pid = -1;
  Outcome run;
  if (posix_spawn(&pid, HTTPCFG_BINARY, &actions, nullptr, argv.data(), envp.data()) != 0) {
    ADD_FAILURE() << "cannot run " << HTTPCFG_BINARY;
    return run;
  }
  posix_spawn_file_actions_destroy(&actions);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  run.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  run.out = slurp(out_path);
  run.err = slurp(err_path);
  return run;
}

// One line on stderr, starting "httpcfg: ".
void expect_one_error_line(const Outcome& run) {
  EXPECT_EQ(run.err.rfind("httpcfg: ", 0), 0u) << run.err;
  ASSERT_FALSE(run.err.empty());
  EXPECT_EQ(run.err.back(), '\n');
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
}

class HttpcfgTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::string socket_path = dir.path() + "/control.sock";
  FakeService service{socket_path};
  std::vector<std::string> state_dir{"--state-dir", dir.path()};

  Outcome run(std::vector<std::string> args) {
    args.insert(args.end(), state_dir.begin(), state_dir.end());
    return httpcfg(args);
  }
  json only_command() {
    const auto sent = service.commands();
    EXPECT_EQ(sent.size(), 1u);
    return sent.empty() ? json() : json::parse(sent.back());
  }
};

TEST_F(HttpcfgTest, UrlaclAddSendsTheAccessList) {
  const Outcome r = run({"urlacl", "add", "--url", "http://+:80/shop/", "--user", "root", "--user",
                     "4000000", "--group", "0", "--user", "0", "--delegate"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "URL reservation successfully added\n");
  EXPECT_EQ(r.err, "");
  const json expected = json::parse(R"({"command":"urlacl.add","url":"http://+:80/shop/","acl":[
      {"kind":"user","id":0,"listen":true,"delegate":true},
      {"kind":"user","id":4000000,"listen":true,"delegate":true},
      {"kind":"group","id":0,"listen":true,"delegate":true}]})");
  EXPECT_EQ(only_command(), expected);
  EXPECT_EQ(service.roles(), std::vector<ipc::Role>{ipc::Role::admin});
}

TEST_F(HttpcfgTest, UrlaclAddWithoutDelegate) {
  const Outcome r = run({"urlacl", "add", "--url", "http://+:8080/", "--group", "root"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(only_command(), json::parse(R"({"command":"urlacl.add","url":"http://+:8080/",
      "acl":[{"kind":"group","id":0,"listen":true,"delegate":false}]})"));
}

TEST_F(HttpcfgTest, UsageErrorsExit2WithoutCallingTheService) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"urlacl", "add", "--url", "http://+:80/x/"},
           {"urlacl", "add", "--user", "root"},
           {"urlacl", "add", "--url", "http://+:80/x/", "--user", "no-such-user-hopefully"},
           {"urlacl", "add", "--url", "http://+:80/x/", "--group", "no-such-group-hopefully"},
           {"urlacl", "frobnicate"},
           {"urlacl"},
           {},
           {"iplisten", "add"},
           {"show", "servicestate", "--bogus"}}) {
    const Outcome r = run(args);
    EXPECT_EQ(r.status, 2) << testing::PrintToString(args) << r.err;
    expect_one_error_line(r);
    EXPECT_EQ(r.out, "");
  }
  EXPECT_TRUE(service.commands().empty());
  const Outcome r = run({"urlacl", "add", "--url", "http://+:80/x/", "--user", "nobody-zz"});
  EXPECT_EQ(r.err,
            "httpcfg: unknown user 'nobody-zz': not in the user database and not a numeric uid; "
            "give an existing user name or a uid\n");
}

TEST_F(HttpcfgTest, UrlaclDeleteRefusedByTheService) {
  service.queue_reply(5, "there is no reservation for http://+:80/gone/");
  const Outcome r = run({"urlacl", "delete", "--url", "http://+:80/gone/"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(only_command(),
            json::parse(R"({"command":"urlacl.delete","url":"http://+:80/gone/"})"));
  EXPECT_EQ(r.out, "");
  expect_one_error_line(r);
  EXPECT_EQ(r.err,
            "httpcfg: cannot delete the reservation for http://+:80/gone/: there is no "
            "reservation for http://+:80/gone/; list the reservations with 'httpcfg urlacl "
            "show'; the URL must match one exactly\n");
}

// The binary's path goes to the service absolute (its working directory is not httpcfg's);
// without --binary none is sent (the running binary's path).
TEST_F(HttpcfgTest, UpgradeSendsAnAbsoluteBinaryAndShowsBothPids) {
  service.queue_reply(0, R"({"old_pid":120,"new_pid":123})");
  const Outcome r = run({"upgrade", "--binary", "/bin/../bin/true"});
  EXPECT_EQ(r.status, 0) << r.err;
  char resolved[PATH_MAX];
  ASSERT_NE(::realpath("/bin/true", resolved), nullptr);
  EXPECT_EQ(only_command(), json({{"command", "upgrade"}, {"binary", resolved}}));
  EXPECT_EQ(r.out,
            "httpapid upgraded: PID 123 serves now; PID 120 hands its connections over and "
            "exits\n");
}

TEST_F(HttpcfgTest, UpgradeRefusedShowsTheServicesReason) {
  service.queue_reply(4, "upgrade refused: an upgrade is already in progress (PID 7 is "
                         "starting); wait for its outcome, then try again");
  const Outcome r = run({"upgrade"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(only_command(), json::parse(R"({"command":"upgrade"})"));
  EXPECT_EQ(r.err,
            "httpcfg: cannot upgrade httpapid: upgrade refused: an upgrade is already in "
            "progress (PID 7 is starting); wait for its outcome, then try again\n");
}

TEST_F(HttpcfgTest, ReasonWithItsOwnAdviceIsNotGivenASecondOne) {
  service.queue_reply(2, "http://+:80/x/ is already reserved; delete it first to change it");
  const Outcome r = run({"urlacl", "add", "--url", "http://+:80/x/", "--user", "root"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "httpcfg: cannot add the reservation for http://+:80/x/: http://+:80/x/ is already "
            "reserved; delete it first to change it\n");
}

TEST_F(HttpcfgTest, AccessDeniedWithoutDetailUsesTheStatusText) {
  service.queue_reply(3, "");
  const Outcome r = run({"urlacl", "add", "--url", "http://+:80/x/", "--user", "root"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "httpcfg: cannot add the reservation for http://+:80/x/: access denied; run it as "
            "root, or as a user with delegate rights on a reservation above this URL\n");
}

const char* const kReservations = R"({"reservations":[
  {"url":"http://+:80/shop/","acl":[
     {"kind":"user","id":0,"listen":true,"delegate":false},
     {"kind":"group","id":4000001,"listen":true,"delegate":true}]},
  {"url":"https://www.example.com:443/","acl":[
     {"kind":"user","id":4000000,"listen":true,"delegate":false}]}]})";

TEST_F(HttpcfgTest, UrlaclShowHuman) {
  service.queue_reply(0, kReservations);
  const Outcome r = run({"urlacl", "show"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(only_command(), json::parse(R"({"command":"urlacl.show"})"));
  EXPECT_EQ(r.out,
            "Reserved URL : http://+:80/shop/\n"
            "    User:  root (0)     Listen: Yes  Delegate: No\n"
            "    Group: gid 4000001  Listen: Yes  Delegate: Yes\n"
            "\n"
            "Reserved URL : https://www.example.com:443/\n"
            "    User:  uid 4000000  Listen: Yes  Delegate: No\n");
}

TEST_F(HttpcfgTest, UrlaclShowJsonAndFilter) {
  service.queue_reply(0, kReservations);
  Outcome r = run({"urlacl", "show", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), json::parse(kReservations));
  EXPECT_NE(r.out.find("\n  "), std::string::npos) << "not pretty-printed: " << r.out;

  service.queue_reply(0, kReservations);
  r = run({"urlacl", "show", "--url", "HTTPS://www.example.com:443/", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  const json filtered = json::parse(r.out);
  ASSERT_EQ(filtered["reservations"].size(), 1u);
  EXPECT_EQ(filtered["reservations"][0]["url"], "https://www.example.com:443/");

  service.queue_reply(0, kReservations);
  r = run({"urlacl", "show", "--url", "http://+:81/none/"});
  EXPECT_EQ(r.status, 1);
  expect_one_error_line(r);

  service.queue_reply(0, R"({"reservations":[]})");
  r = run({"urlacl", "show"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "No URL reservations.\n");
}

TEST_F(HttpcfgTest, IplistenCommands) {
  Outcome r = run({"iplisten", "add", "--address", "127.0.0.1"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "IP address successfully added\n");
  r = run({"iplisten", "delete", "--address", "::1"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "IP address successfully deleted\n");
  service.queue_reply(0, R"({"addresses":["127.0.0.1","::1"]})");
  r = run({"iplisten", "show"});
  EXPECT_EQ(r.out, "IP listen list:\n    127.0.0.1\n    ::1\n");
  service.queue_reply(0, R"({"addresses":[]})");
  r = run({"iplisten", "show", "--json"});
  EXPECT_EQ(json::parse(r.out), json::parse(R"({"addresses":[]})"));
  service.queue_reply(0, R"({"addresses":[]})");
  r = run({"iplisten", "show"});
  EXPECT_EQ(r.out, "IP listen list: empty (httpapid listens on all addresses)\n");
  service.queue_reply(1, "'1.2.3.4:80' is not an IPv4 or IPv6 address");
  r = run({"iplisten", "add", "--address", "1.2.3.4:80"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "httpcfg: cannot add 1.2.3.4:80 to the IP listen list: '1.2.3.4:80' is not an IPv4 "
            "or IPv6 address; give an IPv4 or IPv6 address without a port, e.g. 127.0.0.1 or "
            "::1\n");

  std::vector<json> sent;
  for (const auto& text : service.commands()) sent.push_back(json::parse(text));
  const std::vector<json> expected{
      json::parse(R"({"command":"iplisten.add","address":"127.0.0.1"})"),
      json::parse(R"({"command":"iplisten.delete","address":"::1"})"),
      json::parse(R"({"command":"iplisten.show"})"),
      json::parse(R"({"command":"iplisten.show"})"),
      json::parse(R"({"command":"iplisten.show"})"),
      json::parse(R"({"command":"iplisten.add","address":"1.2.3.4:80"})")};
  EXPECT_EQ(sent, expected);
}

TEST_F(HttpcfgTest, IplistenProxyProtocolEntries) {
  Outcome r = run({"iplisten", "add", "--ipport", "127.0.0.2:8080", "--proxy-protocol",
                   "--trusted", "127.0.0.1/32,::1"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "IP:PORT entry successfully added\n");
  r = run({"iplisten", "delete", "--ipport", "127.0.0.2:8080"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "IP:PORT entry successfully deleted\n");
  service.queue_reply(0, R"({"addresses":[],"endpoints":[{"ipport":"127.0.0.2:8080",)"
                         R"("proxy_protocol":true,"trusted":"127.0.0.1/32"}]})");
  r = run({"iplisten", "show"});
  EXPECT_EQ(r.out,
            "IP listen list: empty (httpapid listens on all addresses)\n"
            "IP:PORT entries:\n"
            "    127.0.0.2:8080  PROXY protocol: yes  trusted: 127.0.0.1/32\n");
  // Refused before the service is asked.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"iplisten", "add", "--ipport", "127.0.0.2:8080"},
        {"iplisten", "add", "--ipport", "127.0.0.2:8080", "--proxy-protocol"},
        {"iplisten", "add", "--address", "127.0.0.1", "--proxy-protocol"},
        {"iplisten", "add", "--address", "127.0.0.1", "--ipport", "127.0.0.2:80"},
        {"iplisten", "delete"}}) {
    r = run(args);
    EXPECT_EQ(r.status, 2) << args.back();
    expect_one_error_line(r);
  }
  std::vector<json> sent;
  for (const auto& text : service.commands()) sent.push_back(json::parse(text));
  const std::vector<json> expected{
      json::parse(R"({"command":"iplisten.add","ipport":"127.0.0.2:8080",)"
                  R"("proxy_protocol":true,"trusted":"127.0.0.1/32,::1"})"),
      json::parse(R"({"command":"iplisten.delete","ipport":"127.0.0.2:8080"})"),
      json::parse(R"({"command":"iplisten.show"})")};
  EXPECT_EQ(sent, expected);
}

const char* const kState = R"({
  "sessions":[{"id":1,"pid":4242,"uid":0,"groups":[
      {"id":7,"queue":3,"urls":[{"url":"http://+:80/shop/","context":42},
                                {"url":"http://localhost:8080/","context":7}]},
      {"id":8,"queue":0,"urls":[]}]}],
  "queues":[{"id":3,"name":"shop","owner_uid":0,"length":5,"workers":2,"handles":3,
             "persistent":true,"controller":false},
            {"id":4,"name":"","owner_uid":4000000,"length":0,"workers":0,"handles":1,
             "persistent":false,"controller":false}],
  "endpoints":[{"port":80},{"port":8080}],
  "connections":[{"id":12,"worker":1,"remote":"127.0.0.1:51234","local":"127.0.0.1:80",
                  "state":"reading"}],
  "logging":{"stderr_lines_lost":2,"error_log_lines_lost":0}})";

TEST_F(HttpcfgTest, ServicestateHumanAndJson) {
  service.queue_reply(0, kState);
  Outcome r = run({"show", "servicestate"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(only_command(), json::parse(R"({"command":"servicestate"})"));
  EXPECT_EQ(r.out,
            "Server sessions: 1\n"
            "\n"
            "    Server session 1\n"
            "        Process: 4242   User: root (0)\n"
            "        URL group 7 -> request queue 3\n"
            "            http://+:80/shop/        context 42\n"
            "            http://localhost:8080/   context 7\n"
            "        URL group 8 (not bound to a request queue)\n"
            "            (no URLs)\n"
            "\n"
            "Request queues: 2\n"
            "\n"
            "    Request queue 3  \"shop\"\n"
            "        Owner: root (0)\n"
            "        Length: 5   Workers: 2   Handles: 3   Persistent: Yes   Controller: No\n"
            "\n"
            "    Request queue 4  (unnamed)\n"
            "        Owner: uid 4000000\n"
            "        Length: 0   Workers: 0   Handles: 1   Persistent: No   Controller: No\n"
            "\n"
            "Listening endpoints: 2\n"
            "\n"
            "    port 80\n"
            "    port 8080\n"
            "\n"
            "Connections: 1\n"
            "\n"
            "    ID   Worker   State     Remote            Local\n"
            "    12   1        reading   127.0.0.1:51234   127.0.0.1:80\n"
            "\n"
            "Log lines lost: 2 on stderr, 0 in the error log\n");

  service.queue_reply(0, kState);
  r = run({"show", "servicestate", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), json::parse(kState));

  service.queue_reply(0, "{}");  // a service from before the logging counts: no line
  r = run({"show", "servicestate"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "Server sessions: 0\n\nRequest queues: 0\n\nListening endpoints: 0\n\n"
            "Connections: 0\n");
}

TEST_F(HttpcfgTest, ServicestateShowsWhatBindsWhere) {
  service.queue_reply(0, R"({"endpoints":[
    {"port":8080,"scheme":"http","exact":true,
     "why":"every registration names an IP address: only those are bound",
     "bindings":[{"address":"127.0.0.2","ipport":"127.0.0.2:8080","proxy_protocol":true,
                  "registrations":["http://127.0.0.2:8080/"],
                  "why":"named by http://127.0.0.2:8080/"}],"unbound":[]},
    {"port":443,"scheme":"https","exact":false,"why":"https://+:443/ needs more",
     "bindings":[{"address":"*","ipport":"*:443","proxy_protocol":false,
                  "proxy_protocol_on":["127.0.0.2:443"],"registrations":[],
                  "why":"every address"}],
     "unbound":["https://127.0.0.9:443/"]}]})");
  const Outcome r = run({"show", "servicestate"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(
                "Listening endpoints: 2\n\n"
                "    port 8080 (http): every registration names an IP address: only those "
                "are bound\n"
                "        127.0.0.2:8080   PROXY protocol: yes   named by http://127.0.0.2:8080/\n"
                "    port 443 (https): https://+:443/ needs more\n"
                "        *:443   PROXY protocol: on 127.0.0.2:443   every address\n"
                "        not bound: https://127.0.0.9:443/ (the IP listen list leaves its "
                "address out)\n"),
            std::string::npos)
      << r.out;
}

TEST_F(HttpcfgTest, MalformedAnswerIsAnError) {
  service.queue_reply(0, "this is not json");
  const Outcome r = run({"show", "servicestate"});
  EXPECT_EQ(r.status, 1);
  expect_one_error_line(r);
  EXPECT_EQ(r.out, "");
}

TEST_F(HttpcfgTest, GlobalOptionBeforeTheSubcommandAndEnvironment) {
  service.queue_reply(0, R"({"addresses":["::1"]})");
  Outcome r = httpcfg({"--state-dir", dir.path(), "iplisten", "show"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "IP listen list:\n    ::1\n");
  service.queue_reply(0, R"({"addresses":["::1"]})");
  r = httpcfg({"iplisten", "show"}, socket_path);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "IP listen list:\n    ::1\n");
}

TEST(Httpcfg, ServiceNotRunningExits3) {
  TempDir dir;
  Outcome r = httpcfg({"urlacl", "show", "--state-dir", dir.path()});
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "httpcfg: httpapid is not running (no control socket at " + dir.path() +
                       "/control.sock); start it, or pass --state-dir / set HTTPAPI_CONTROL\n");

  // A stale socket file nobody listens on (the service died): ECONNREFUSED.
  const std::string stale = dir.path() + "/stale.sock";
  {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, stale.c_str(), sizeof address.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ::close(fd);
  }
  r = httpcfg({"iplisten", "add", "--address", "::1"}, stale);
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(r.err, "httpcfg: httpapid is not running (no control socket at " + stale +
                       "); start it, or pass --state-dir / set HTTPAPI_CONTROL\n");
}

TEST(Httpcfg, HelpAtEveryLevel) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--help"},
           {"urlacl", "--help"},
           {"urlacl", "add", "--help"},
           {"urlacl", "delete", "--help"},
           {"urlacl", "show", "--help"},
           {"iplisten", "--help"},
           {"iplisten", "add", "--help"},
           {"iplisten", "delete", "--help"},
           {"iplisten", "show", "--help"},
           {"sslcert", "--help"},
           {"sslcert", "add", "--help"},
           {"sslcert", "update", "--help"},
           {"sslcert", "delete", "--help"},
           {"sslcert", "show", "--help"},
           {"show", "--help"},
           {"show", "servicestate", "--help"},
           {"upgrade", "--help"},
           {"drain", "--help"},
           {"resume", "--help"},
           {"export", "--help"},
           {"import", "--help"}}) {
    const Outcome r = httpcfg(args);
    EXPECT_EQ(r.status, 0) << testing::PrintToString(args);
    EXPECT_NE(r.out.find("Usage: httpcfg"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("EXAMPLE"), std::string::npos) << r.out;
    EXPECT_EQ(r.err, "");
    std::size_t start = 0;
    while (start < r.out.size()) {
      std::size_t end = r.out.find('\n', start);
      if (end == std::string::npos) end = r.out.size();
      EXPECT_LE(end - start, 80u) << "help line too long: " << r.out.substr(start, end - start);
      start = end + 1;
    }
  }
  const Outcome version = httpcfg({"--version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_EQ(version.out.rfind("httpcfg ", 0), 0u);
}

// The page CMake generates (and installs) names the release httpcfg --version prints.
TEST(Httpcfg, ManPageNamesTheRelease) {
  std::ifstream page(HTTPCFG_MAN_PAGE);
  std::string title;
  ASSERT_TRUE(std::getline(page, title)) << HTTPCFG_MAN_PAGE;
  const Outcome version = httpcfg({"--version"});
  ASSERT_EQ(version.out.rfind("httpcfg ", 0), 0u) << version.out;
  std::string release = version.out.substr(8);
  while (!release.empty() && release.back() == '\n') release.pop_back();
  EXPECT_EQ(release, HTTPAPI_VERSION_STRING);
  EXPECT_NE(title.find("\"httpapi " + release + "\""), std::string::npos) << title;
}

}  // namespace

// ---- sslcert: httpcfg reads the files and sends their contents; the service checks them.

namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_F(HttpcfgTest, SslcertAddSendsTheFilesContentsAndOptions) {
  write_file(dir.path() + "/rsa.pem", "RSA CHAIN\n");
  write_file(dir.path() + "/rsa.key", "RSA KEY\n");
  write_file(dir.path() + "/ec.pem", "EC CHAIN\n");
  write_file(dir.path() + "/ec.key", "EC KEY\n");
  write_file(dir.path() + "/ca.pem", "CA\n");
  const Outcome r = run({"sslcert", "add", "--hostnameport", "*.example.com:8443", "--cert",
                         dir.path() + "/rsa.pem", "--key", dir.path() + "/rsa.key", "--cert",
                         dir.path() + "/ec.pem", "--key", dir.path() + "/ec.key", "--clientcert",
                         "require", "--ca", dir.path() + "/ca.pem", "--min-tls", "1.3",
                         "--disablehttp2", "--disablesessionid"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "SSL certificate successfully added\n");
  EXPECT_EQ(only_command(), json::parse(R"({"command":"sslcert.add",
      "hostnameport":"*.example.com:8443",
      "certificates":[{"certificate":"RSA CHAIN\n","key":"RSA KEY\n"},
                      {"certificate":"EC CHAIN\n","key":"EC KEY\n"}],
      "client_cert":"require","ca":"CA\n","min_tls":"1.3",
      "disable_http2":true,"disable_session_id":true})"));
}

TEST_F(HttpcfgTest, SslcertUpdateAndDeleteCommands) {
  write_file(dir.path() + "/c.pem", "C");
  write_file(dir.path() + "/c.key", "K");
  Outcome r = run({"sslcert", "update", "--ipport", "[::]:443", "--cert", dir.path() + "/c.pem",
                   "--key", dir.path() + "/c.key"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "SSL certificate successfully updated\n");
  r = run({"sslcert", "delete", "--ipport", "[::]:443"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "SSL certificate successfully deleted\n");
  const auto sent = service.commands();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(json::parse(sent[0]), json::parse(R"({"command":"sslcert.update","ipport":"[::]:443",
      "certificates":[{"certificate":"C","key":"K"}],
      "disable_http2":false,"disable_session_id":false})"));
  EXPECT_EQ(json::parse(sent[1]),
            json::parse(R"({"command":"sslcert.delete","ipport":"[::]:443"})"));
}

TEST_F(HttpcfgTest, SslcertUsageErrorsExit2WithoutCallingTheService) {
  write_file(dir.path() + "/c.pem", "C");
  const std::string cert = dir.path() + "/c.pem";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"sslcert", "add", "--cert", cert, "--key", cert},
           {"sslcert", "add", "--ipport", "0.0.0.0:1", "--hostnameport", "a.b:1", "--cert", cert,
            "--key", cert},
           {"sslcert", "add", "--ipport", "0.0.0.0:1", "--cert", cert},
           {"sslcert", "add", "--ipport", "0.0.0.0:1", "--cert", cert, "--key", cert, "--cert",
            cert},
           {"sslcert", "add", "--ipport", "0.0.0.0:1", "--cert", cert, "--key", cert, "--cert",
            cert, "--key", cert, "--cert", cert, "--key", cert},
           {"sslcert", "add", "--ipport", "0.0.0.0:1", "--cert", cert, "--key", cert,
            "--clientcert", "sometimes"},
           {"sslcert", "add", "--ipport", "0.0.0.0:1", "--cert", cert, "--key", cert,
            "--min-tls", "1.1"},
           {"sslcert", "delete"},
           {"sslcert", "show", "--ipport", "0.0.0.0:1", "--hostnameport", "a.b:1"}}) {
    const Outcome r = run(args);
    EXPECT_EQ(r.status, 2) << testing::PrintToString(args) << r.err;
    expect_one_error_line(r);
    EXPECT_EQ(r.out, "");
  }
  EXPECT_TRUE(service.commands().empty());
}

TEST_F(HttpcfgTest, SslcertMissingFileIsNamed) {
  write_file(dir.path() + "/c.pem", "C");
  const Outcome r = run({"sslcert", "add", "--ipport", "0.0.0.0:443", "--cert",
                         dir.path() + "/c.pem", "--key", dir.path() + "/missing.key"});
  EXPECT_EQ(r.status, 2);
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("key file " + dir.path() + "/missing.key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;
  EXPECT_TRUE(service.commands().empty());
}

TEST_F(HttpcfgTest, SslcertShowHumanAndFilter) {
  const std::string answer = R"({"bindings":[{"endpoint":"www.example.com:443",
      "kind":"hostnameport","certificates":[{"subject":"CN=www.example.com,O=Example",
      "issuer":"CN=Example CA","dns_names":["www.example.com","example.com"],
      "not_before":"2026-01-01T00:00:00Z","not_after":"2027-01-01T00:00:00Z",
      "sha256":"ab01","key_type":"ECDSA P-256","chain_length":2}],
      "client_cert":"require","ca_certificates":1,"min_tls":"1.3","disable_http2":true,
      "disable_session_id":false}]})";
  service.queue_reply(0, answer);
  const Outcome r = run({"sslcert", "show", "--hostnameport", "www.example.com:443"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(only_command(), json::parse(R"({"command":"sslcert.show",
      "hostnameport":"www.example.com:443"})"));
  EXPECT_EQ(r.out,
            "    Hostname:port        : www.example.com:443\n"
            "    Certificate          : CN=www.example.com,O=Example\n"
            "        Names (SAN)      : www.example.com, example.com\n"
            "        Issuer           : CN=Example CA\n"
            "        Valid            : 2026-01-01T00:00:00Z to 2027-01-01T00:00:00Z\n"
            "        SHA-256          : ab01\n"
            "        Key              : ECDSA P-256\n"
            "        Chain            : the certificate and 1 intermediate\n"
            "    Client certificates  : require (trusting 1 CA certificate)\n"
            "    Minimum TLS version  : 1.3\n"
            "    HTTP/2               : disabled\n"
            "    Session resumption   : enabled\n");
  service.queue_reply(0, R"({"bindings":[]})");
  EXPECT_EQ(run({"sslcert", "show"}).out, "No SSL certificate bindings.\n");
}

// ---- drain and resume (docs/operations.md)

TEST_F(HttpcfgTest, DrainSendsTheDurationsGiven) {
  service.queue_reply(0, "");
  Outcome r = run({"drain"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(only_command(), json::parse(R"({"command":"drain"})"));
  EXPECT_NE(r.out.find("Draining"), std::string::npos) << r.out;

  service.queue_reply(0, "");
  r = run({"drain", "--grace", "0", "--timeout", "60"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(service.commands().back()),
            json::parse(R"({"command":"drain","grace":0,"timeout":60})"));

  service.queue_reply(0, "");
  r = run({"resume"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(service.commands().back()), json::parse(R"({"command":"resume"})"));
}

TEST_F(HttpcfgTest, DrainRefusesNegativeAndMalformedDurations) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"drain", "--grace", "-1"}, {"drain", "--timeout", "-5"}, {"drain", "--grace", "ten"}}) {
    const Outcome r = run(args);
    EXPECT_EQ(r.status, 2) << testing::PrintToString(args);
    expect_one_error_line(r);
  }
  EXPECT_TRUE(service.commands().empty());
}

TEST_F(HttpcfgTest, DrainRefusedByTheServiceSaysWhy) {
  service.queue_reply(14, "a drain is already running (7 s of grace left); 'httpcfg resume' "
                          "cancels it");
  const Outcome r = run({"drain"});
  EXPECT_EQ(r.status, 1);
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("already running"), std::string::npos) << r.err;
}

TEST_F(HttpcfgTest, ServicestateShowsBuiltinUrlsAndTheDrain) {
  service.queue_reply(0, R"({"builtin_urls":[{"url":"http://127.0.0.1:9181/healthz/",
      "setting":"health_url"}],"drain":{"state":"grace","grace_seconds":10,
      "timeout_seconds":30,"seconds_left":7,"connections":3,"requests_in_flight":1,
      "closed_at_timeout":0}})");
  const Outcome r = run({"show", "servicestate"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Built-in URLs: 1\n\n    http://127.0.0.1:9181/healthz/   (setting "
                       "health_url)\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Drain: grace (health URL 503, still serving: 7 s left of 10 s grace"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("    Connections: 3   Requests in flight: 1   Closed at the timeout: 0\n"),
            std::string::npos)
      << r.out;
}

// ---- export and import (docs/scale-out.md)

TEST_F(HttpcfgTest, ExportWritesAPrivateFileAndImportSendsItBack) {
  const std::string document = R"({"httpapi_host_state":1,"reservations":[],"settings":{}})";
  service.queue_reply(0, document);
  const std::string path = dir.path() + "/state.json";
  Outcome r = run({"export", "--file", path});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(only_command(), json::parse(R"({"command":"state.export"})"));
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::ifstream written(path);
  EXPECT_EQ(json::parse(written), json::parse(document));

  service.queue_reply(0, R"({"added":1,"updated":0,"deleted":2,"unchanged":3})");
  r = run({"import", "--file", path});
  EXPECT_EQ(r.status, 0) << r.err;
  const json expected = {{"command", "state.import"}, {"state", json::parse(document)}};
  EXPECT_EQ(json::parse(service.commands().back()), expected);
  EXPECT_EQ(r.out, "Host state imported: 1 added, 0 updated, 2 deleted, 3 unchanged\n");

  r = run({"import", "--file", dir.path() + "/missing.json"});
  EXPECT_EQ(r.status, 2);
  expect_one_error_line(r);
  write_file(dir.path() + "/list.json", "[1, 2]");
  r = run({"import", "--file", dir.path() + "/list.json"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("not a JSON object"), std::string::npos) << r.err;
  EXPECT_EQ(service.commands().size(), 2u);  // neither reached the service
}
