fn main() -> std::process::ExitCode {
    deploykit::process::run("provision-db", provision_db::main)
}
