// r1: command-line front end. Subcommands live in one file each (cmd_*.cpp).
#include <cstdio>

int main(int argc, char** argv) {
  std::fprintf(stderr, "r1: not built yet\n");
  return 1;
}
