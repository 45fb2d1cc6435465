// Sends one admin command, exactly as given, over the control socket (role admin), and prints
// the service's answer as "STATUS DETAIL": for commands httpcfg would never build.
//
//   httpapi-it-raw-admin SOCKET JSON
#include <cstdio>
#include <string>

#include "admin_client.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s SOCKET JSON\n", argv[0]);
    return 2;
  }
  httpcfg::AdminClient client;
  std::string error;
  if (client.connect(argv[1], error) != httpcfg::ConnectStatus::ok) {
    std::fprintf(stderr, "raw-admin: %s\n", error.c_str());
    return 3;
  }
  httpcfg::Answer answer;
  if (!client.call(argv[2], answer, error)) {
    std::fprintf(stderr, "raw-admin: %s\n", error.c_str());
    return 3;
  }
  std::printf("%u %s\n", answer.status, answer.detail.c_str());
  return 0;
}
