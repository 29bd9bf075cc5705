#include "app/cli.h"

int main(int argc, char** argv) {
  return stoa::app::run_cli(argc, argv);
}
