fn main() -> std::process::ExitCode {
    deploykit::process::run("tag-image", tag_image::main)
}
