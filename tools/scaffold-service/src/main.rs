fn main() -> std::process::ExitCode {
    deploykit::exit::run_main("scaffold-service", scaffold_service::main)
}
