//! Threads and resident memory of N open loggers, each with a file sink and 10 records
//! written: `cargo run --release -p alog-core --example loggers -- 1 100 1000`.
//! Each N runs in its own process (the example re-executes itself).

use std::time::Duration;

use alog_core::{Level, Logger};

fn status(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

fn run(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let before = status("VmRSS:");
    let loggers: Vec<Logger> = (0..n)
        .map(|i| {
            Logger::builder()
                .path(dir.path().join(format!("l{i}.log")))
                .build()
                .unwrap()
        })
        .collect();
    for log in &loggers {
        for r in 0..10 {
            log.log(Level::INFO, format!("record {r}")).unwrap();
        }
    }
    for log in &loggers {
        log.flush(Some(Duration::from_secs(30))).unwrap();
    }
    let rss = status("VmRSS:") - before;
    println!(
        "| {n} | {} | {} | {:.1} |",
        status("Threads:"),
        alog_core::writer_threads(),
        rss as f64 / 1024.0
    );
    for log in &loggers {
        log.close(None).unwrap();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--one") {
        run(args[2].parse().expect("a number of loggers"));
        return;
    }
    println!("| loggers | process threads | alog-writer threads | RSS growth MiB |");
    println!("|---:|---:|---:|---:|");
    for n in &args[1..] {
        let out = std::process::Command::new(&args[0])
            .args(["--one", n])
            .output()
            .unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}
