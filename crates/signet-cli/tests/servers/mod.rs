//! Real servers for tests that connect to them: a process that is killed when dropped, started
//! and waited for until it listens, and a test PKI made with openssl (a root, an intermediate,
//! leaves for localhost, an expired one, RSA-1024, a self-signed one, sixty client CAs).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::ok;

/// A server process, killed when dropped.
pub struct Process {
    pub child: Child,
    pub what: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether something listens on TCP `port` of this machine, read from /proc without connecting
/// (OpenSSL 3.0's `openssl ocsp` responder spins forever on a connection closed unasked).
pub fn listening(port: u16) -> bool {
    let hex = format!(":{port:04X} ");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table)
            .unwrap_or_default()
            .lines()
            .any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.len() > 3 && format!("{} ", fields[1]).ends_with(&hex) && fields[3] == "0A"
            })
    })
}

/// Whether something listens on TCP `ip`:`port` itself (not on another address of the port).
pub fn listening_on(ip: std::net::Ipv4Addr, port: u16) -> bool {
    let local = format!("{:08X}:{port:04X}", u32::from_le_bytes(ip.octets()));
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap_or_default()
        .lines()
        .any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 3 && fields[1] == local && fields[3] == "0A"
        })
}

/// Starts `command` and waits until it listens on `ip`:`port`.
pub fn serve_on(what: &str, command: &mut Command, ip: std::net::Ipv4Addr, port: u16) -> Process {
    start(what, command, &|| listening_on(ip, port))
}

/// Starts `command` and waits until `port` accepts connections.
pub fn serve(what: &str, command: &mut Command, port: u16) -> Process {
    start(what, command, &|| listening(port))
}

fn start(what: &str, command: &mut Command, ready: &dyn Fn() -> bool) -> Process {
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{what}: cannot start {command:?}: {e} (scripts/test installs it)")
        });
    let mut process = Process {
        child,
        what: what.to_owned(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        let exited = process.child.try_wait().expect("status");
        assert!(
            exited.is_none() && Instant::now() < deadline,
            "{}: did not start listening ({exited:?})",
            process.what
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    process
}

/// Debian's nginx in one process (killing it leaves no worker holding the port), its files in
/// `prefix`, serving the `http` block's content (servers, upstreams) on `ip`:`port`.
pub fn nginx(prefix: &Path, http: &str, ip: std::net::Ipv4Addr, port: u16) -> Process {
    std::fs::create_dir_all(prefix.join("tmp")).expect("nginx prefix");
    let p = prefix.display();
    std::fs::write(
        prefix.join("nginx.conf"),
        format!(
            "worker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/error.log;\nevents {{ worker_connections 1024; }}\n\
             http {{ access_log off; client_body_temp_path {p}/tmp/body; proxy_temp_path {p}/tmp/proxy;\n\
             fastcgi_temp_path {p}/tmp/fastcgi; uwsgi_temp_path {p}/tmp/uwsgi; scgi_temp_path {p}/tmp/scgi;\n\
             {http} }}\n"
        ),
    )
    .expect("nginx.conf");
    serve_on(
        "nginx",
        Command::new("/usr/sbin/nginx")
            .arg("-p")
            .arg(prefix)
            .arg("-e")
            .arg(prefix.join("error.log"))
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .args(["-g", "daemon off; master_process off;"]),
        ip,
        port,
    )
}

/// The test PKI, made with openssl: a root, an intermediate, and leaves for localhost.
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn openssl(&self, args: &[&str]) {
        ok(Command::new("openssl").current_dir(&self.dir).args(args));
    }

    pub fn new(dir: &Path) -> Pki {
        let pki = Pki {
            dir: dir.to_owned(),
        };
        std::fs::write(
            dir.join("ca.cnf"),
            "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n\
             default_md = sha256\ndefault_crl_days = 7\ncrl_extensions = crl_ext\npolicy = p\ncopy_extensions = copy\nunique_subject = no\n\
             [p]\ncommonName = supplied\n[crl_ext]\nauthorityKeyIdentifier = keyid\n\
             [ca_ext]\nbasicConstraints = critical,CA:true\nkeyUsage = critical,keyCertSign,cRLSign\n\
             subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n\
             [leaf_ext]\nbasicConstraints = critical,CA:false\nkeyUsage = critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost,IP:127.0.0.1\n\
             subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
        )
        .expect("ca.cnf");
        std::fs::write(dir.join("index.txt"), "").expect("index");
        std::fs::write(dir.join("serial"), "1000\n").expect("serial");
        pki.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-days",
            "3650",
            "-subj",
            "/O=TLS Test/CN=TLS Test Root",
            "-addext",
            "basicConstraints=critical,CA:true",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        pki.openssl(&[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "inter.key",
            "-out",
            "inter.csr",
            "-subj",
            "/O=TLS Test/CN=TLS Test Intermediate",
        ]);
        pki.sign("inter", "root", "ca_ext", None);
        pki.leaf("leaf", "rsa:2048", None);
        pki.leaf(
            "expired",
            "rsa:2048",
            Some(("20240101000000Z", "20250101000000Z")),
        );
        pki.leaf("rsa1024", "rsa:1024", None);
        for leaf in ["leaf", "expired", "rsa1024"] {
            let mut chain = std::fs::read(pki.path(&format!("{leaf}.pem"))).expect("leaf");
            chain.extend(std::fs::read(pki.path("inter.pem")).expect("inter"));
            std::fs::write(pki.path(&format!("{leaf}-chain.pem")), chain).expect("chain");
        }
        pki.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "self.key",
            "-out",
            "self.pem",
            "-days",
            "30",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]);
        // Sixty client CAs, for a server that sends a long list of acceptable issuers.
        let mut many = Vec::new();
        for i in 0..60 {
            let out = ok(Command::new("openssl")
                .current_dir(dir)
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                ])
                .args(["-nodes", "-keyout", "/dev/null", "-days", "30", "-subj"])
                .arg(format!("/O=Partner {i}/CN=Partner {i} Client CA")));
            many.extend(out.stdout);
        }
        std::fs::write(dir.join("cas60.pem"), many).expect("cas60");
        pki
    }

    pub fn sign(&self, name: &str, issuer: &str, extensions: &str, dates: Option<(&str, &str)>) {
        self.sign_with(name, issuer, extensions, dates, "sha256");
    }

    /// [`Pki::sign`] with another digest (`sha1` for a certificate browsers refuse).
    pub fn sign_with(
        &self,
        name: &str,
        issuer: &str,
        extensions: &str,
        dates: Option<(&str, &str)>,
        digest: &str,
    ) {
        let (cert, key) = (format!("{issuer}.pem"), format!("{issuer}.key"));
        let (csr, out) = (format!("{name}.csr"), format!("{name}.pem"));
        let mut args = vec![
            "ca",
            "-batch",
            "-notext",
            "-config",
            "ca.cnf",
            "-cert",
            &cert,
            "-keyfile",
            &key,
            "-in",
            &csr,
            "-out",
            &out,
            "-extensions",
            extensions,
            "-extfile",
            "ca.cnf",
            "-md",
            digest,
        ];
        match dates {
            Some((start, end)) => args.extend(["-startdate", start, "-enddate", end]),
            None => args.extend(["-days", "90"]),
        }
        self.openssl(&args);
    }

    pub fn leaf(&self, name: &str, key: &str, dates: Option<(&str, &str)>) {
        self.request(name, &[key], "/CN=localhost");
        self.sign(name, "inter", "leaf_ext", dates);
    }

    /// A new key `NAME.key` and its request `NAME.csr`; `key` as `-newkey` takes it (`rsa:2048`,
    /// or `ec` with its `-pkeyopt`).
    pub fn request(&self, name: &str, key: &[&str], subject: &str) {
        let (key_file, csr) = (format!("{name}.key"), format!("{name}.csr"));
        let mut args = vec!["req", "-new", "-newkey"];
        args.extend(key);
        args.extend([
            "-nodes", "-keyout", &key_file, "-out", &csr, "-subj", subject,
        ]);
        self.openssl(&args);
    }

    /// Revokes `NAME.pem` in the intermediate's database.
    pub fn revoke(&self, name: &str) {
        let cert = format!("{name}.pem");
        self.openssl(&[
            "ca",
            "-config",
            "ca.cnf",
            "-cert",
            "inter.pem",
            "-keyfile",
            "inter.key",
            "-revoke",
            &cert,
        ]);
    }

    /// Signs the intermediate's CRL (v2, seven days): `inter.crl.pem` and `inter.crl` (DER).
    pub fn publish_crl(&self) {
        self.openssl(&[
            "ca",
            "-gencrl",
            "-config",
            "ca.cnf",
            "-cert",
            "inter.pem",
            "-keyfile",
            "inter.key",
            "-out",
            "inter.crl.pem",
        ]);
        self.openssl(&[
            "crl",
            "-in",
            "inter.crl.pem",
            "-outform",
            "DER",
            "-out",
            "inter.crl",
        ]);
    }
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
