// BrowserGuard: Host allow-list (DNS rebinding) and Origin check (cross-site).
#include <gtest/gtest.h>

#include "serve/browser_guard.hpp"

namespace r1::serve {
namespace {

TEST(BrowserGuard, HostNames) {
  EXPECT_EQ(host_name_of("LocalHost:8080"), "localhost");
  EXPECT_EQ(host_name_of("[::1]:8080"), "::1");
  EXPECT_EQ(host_name_of("[::1]"), "::1");
  EXPECT_EQ(host_name_of("a.example."), "a.example");
  EXPECT_EQ(host_name_of("[::1"), "");
  EXPECT_EQ(host_name_of("a:1:2"), "");
}

TEST(BrowserGuard, LoopbackNamesAndIpLiteralsPassForeignNamesDoNot) {
  BrowserGuard g;
  for (const char* h : {"127.0.0.1:8080", "localhost:8080", "localhost", "[::1]:1", "app.localhost", "192.168.1.5", ""})
    EXPECT_EQ(g.check(h, ""), "") << h;
  for (const char* h : {"attacker.example:8080", "localhost.attacker.example", "127.0.0.1.nip.io", "[::1"}) {
    const std::string m = g.check(h, "");
    EXPECT_NE(m.find("--host-allow"), std::string::npos) << h << ": " << m;
  }
}

TEST(BrowserGuard, HostAllowList) {
  BrowserGuard g;
  g.host_allow = {"box.lan"};
  EXPECT_EQ(g.check("BOX.lan:8080", ""), "");
  EXPECT_NE(g.check("other.lan", ""), "");
  g.host_allow = {"*"};
  EXPECT_EQ(g.check("other.lan", ""), "");
  g.check_host = false;
  g.host_allow = {};
  EXPECT_EQ(g.check("other.lan", ""), "");
}

TEST(BrowserGuard, Origins) {
  BrowserGuard g;
  EXPECT_EQ(g.check("127.0.0.1:8080", "http://127.0.0.1:8080"), "");  // the server's own page
  EXPECT_EQ(g.check("localhost", "http://localhost:80"), "");         // default port spelled out
  const std::string m = g.check("127.0.0.1:8080", "https://evil.example");
  EXPECT_NE(m.find("cross-site"), std::string::npos) << m;
  EXPECT_NE(m.find("evil.example"), std::string::npos) << m;
  EXPECT_NE(g.check("127.0.0.1:8080", "http://127.0.0.1:9999"), "");  // another port is another origin
  EXPECT_NE(g.check("127.0.0.1:8080", "null"), "");                   // sandboxed / file:// pages
  EXPECT_NE(g.check("", "http://127.0.0.1:8080"), "");                // no Host to compare with
  g.cors_origin = "http://localhost:3000";
  EXPECT_EQ(g.check("127.0.0.1:8080", "http://LOCALHOST:3000"), "");
  EXPECT_NE(g.check("127.0.0.1:8080", "http://localhost:3001"), "");
  g.cors_origin = "*";
  EXPECT_EQ(g.check("127.0.0.1:8080", "https://evil.example"), "");
  g.cors_origin = "";
  g.check_origin = false;
  EXPECT_EQ(g.check("127.0.0.1:8080", "https://evil.example"), "");
}

}  // namespace
}  // namespace r1::serve
