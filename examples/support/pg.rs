//! PostgreSQL for the benchmarks: a schema of their own per run (dropped at the end), plain
//! queries for the server's statistics, and a counting proxy that tells how many round trips
//! watchword makes (the server cannot say without pg_stat_statements, which needs a restart).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// One connection, blocking calls.
pub struct Pg {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Pg {
    pub fn connect(url: &str) -> Pg {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
            tokio::spawn(connection);
            client
        });
        Pg { runtime, client }
    }

    /// Runs `sql` (no parameters) and returns each row's first column as text.
    pub fn query(&self, sql: &str) -> Vec<String> {
        self.runtime.block_on(async {
            self.client
                .simple_query(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(row) => {
                        Some(row.get(0).unwrap_or("").to_string())
                    }
                    _ => None,
                })
                .collect()
        })
    }

    /// The first column of the first row as a number (0 if none or not a number).
    pub fn number(&self, sql: &str) -> i64 {
        self.query(sql)
            .first()
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0, |v| v as i64)
    }
}

/// A schema of its own on the server, dropped when this is dropped.
pub struct Schema {
    pub name: String,
    server: String,
}

impl Schema {
    pub fn create(server: &str, prefix: &str) -> Schema {
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        Pg::connect(server).query(&format!("CREATE SCHEMA {name}"));
        Schema {
            name,
            server: server.to_string(),
        }
    }

    /// `server` (or a proxy in front of it) with this schema as the search path.
    pub fn url_via(&self, server: &str) -> String {
        let separator = if server.contains('?') { '&' } else { '?' };
        format!(
            "{server}{separator}options=-c%20search_path%3D{}",
            self.name
        )
    }

    /// Bytes of every table and index in the schema.
    pub fn size(&self) -> i64 {
        Pg::connect(&self.server).number(&format!(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = '{}' AND c.relkind = 'r'",
            self.name
        ))
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        Pg::connect(&self.server).query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// Messages the proxied clients sent: `syncs` (an extended-protocol Sync or a simple Query:
/// each is one wait for the server, a round trip) and `executes` (statements run).
#[derive(Default)]
pub struct Counters {
    pub syncs: AtomicU64,
    pub executes: AtomicU64,
}

/// Listens on 127.0.0.1 and forwards every connection to `upstream` (`host:port`), counting
/// the client's messages. Returns the address to put in the URL instead of the server's.
pub fn proxy(upstream: &str) -> (String, Arc<Counters>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let addr = listener.local_addr().expect("addr").to_string();
    let counters: Arc<Counters> = Arc::default();
    let upstream = upstream.to_string();
    let shared = Arc::clone(&counters);
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (Ok(client_w), Ok(server_r)) = (client.try_clone(), server.try_clone()) else {
                continue;
            };
            let counters = Arc::clone(&shared);
            std::thread::spawn(move || pump_counting(client, server, &counters));
            std::thread::spawn(move || pump(server_r, client_w));
        }
    });
    (addr, counters)
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(std::net::Shutdown::Both);
}

/// Client to server: forwards every byte at once, and parses the frontend protocol on the
/// side (untyped start-up messages, then 1-byte type + 4-byte length messages).
fn pump_counting(mut from: TcpStream, mut to: TcpStream, counters: &Counters) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    let mut started = false;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        pending.extend_from_slice(&buf[..n]);
        let mut pos = 0;
        loop {
            let rest = &pending[pos..];
            if !started {
                if rest.len() < 8 {
                    break;
                }
                let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                if rest.len() < len || len < 8 {
                    break;
                }
                // Protocol 3.0's StartupMessage; before it may come an SSLRequest.
                if u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) == 196_608 {
                    started = true;
                }
                pos += len;
            } else {
                if rest.len() < 5 {
                    break;
                }
                let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
                if rest.len() < 1 + len {
                    break;
                }
                match rest[0] {
                    b'S' | b'Q' => {
                        counters.syncs.fetch_add(1, Ordering::Relaxed);
                    }
                    b'E' => {
                        counters.executes.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
                pos += 1 + len;
            }
        }
        pending.drain(..pos);
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}

/// CPU seconds (user + system) used so far by process `pid`.
pub fn cpu_seconds_of_pid(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| process_ticks(&stat) as f64 / 100.0)
        .unwrap_or(0.0)
}

fn process_ticks(stat: &str) -> u64 {
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}
