fn main() -> std::process::ExitCode {
    deploykit::exit::run_main("provision-db", provision_db::main)
}
