fn main() -> std::process::ExitCode {
    deploykit::process::run("image-digest", image_digest::main)
}
