fn main() -> std::process::ExitCode {
    deploykit::process::run("prune-images", prune_images::main)
}
