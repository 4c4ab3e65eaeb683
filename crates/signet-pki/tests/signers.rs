//! One conformance suite for every CA key backend: encrypted key files and a PKCS#11 token
//! (SoftHSM2). Each backend, for each CA key algorithm, must name its algorithm, publish a
//! public key of that algorithm, sign so that openssl verifies (and refuses another message),
//! and come back from storage as the same key.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use signet_domain::key::CaKeyAlgorithm;
use signet_pki::file_key::FileKey;
use signet_pki::keys::{CaSigner, KeyBackend};
use signet_pki::pkcs11_key::Pkcs11Token;

const ALGORITHMS: [CaKeyAlgorithm; 3] = [
    CaKeyAlgorithm::EcP256,
    CaKeyAlgorithm::EcP384,
    CaKeyAlgorithm::Rsa4096,
];
const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "84271923";

fn openssl(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed")
}

/// What every backend promises; `again` is the same key as storage gives it back.
fn conformance(
    what: &str,
    key: &dyn KeyBackend,
    again: &dyn KeyBackend,
    algorithm: CaKeyAlgorithm,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    assert_eq!(key.algorithm(), algorithm, "{what}");
    assert_eq!(
        key.public_key_der(),
        again.public_key_der(),
        "{what}: reopened"
    );

    // The public key is of the algorithm asked for, as openssl reads it.
    std::fs::write(d.join("pub.der"), key.public_key_der()).expect("write");
    let described = openssl(
        &[
            "pkey", "-pubin", "-inform", "DER", "-in", "pub.der", "-text", "-noout",
        ],
        d,
    );
    let text = String::from_utf8_lossy(&described.stdout);
    let expected = match algorithm {
        CaKeyAlgorithm::EcP256 => "prime256v1",
        CaKeyAlgorithm::EcP384 => "secp384r1",
        CaKeyAlgorithm::Rsa4096 => "4096 bit",
    };
    assert!(text.contains(expected), "{what}: {text}");
    let pem = openssl(
        &[
            "pkey", "-pubin", "-inform", "DER", "-in", "pub.der", "-out", "pub.pem",
        ],
        d,
    );
    assert!(pem.status.success(), "{what}");

    // Signatures verify with openssl, by the key and by the reopened key, with the digest the
    // signature algorithm names; another message does not verify.
    let digest = match algorithm {
        CaKeyAlgorithm::EcP384 => "-sha384",
        CaKeyAlgorithm::EcP256 | CaKeyAlgorithm::Rsa4096 => "-sha256",
    };
    let message = b"tbsCertificate stand-in: Signet signer conformance";
    std::fs::write(d.join("message"), message).expect("write");
    std::fs::write(d.join("other"), b"another message").expect("write");
    for (n, signer) in [key, again].into_iter().enumerate() {
        let signature = signer.sign(message).expect("sign");
        let file = format!("sig{n}");
        std::fs::write(d.join(&file), &signature).expect("write");
        let good = openssl(
            &[
                "dgst",
                digest,
                "-verify",
                "pub.pem",
                "-signature",
                &file,
                "message",
            ],
            d,
        );
        assert!(
            good.status.success(),
            "{what}: openssl rejects the signature: {}",
            String::from_utf8_lossy(&good.stdout)
        );
        let bad = openssl(
            &[
                "dgst",
                digest,
                "-verify",
                "pub.pem",
                "-signature",
                &file,
                "other",
            ],
            d,
        );
        assert!(
            !bad.status.success(),
            "{what}: a signature verifies another message"
        );
    }

    // The builder's view of the key agrees with the backend's.
    let shared: Arc<dyn KeyBackend> = Arc::new(Echo(key.public_key_der().to_vec(), algorithm));
    let signer = CaSigner::new(shared).expect("signer");
    assert_eq!(signer.algorithm(), algorithm);
}

/// A backend that only reports a public key, for `CaSigner::new`'s parsing.
#[derive(Debug)]
struct Echo(Vec<u8>, CaKeyAlgorithm);

impl KeyBackend for Echo {
    fn algorithm(&self) -> CaKeyAlgorithm {
        self.1
    }
    fn public_key_der(&self) -> &[u8] {
        &self.0
    }
    fn sign(&self, _: &[u8]) -> Result<Vec<u8>, signet_pki::PkiError> {
        unreachable!("not used")
    }
}

#[test]
fn encrypted_key_files() {
    let passphrase = b"a passphrase for the conformance suite";
    for algorithm in ALGORITHMS {
        let (key, pem) = FileKey::generate(algorithm, passphrase).expect("generate");
        let again = FileKey::from_encrypted_pem(algorithm, &pem, passphrase).expect("reopen");
        conformance(&format!("file {algorithm}"), &key, &again, algorithm);
        // The file is encrypted: the wrong passphrase opens nothing.
        assert!(FileKey::from_encrypted_pem(algorithm, &pem, b"wrong").is_err());
        assert!(!pem.contains("BEGIN PRIVATE KEY"), "{pem}");
    }
}

/// SoftHSM2 reads its configuration from the environment when the module loads, so the token
/// half runs in a child process of this test binary with `SOFTHSM2_CONF` set.
#[test]
fn pkcs11_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens = dir.path().join("tokens");
    std::fs::create_dir_all(&tokens).expect("token dir");
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .expect("conf");
    let init = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--init-token",
            "--free",
            "--label",
            "signers",
            "--so-pin",
            "1234567890",
            "--pin",
            PIN,
        ])
        .output()
        .expect("softhsm2-util must be installed (package softhsm2)");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "pkcs11_token_in_child",
            "--ignored",
            "--nocapture",
        ])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("child");
    let out = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success() && out.contains("1 passed"),
        "{out}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
}

#[test]
#[ignore = "run by pkcs11_token with SOFTHSM2_CONF set"]
fn pkcs11_token_in_child() {
    assert!(
        std::env::var_os("SOFTHSM2_CONF").is_some(),
        "run through pkcs11_token"
    );
    // The PIN is checked at first use; in a process that has not logged in yet (PKCS#11 keeps
    // one log-in per process and token), a wrong one is refused with a message naming it.
    let wrong = Pkcs11Token::open(Path::new(SOFTHSM), "signers", "00000000").expect("module");
    let err = wrong
        .generate("never", CaKeyAlgorithm::EcP256)
        .expect_err("wrong PIN");
    assert!(err.to_string().contains("wrong PIN"), "{err}");
    assert!(Pkcs11Token::open(Path::new(SOFTHSM), "no-such-token", PIN).is_err());
    let token = Pkcs11Token::open(Path::new(SOFTHSM), "signers", PIN).expect("open token");
    for algorithm in ALGORITHMS {
        let label = format!("conformance-{algorithm}");
        let key = token
            .generate(&label, algorithm)
            .expect("generate on the token");
        let again = token.find(&label, algorithm).expect("find by label");
        conformance(&format!("PKCS#11 {algorithm}"), &key, &again, algorithm);
        assert!(token.find("no-such-key", algorithm).is_err());
    }
}
