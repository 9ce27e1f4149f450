//! elf2coff IN.o OUT.obj: the kernel's relocatable ELF object as a 64-bit
//! COFF object that link.exe and lld-link accept.
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: elf2coff IN.o OUT.obj");
        return ExitCode::from(2);
    }
    let input = match std::fs::read(&args[1]) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("elf2coff: {}: {e}", args[1]);
            return ExitCode::FAILURE;
        }
    };
    match elf2coff::convert(&input) {
        Ok(coff) => match std::fs::write(&args[2], coff) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("elf2coff: {}: {e}", args[2]);
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("elf2coff: {}: {e}", args[1]);
            ExitCode::FAILURE
        }
    }
}
