fn main() -> std::process::ExitCode {
    deploykit::exit::run_main("prune-images", prune_images::main)
}
