//! The `rcompose` binary: parse, set up tracing, run, render errors, exit like Compose.

fn main() {
    std::process::exit(rcompose::cli::main());
}
