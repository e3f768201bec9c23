fn main() -> std::process::ExitCode {
    deploykit::exit::run_main("tag-image", tag_image::main)
}
