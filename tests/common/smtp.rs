//! A small SMTP server on 127.0.0.1 for the email sink's tests (std::net, a thread per
//! connection, no TLS: the sink under test uses `tls = "none"`, which it allows for loopback
//! only). It records every session: the AUTH credentials, the envelope and the message, and
//! answers each command with the next scripted reply for it, else with success.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use base64::Engine as _;

/// One SMTP session as the server saw it.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// `(username, password)` from `AUTH PLAIN`.
    pub auth: Option<(String, String)>,
    /// The `MAIL FROM` address.
    pub from: String,
    /// Every `RCPT TO` address, accepted or not.
    pub to: Vec<String>,
    /// The message as sent after `DATA` (dot-unstuffed), if the server took one.
    pub data: Option<String>,
    /// The reply given to the message: 250 when it was accepted.
    pub data_reply: u16,
}

impl Session {
    /// Whether the message was accepted (a 2xx after the data).
    pub fn delivered(&self) -> bool {
        (200..300).contains(&self.data_reply)
    }

    /// The message, parsed.
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(self.data.as_deref().unwrap_or_default().as_bytes())
            .expect("a message")
    }
}

struct State {
    sessions: Vec<Session>,
    /// Scripted replies per command verb (`RCPT`, `DATA`, `MAIL`, `AUTH`), used in order.
    script: HashMap<String, VecDeque<String>>,
}

/// Listens on a free port of 127.0.0.1 until dropped (the process ends with the test).
pub struct SmtpServer {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(State {
            sessions: Vec::new(),
            script: HashMap::new(),
        }));
        let st = Arc::clone(&state);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let st = Arc::clone(&st);
                thread::spawn(move || {
                    let _ = serve(stream, &st);
                });
            }
        });
        SmtpServer { port, state }
    }

    /// The next `verb` command (`RCPT`, `DATA` for the reply after the message, `MAIL`,
    /// `AUTH`) is answered with `reply`, e.g. `"451 4.3.0 try again later"`.
    pub fn script(&self, verb: &str, reply: &str) {
        self.state
            .lock()
            .expect("smtp state")
            .script
            .entry(verb.to_string())
            .or_default()
            .push_back(reply.to_string());
    }

    /// Every session so far (one per delivery attempt), in order.
    pub fn sessions(&self) -> Vec<Session> {
        self.state.lock().expect("smtp state").sessions.clone()
    }

    /// The sessions whose message was accepted.
    pub fn delivered(&self) -> Vec<Session> {
        self.sessions()
            .into_iter()
            .filter(Session::delivered)
            .collect()
    }
}

fn serve(stream: TcpStream, state: &Arc<Mutex<State>>) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let index = {
        let mut st = state.lock().expect("smtp state");
        st.sessions.push(Session::default());
        st.sessions.len() - 1
    };
    let update = |f: &mut dyn FnMut(&mut Session)| {
        let mut st = state.lock().expect("smtp state");
        f(&mut st.sessions[index]);
    };
    let scripted = |verb: &str| -> Option<String> {
        let mut st = state.lock().expect("smtp state");
        st.script.get_mut(verb).and_then(VecDeque::pop_front)
    };
    out.write_all(b"220 127.0.0.1 ESMTP watchword-test\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply = match verb.as_str() {
            "EHLO" => {
                "250-127.0.0.1\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 SMTPUTF8".into()
            }
            "HELO" => "250 127.0.0.1".into(),
            "AUTH" => {
                let encoded = command.split_whitespace().nth(2).unwrap_or_default();
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .unwrap_or_default();
                let parts: Vec<String> = decoded
                    .split(|b| *b == 0)
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect();
                if let [_, user, password] = parts.as_slice() {
                    update(&mut |s| s.auth = Some((user.clone(), password.clone())));
                }
                scripted("AUTH").unwrap_or_else(|| "235 2.7.0 authenticated".into())
            }
            "MAIL" => {
                let address = angle(&command);
                update(&mut |s| s.from = address.clone());
                scripted("MAIL").unwrap_or_else(|| "250 2.1.0 ok".into())
            }
            "RCPT" => {
                let address = angle(&command);
                update(&mut |s| s.to.push(address.clone()));
                scripted("RCPT").unwrap_or_else(|| "250 2.1.5 ok".into())
            }
            "DATA" => {
                out.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let reply = scripted("DATA").unwrap_or_else(|| "250 2.0.0 queued".into());
                let code = reply[..3].parse().unwrap_or(0);
                update(&mut |s| {
                    s.data = Some(data.clone());
                    s.data_reply = code;
                });
                reply
            }
            "RSET" | "NOOP" => "250 2.0.0 ok".into(),
            "QUIT" => {
                out.write_all(b"221 2.0.0 bye\r\n")?;
                return Ok(());
            }
            _ => "502 5.5.2 command not implemented".into(),
        };
        out.write_all(reply.as_bytes())?;
        out.write_all(b"\r\n")?;
    }
}

/// The address between `<` and `>` of a `MAIL FROM:<…>` or `RCPT TO:<…>` line.
fn angle(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_string())
        .unwrap_or_default()
}
