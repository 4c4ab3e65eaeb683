//! ClientHello messages built by hand, so that one probe can offer exactly the versions, suites
//! and groups it wants to learn about — including ones no maintained TLS library still sends.
//! Nothing after the hello needs keys: the server's answer up to ServerHelloDone (TLS 1.2 and
//! older) or its ServerHello (TLS 1.3) is plaintext.

use serde::Serialize;

/// A protocol version, with the names the report uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Version {
    #[serde(rename = "SSLv2")]
    Ssl2,
    #[serde(rename = "SSLv3")]
    Ssl3,
    #[serde(rename = "TLSv1.0")]
    Tls10,
    #[serde(rename = "TLSv1.1")]
    Tls11,
    #[serde(rename = "TLSv1.2")]
    Tls12,
    #[serde(rename = "TLSv1.3")]
    Tls13,
}

impl Version {
    /// Every version, oldest first.
    pub const ALL: [Version; 6] = [
        Version::Ssl2,
        Version::Ssl3,
        Version::Tls10,
        Version::Tls11,
        Version::Tls12,
        Version::Tls13,
    ];

    /// The name in reports: `SSLv3`, `TLSv1.2`, ...
    pub fn name(self) -> &'static str {
        match self {
            Version::Ssl2 => "SSLv2",
            Version::Ssl3 => "SSLv3",
            Version::Tls10 => "TLSv1.0",
            Version::Tls11 => "TLSv1.1",
            Version::Tls12 => "TLSv1.2",
            Version::Tls13 => "TLSv1.3",
        }
    }

    /// The version number on the wire (SSLv2 has its own record format).
    pub fn wire(self) -> u16 {
        match self {
            Version::Ssl2 => 0x0002,
            Version::Ssl3 => 0x0300,
            Version::Tls10 => 0x0301,
            Version::Tls11 => 0x0302,
            Version::Tls12 => 0x0303,
            Version::Tls13 => 0x0304,
        }
    }

    /// The version a wire number names.
    pub fn from_wire(wire: u16) -> Option<Version> {
        Version::ALL.into_iter().find(|v| v.wire() == wire)
    }
}

/// Named groups (RFC 8446 §4.2.7, RFC 8422, RFC 7919, and the hybrid post-quantum groups).
pub const GROUPS: &[(u16, &str, u16)] = &[
    // (id, name, strength in bits comparable to RSA: what the rating guide calls key size)
    (0x11ec, "X25519MLKEM768", 3072),
    (0x11eb, "SecP256r1MLKEM768", 3072),
    (0x11ed, "SecP384r1MLKEM1024", 7680),
    (29, "x25519", 3072),
    (30, "x448", 7680),
    (23, "secp256r1", 3072),
    (24, "secp384r1", 7680),
    (25, "secp521r1", 15360),
    (26, "brainpoolP256r1", 3072),
    (27, "brainpoolP384r1", 7680),
    (28, "brainpoolP512r1", 15360),
    (256, "ffdhe2048", 2048),
    (257, "ffdhe3072", 3072),
    (258, "ffdhe4096", 4096),
    (259, "ffdhe6144", 6144),
    (260, "ffdhe8192", 8192),
    (22, "secp256k1", 3072),
    (21, "secp224r1", 2048),
    (20, "secp224k1", 2048),
    (19, "secp192r1", 1536),
    (18, "secp192k1", 1536),
    (17, "secp160r2", 1024),
    (16, "secp160r1", 1024),
    (15, "secp160k1", 1024),
    (14, "sect571r1", 15360),
    (13, "sect571k1", 15360),
    (12, "sect409r1", 7680),
    (11, "sect409k1", 7680),
    (10, "sect283r1", 3072),
    (9, "sect283k1", 3072),
    (8, "sect239k1", 2048),
    (7, "sect233r1", 2048),
    (6, "sect233k1", 2048),
    (5, "sect193r2", 1536),
    (4, "sect193r1", 1536),
    (3, "sect163r2", 1024),
    (2, "sect163r1", 1024),
    (1, "sect163k1", 1024),
];

/// The name of a group, or its number.
pub fn group_name(id: u16) -> String {
    GROUPS
        .iter()
        .find(|g| g.0 == id)
        .map_or_else(|| format!("group 0x{id:04x}"), |g| g.1.to_owned())
}

/// The RSA-equivalent strength of a group, as the rating guide counts key exchange.
pub fn group_strength(id: u16) -> Option<u16> {
    GROUPS.iter().find(|g| g.0 == id).map(|g| g.2)
}

/// Groups that can be offered in TLS 1.3 (RFC 8446 removed the binary and small curves).
pub fn tls13_groups() -> Vec<u16> {
    GROUPS
        .iter()
        .map(|g| g.0)
        .filter(|&id| matches!(id, 23..=25 | 29 | 30 | 256..=260 | 0x11eb..=0x11ed))
        .collect()
}

/// Signature algorithms offered: everything, SHA-1 and PKCS#1 included, so that a server whose
/// only certificate needs them still answers and the report can say so.
const SIGNATURE_ALGORITHMS: &[u16] = &[
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080a, 0x080b, 0x0401,
    0x0501, 0x0601, 0x0203, 0x0201, 0x0402, 0x0502, 0x0602, 0x0202, 0x0303, 0x0301, 0x0302,
];

/// What one hello offers.
#[derive(Debug, Clone)]
pub struct Offer<'a> {
    pub version: Version,
    pub suites: &'a [u16],
    pub groups: &'a [u16],
    pub server_name: Option<&'a str>,
}

/// The TLS record carrying a ClientHello for `offer` (SSLv3 to TLS 1.3; see [`sslv2_hello`]).
pub fn client_hello(offer: &Offer<'_>, random: &[u8; 32]) -> Vec<u8> {
    let tls13 = offer.version == Version::Tls13;
    let legacy_version = if tls13 { 0x0303 } else { offer.version.wire() };
    let mut body = Vec::with_capacity(512);
    put_u16(&mut body, legacy_version);
    body.extend_from_slice(random);
    // A session id makes middleboxes treat the TLS 1.3 hello like a 1.2 one (RFC 8446 D.4).
    body.push(32);
    body.extend_from_slice(&random[..]);
    let mut suites = Vec::with_capacity(offer.suites.len() * 2 + 2);
    for &suite in offer.suites {
        put_u16(&mut suites, suite);
    }
    if !tls13 {
        // TLS_EMPTY_RENEGOTIATION_INFO_SCSV: asks for RFC 5746 secure renegotiation, also
        // from SSLv3 servers that do not read extensions.
        put_u16(&mut suites, 0x00ff);
    }
    put_vec16(&mut body, &suites);
    body.extend_from_slice(&[1, 0]); // compression: null only
    if offer.version != Version::Ssl3 {
        let extensions = extensions(offer);
        put_vec16(&mut body, &extensions);
    }
    let mut handshake = vec![1];
    put_u24(&mut handshake, body.len());
    handshake.extend_from_slice(&body);
    record(22, 0x0301, &handshake)
}

fn extensions(offer: &Offer<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    if let Some(name) = offer
        .server_name
        .filter(|n| n.parse::<std::net::IpAddr>().is_err())
    {
        let mut list = vec![0];
        put_vec16(&mut list, name.as_bytes());
        let mut ext = Vec::new();
        put_vec16(&mut ext, &list);
        extension(&mut out, 0, &ext);
    }
    // status_request: OCSP, no responder ids, no extensions — asks for a stapled response.
    extension(&mut out, 5, &[1, 0, 0, 0, 0]);
    let mut groups = Vec::new();
    for &group in offer.groups {
        put_u16(&mut groups, group);
    }
    let mut ext = Vec::new();
    put_vec16(&mut ext, &groups);
    extension(&mut out, 10, &ext);
    extension(&mut out, 11, &[1, 0]); // ec_point_formats: uncompressed
    if offer.version >= Version::Tls12 {
        let mut algorithms = Vec::new();
        for &algorithm in SIGNATURE_ALGORITHMS {
            put_u16(&mut algorithms, algorithm);
        }
        let mut ext = Vec::new();
        put_vec16(&mut ext, &algorithms);
        extension(&mut out, 13, &ext);
    }
    extension(&mut out, 23, &[]); // extended_master_secret
    if offer.version == Version::Tls13 {
        extension(&mut out, 43, &[2, 0x03, 0x04]); // supported_versions: TLS 1.3 only
        extension(&mut out, 45, &[1, 1]); // psk_key_exchange_modes: psk_dhe_ke
        // An empty key_share: the server must answer with a HelloRetryRequest naming the group
        // it prefers, which is all a probe needs and spares computing a share per group.
        extension(&mut out, 51, &[0, 0]);
    } else {
        extension(&mut out, 0xff01, &[0]); // renegotiation_info, initial handshake
    }
    out
}

/// An SSLv2 CLIENT-HELLO (draft-hickman-netscape-ssl-00 §B) offering its seven cipher kinds. A
/// server still speaking SSLv2 answers with a SERVER-HELLO listing the kinds it accepts.
pub fn sslv2_hello(challenge: &[u8; 16]) -> Vec<u8> {
    let mut body = vec![1]; // CLIENT-HELLO
    put_u16(&mut body, 0x0002);
    put_u16(&mut body, (SSLV2_CIPHERS.len() * 3) as u16);
    put_u16(&mut body, 0); // session id length
    put_u16(&mut body, challenge.len() as u16);
    for (kind, _) in SSLV2_CIPHERS {
        body.extend_from_slice(&kind.to_be_bytes()[1..]);
    }
    body.extend_from_slice(challenge);
    let mut out = vec![0x80 | ((body.len() >> 8) as u8), body.len() as u8];
    out.extend_from_slice(&body);
    out
}

/// SSLv2 cipher kinds, with the names OpenSSL and sslyze use.
pub const SSLV2_CIPHERS: [(u32, &str); 7] = [
    (0x010080, "SSL_CK_RC4_128_WITH_MD5"),
    (0x020080, "SSL_CK_RC4_128_EXPORT40_WITH_MD5"),
    (0x030080, "SSL_CK_RC2_128_CBC_WITH_MD5"),
    (0x040080, "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5"),
    (0x050080, "SSL_CK_IDEA_128_CBC_WITH_MD5"),
    (0x060040, "SSL_CK_DES_64_CBC_WITH_MD5"),
    (0x0700c0, "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"),
];

/// An empty client Certificate message in its own record: a server that requires a client
/// certificate refuses it at once; one that only asks waits for the key exchange.
pub fn empty_certificate(version: Version) -> Vec<u8> {
    record(22, version.wire(), &[11, 0, 0, 3, 0, 0, 0])
}

/// A TLS record of `content_type`.
pub fn record(content_type: u8, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 5);
    out.push(content_type);
    put_u16(&mut out, version);
    put_vec16(&mut out, payload);
    out
}

fn extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    put_u16(out, kind);
    put_vec16(out, data);
}

fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

fn put_u24(out: &mut Vec<u8>, value: usize) {
    out.extend_from_slice(&(value as u32).to_be_bytes()[1..]);
}

fn put_vec16(out: &mut Vec<u8>, data: &[u8]) {
    put_u16(out, data.len() as u16);
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls13_hello_parses_back_with_what_it_offers() {
        let offer = Offer {
            version: Version::Tls13,
            suites: &[0x1301, 0x1302],
            groups: &[29, 23],
            server_name: Some("example.org"),
        };
        let record = client_hello(&offer, &[7; 32]);
        let (rest, parsed) = tls_parser::parse_tls_plaintext(&record).expect("parses");
        assert!(rest.is_empty());
        let tls_parser::TlsMessage::Handshake(tls_parser::TlsMessageHandshake::ClientHello(hello)) =
            &parsed.msg[0]
        else {
            panic!("not a ClientHello: {parsed:?}");
        };
        assert_eq!(hello.version.0, 0x0303);
        let suites: Vec<u16> = hello.ciphers.iter().map(|c| c.0).collect();
        assert_eq!(suites, vec![0x1301, 0x1302]);
        let (_, extensions) =
            tls_parser::parse_tls_client_hello_extensions(hello.ext.unwrap()).expect("extensions");
        assert!(extensions.iter().any(|e| matches!(
            e,
            tls_parser::TlsExtension::SupportedVersions(v) if v == &[tls_parser::TlsVersion(0x0304)]
        )));
        assert!(extensions.iter().any(|e| matches!(
            e,
            tls_parser::TlsExtension::SNI(names) if names[0].1 == b"example.org"
        )));
    }

    #[test]
    fn an_ip_address_is_not_sent_as_a_server_name() {
        let offer = Offer {
            version: Version::Tls12,
            suites: &[0xc02f],
            groups: &[23],
            server_name: Some("127.0.0.1"),
        };
        let record = client_hello(&offer, &[1; 32]);
        assert!(!record.windows(9).any(|w| w == b"127.0.0.1"));
    }

    #[test]
    fn the_sslv2_hello_has_its_own_two_byte_header() {
        let hello = sslv2_hello(&[0; 16]);
        assert_eq!(hello[0] & 0x80, 0x80);
        assert_eq!(usize::from(hello[1]), hello.len() - 2);
        assert_eq!(hello[2], 1);
    }
}
