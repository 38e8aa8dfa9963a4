fn main() -> std::process::ExitCode {
    watchword::cli::main()
}
