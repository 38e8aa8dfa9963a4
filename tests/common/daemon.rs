//! `watchword run` as a child process the test can signal, read and stop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::{Workspace, watchword_command};

/// `watchword run` with its stderr collected as it is written.
pub struct Daemon {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Daemon {
    /// `watchword run` on the workspace's config, with systemd's variables cleared, for the
    /// caller to add to before [`Daemon::spawn`].
    pub fn command(ws: &Workspace) -> Command {
        let mut cmd = watchword_command(&ws.config_path());
        cmd.arg("run")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .env_remove("JOURNAL_STREAM")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    /// `watchword run` with `env` added.
    pub fn start(ws: &Workspace, env: &[(&str, &str)]) -> Daemon {
        let mut cmd = Daemon::command(ws);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Daemon::spawn(cmd)
    }

    /// Starts `cmd` (from [`Daemon::command`]) and collects its stderr as it is written.
    pub fn spawn(mut cmd: Command) -> Daemon {
        let mut child = cmd.spawn().expect("spawn watchword run");
        let log: Arc<Mutex<String>> = Arc::default();
        let mut stderr = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&log);
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .expect("log")
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Daemon { child, log }
    }

    pub fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits (at most 30 s) for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // Let the reader thread drain the pipe.
                thread::sleep(Duration::from_millis(100));
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("watchword run did not exit within 30 s:\n{}", self.log());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stop(mut self) -> String {
        self.signal("TERM");
        let status = self.wait_exit();
        let log = self.log();
        assert!(status.success(), "run exited {status:?}:\n{log}");
        assert!(!log.contains("panicked"), "{log}");
        log
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now, for a daemon's `metrics_listen`.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

/// A plain HTTP/1.1 GET over loopback (the daemon's listener): the status and the body, or
/// `None` when the connection is refused, closed or silent for `read_timeout`.
pub fn http_get(port: u16, path: &str, read_timeout: Duration) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(read_timeout)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}
