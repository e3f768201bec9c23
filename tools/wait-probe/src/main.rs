fn main() -> std::process::ExitCode {
    deploykit::process::run("wait-probe", wait_probe::main)
}
