//! Instructions per show-user request, the deterministic figure of the README's Benchmarks
//! section: `cargo bench -p procore-mock --bench instructions` (needs `valgrind`,
//! `apt-get install valgrind`; skipped without it).
//!
//! The release binary runs under callgrind twice per setting, answering 11,000 and then 21,000
//! show-user requests over one keep-alive connection; the difference of the two totals divided
//! by 10,000 is what one request costs the server, without start-up, shutdown or the client
//! (another process). 11,000 requests fill the default journal of 10,000, so the difference is
//! counted with the journal wrapping, as a long-running mock does. Two settings: the rate
//! limiter and journal on (limits too high to refuse) and off. Unlike requests per second,
//! the counts do not depend on what else the machine is doing; they leave out the kernel's
//! share (the loopback TCP), which is over half of the CPU time at full load.
//!
//! `PROCORE_MOCK_BIN=path/to/procore-mock` measures another build instead (an older release
//! binary, to compare a change against what it changes).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};

const SHOW_REQUEST: &str = "GET /rest/v1.0/companies/8001/users/5101 HTTP/1.1\r\nHost: mock\r\nProcore-Company-Id: 8001\r\nAuthorization: Bearer ";
const FEWER: u64 = 11_000;
const MORE: u64 = 21_000;

fn main() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("instructions: skipped, valgrind is not installed (apt-get install valgrind)");
        return;
    }
    let settings: [(&str, &[&str]); 2] = [
        (
            "limiter+journal on ",
            &[
                "--rate-limit-hourly",
                "1000000000000",
                "--rate-limit-spike",
                "1000000000000",
            ],
        ),
        (
            "limiter+journal off",
            &[
                "--rate-limit-hourly",
                "0",
                "--rate-limit-spike",
                "0",
                "--journal-size",
                "0",
            ],
        ),
    ];
    println!(
        "instructions per show-user request (callgrind, ({MORE} - {FEWER} requests) / {})",
        MORE - FEWER
    );
    let mut figures = Vec::new();
    for (label, flags) in settings {
        let per_request = (instructions(flags, MORE) - instructions(flags, FEWER)) / (MORE - FEWER);
        println!("  procore-mock, {label} : {per_request:>8}");
        figures.push(per_request);
    }
    let cost = figures[0] as f64 / figures[1] as f64 - 1.0;
    println!(
        "  cost of limiter+journal           : {:>7.1}%",
        cost * 100.0
    );
}

/// The instructions the release binary runs, under callgrind, to start with `flags`, answer
/// `requests` show-user requests and shut down on SIGTERM.
fn instructions(flags: &[&str], requests: u64) -> u64 {
    let out = std::env::temp_dir().join(format!(
        "procore-mock-callgrind-{}-{requests}-{}.out",
        std::process::id(),
        flags.len()
    ));
    let mut child = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(binary())
        .args(["--port", "0"])
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("valgrind starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("a ready line");
    let address = line
        .trim_end()
        .strip_prefix("procore-mock listening on http://")
        .expect("the ready line names the URL")
        .to_owned();
    let mut connection = Connection::open(&address);
    let token = connection.token();
    let request = format!("{SHOW_REQUEST}{token}\r\n\r\n");
    for _ in 0..requests {
        let (status, _) = connection.exchange(request.as_bytes());
        assert_eq!(status, 200, "show user answered");
    }
    drop(connection);
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(stopped.success(), "SIGTERM sent");
    assert!(child.wait().expect("valgrind ends").success());
    let total = total_instructions(&out);
    let _ = std::fs::remove_file(&out);
    total
}

/// The binary measured: this build's, unless `PROCORE_MOCK_BIN` names another.
fn binary() -> std::ffi::OsString {
    std::env::var_os("PROCORE_MOCK_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_procore-mock").into())
}

/// The `summary:` line of a callgrind output file.
fn total_instructions(out: &Path) -> u64 {
    let text = std::fs::read_to_string(out).expect("callgrind wrote its output");
    text.lines()
        .find_map(|line| line.strip_prefix("summary:"))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or_else(|| panic!("no summary line in {}", out.display()))
}

/// One keep-alive HTTP/1.1 connection, read by hand: the client's own work stays small and
/// outside the measured process.
struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    fn open(address: &str) -> Self {
        let stream = TcpStream::connect(address).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            reader: BufReader::new(stream),
        }
    }

    fn token(&mut self) -> String {
        let form = "grant_type=client_credentials&client_id=procore-mock-client&client_secret=procore-mock-secret";
        let request = format!(
            "POST /oauth/token HTTP/1.1\r\nHost: mock\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        );
        let (status, body) = self.exchange(request.as_bytes());
        assert_eq!(status, 200, "a token");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("token JSON");
        body["access_token"].as_str().expect("a token").to_owned()
    }

    /// Sends `request` and reads its answer: the status and the body (by `Content-Length`).
    fn exchange(&mut self, request: &[u8]) -> (u16, Vec<u8>) {
        self.reader.get_mut().write_all(request).expect("write");
        let mut status = 0;
        let mut length = 0;
        let mut line = String::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("read head");
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some(code) = header.strip_prefix("HTTP/1.1 ") {
                status = code[..3].parse().expect("a status code");
            } else if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().expect("a length");
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).expect("read body");
        (status, body)
    }
}
