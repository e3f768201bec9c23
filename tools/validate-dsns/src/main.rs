fn main() -> std::process::ExitCode {
    deploykit::exit::run_main("validate-dsns", validate_dsns::main)
}
