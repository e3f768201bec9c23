fn main() -> std::process::ExitCode {
    deploykit::exit::run_main("image-digest", image_digest::main)
}
