fn main() -> std::process::ExitCode {
    deploykit::process::run("scaffold-service", scaffold_service::main)
}
