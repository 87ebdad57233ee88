//! `stackviz-export`: drop-in replacement for OpenStack's tool of the same name.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(resultpipe::cli::main_stackviz_export())
}
