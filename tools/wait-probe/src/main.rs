fn main() -> std::process::ExitCode {
    deploykit::exit::run_main("wait-probe", wait_probe::main)
}
