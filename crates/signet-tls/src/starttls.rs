//! The plaintext exchange that turns a mail or directory connection into TLS.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use serde::Serialize;

use crate::TlsTestError;

/// A protocol that upgrades to TLS in band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StartTls {
    /// SMTP STARTTLS (RFC 3207).
    Smtp,
    /// IMAP STARTTLS (RFC 9051 §6.2.1).
    Imap,
    /// POP3 STLS (RFC 2595 §4).
    Pop3,
    /// LDAP StartTLS extended operation (RFC 4511 §4.14).
    Ldap,
}

/// Longest line read from the server: a greeting or capability list, not a stream.
const MAX_LINE: usize = 16 * 1024;
/// Most lines of one answer.
const MAX_LINES: usize = 100;

/// LDAP ExtendedRequest for StartTLS (1.3.6.1.4.1.1466.20037), message id 1.
const LDAP_START_TLS: &[u8] = &[
    0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16, b'1', b'.', b'3', b'.', b'6', b'.', b'1',
    b'.', b'4', b'.', b'1', b'.', b'1', b'4', b'6', b'6', b'.', b'2', b'0', b'0', b'3', b'7',
];

impl StartTls {
    pub fn name(self) -> &'static str {
        match self {
            StartTls::Smtp => "smtp",
            StartTls::Imap => "imap",
            StartTls::Pop3 => "pop3",
            StartTls::Ldap => "ldap",
        }
    }

    /// Parses `smtp`, `imap`, `pop3` or `ldap`.
    pub fn parse(text: &str) -> Option<StartTls> {
        match text.to_ascii_lowercase().as_str() {
            "smtp" => Some(StartTls::Smtp),
            "imap" => Some(StartTls::Imap),
            "pop3" => Some(StartTls::Pop3),
            "ldap" => Some(StartTls::Ldap),
            _ => None,
        }
    }

    /// Runs the upgrade on a fresh connection.
    pub fn negotiate(self, stream: &mut TcpStream, deadline: Instant) -> Result<(), TlsTestError> {
        let refused = |said: String| TlsTestError::StartTls {
            protocol: self.name(),
            problem: said,
        };
        let io = |e: std::io::Error| TlsTestError::StartTls {
            protocol: self.name(),
            problem: e.to_string(),
        };
        match self {
            StartTls::Smtp => {
                let greeting = read_smtp_reply(stream, deadline).map_err(io)?;
                if !greeting.starts_with("220") {
                    return Err(refused(format!("greeting {}", first_line(&greeting))));
                }
                stream
                    .write_all(b"EHLO tls-test.signet.invalid\r\n")
                    .map_err(io)?;
                let capabilities = read_smtp_reply(stream, deadline).map_err(io)?;
                if !capabilities.to_ascii_uppercase().contains("STARTTLS") {
                    return Err(refused("the server does not offer STARTTLS".into()));
                }
                stream.write_all(b"STARTTLS\r\n").map_err(io)?;
                let answer = read_smtp_reply(stream, deadline).map_err(io)?;
                if !answer.starts_with("220") {
                    return Err(refused(format!(
                        "STARTTLS answered {}",
                        first_line(&answer)
                    )));
                }
            }
            StartTls::Imap => {
                let greeting = read_line(stream, deadline).map_err(io)?;
                if !greeting.starts_with("* OK") {
                    return Err(refused(format!("greeting {}", first_line(&greeting))));
                }
                stream.write_all(b"s1 STARTTLS\r\n").map_err(io)?;
                let mut ok = false;
                // Untagged lines may come first; a server that never stops sending them is no
                // IMAP server.
                for _ in 0..MAX_LINES {
                    let line = read_line(stream, deadline).map_err(io)?;
                    if line.starts_with("s1 OK") {
                        ok = true;
                        break;
                    }
                    if line.starts_with("s1 ") || line.is_empty() {
                        return Err(refused(format!("STARTTLS answered {}", first_line(&line))));
                    }
                }
                if !ok {
                    return Err(refused("STARTTLS was never answered".into()));
                }
            }
            StartTls::Pop3 => {
                let greeting = read_line(stream, deadline).map_err(io)?;
                if !greeting.starts_with("+OK") {
                    return Err(refused(format!("greeting {}", first_line(&greeting))));
                }
                stream.write_all(b"STLS\r\n").map_err(io)?;
                let answer = read_line(stream, deadline).map_err(io)?;
                if !answer.starts_with("+OK") {
                    return Err(refused(format!("STLS answered {}", first_line(&answer))));
                }
            }
            StartTls::Ldap => {
                stream.write_all(LDAP_START_TLS).map_err(io)?;
                let mut answer = [0u8; 512];
                let n = stream.read(&mut answer).map_err(io)?;
                // ExtendedResponse (0x78) whose resultCode (ENUMERATED, 0x0a 0x01) is success.
                let answer = &answer[..n];
                let success = answer
                    .windows(4)
                    .position(|w| w[0] == 0x78)
                    .and_then(|at| {
                        answer[at..]
                            .windows(3)
                            .find(|w| w[0] == 0x0a && w[1] == 0x01)
                            .map(|w| w[2] == 0)
                    })
                    .unwrap_or(false);
                if !success {
                    return Err(refused("the server refused the StartTLS operation".into()));
                }
            }
        }
        Ok(())
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.chars().filter(|c| !c.is_control()).take(120).collect()
}

/// One CRLF-terminated line, read byte by byte so that no TLS byte after it is consumed; a
/// server dripping bytes past the test's deadline is cut off.
fn read_line(stream: &mut TcpStream, deadline: Instant) -> std::io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < MAX_LINE {
        if Instant::now() >= deadline {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the server answers too slowly",
            ));
        }
        if stream.read(&mut byte)? == 0 {
            break;
        }
        line.push(byte[0]);
        if byte[0] == b'\n' {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// A whole SMTP reply: lines `250-...` continue, `250 ...` ends it.
fn read_smtp_reply(stream: &mut TcpStream, deadline: Instant) -> std::io::Result<String> {
    let mut reply = String::new();
    loop {
        let line = read_line(stream, deadline)?;
        let last = line.len() < 4 || line.as_bytes()[3] != b'-';
        reply.push_str(&line);
        if last || reply.len() > MAX_LINE {
            return Ok(reply);
        }
    }
}
