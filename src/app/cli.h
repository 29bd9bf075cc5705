#pragma once
// The stoa command line: stoa [--config FILE] up | serve COMPONENT... | components | config |
// migrate | events … | version.
namespace stoa::app {

int run_cli(int argc, char** argv);

}  // namespace stoa::app
