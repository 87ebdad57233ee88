//! `resultpipe`: every command of the project in one binary.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(resultpipe::cli::main_resultpipe())
}
