fn main() -> std::process::ExitCode {
    deploykit::process::run("validate-dsns", validate_dsns::main)
}
