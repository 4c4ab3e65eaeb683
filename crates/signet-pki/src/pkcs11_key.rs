//! CA keys inside a PKCS#11 token (an HSM; SoftHSM2 in tests). Keys are generated in the token
//! as sensitive and non-extractable, and every signature is made there.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use aws_lc_rs::digest;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use der::asn1::{Any, BitString, OctetString, UintRef};
use der::{Decode, Encode, Sequence};
use signet_domain::key::CaKeyAlgorithm;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::PkiError;
use crate::keys::KeyBackend;

/// PKCS#11 allows one initialisation per process and module; share it.
fn context(module: &Path) -> Result<Pkcs11, PkiError> {
    static CONTEXTS: OnceLock<Mutex<Vec<(PathBuf, Pkcs11)>>> = OnceLock::new();
    let mut contexts = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| PkiError::Pkcs11("lock poisoned".into()))?;
    if let Some((_, ctx)) = contexts.iter().find(|(p, _)| p == module) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(module)
        .map_err(|e| PkiError::Pkcs11(format!("cannot load module {}: {e}", module.display())))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(e.into()),
    }
    contexts.push((module.to_owned(), ctx.clone()));
    Ok(ctx)
}

/// A token, found by label, with the user PIN to log in.
pub struct Pkcs11Token {
    ctx: Pkcs11,
    slot: Slot,
    pin: String,
    label: String,
}

impl std::fmt::Debug for Pkcs11Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Token")
            .field("label", &self.label)
            .field("pin", &"<redacted>")
            .finish()
    }
}

impl Pkcs11Token {
    /// Loads the PKCS#11 module (once per process) and finds the initialized token labelled
    /// `token_label`. The PIN is kept to log in to each session; it is checked at the first use,
    /// not here.
    pub fn open(module: &Path, token_label: &str, pin: &str) -> Result<Pkcs11Token, PkiError> {
        let ctx = context(module)?;
        for slot in ctx.get_slots_with_initialized_token()? {
            if ctx.get_token_info(slot)?.label().trim_end() == token_label {
                return Ok(Pkcs11Token {
                    ctx,
                    slot,
                    pin: pin.to_owned(),
                    label: token_label.to_owned(),
                });
            }
        }
        Err(PkiError::Pkcs11(format!(
            "no initialized token labelled `{token_label}` in {}; create it first (e.g. softhsm2-util --init-token --free --label {token_label})",
            module.display()
        )))
    }

    fn session(&self) -> Result<Session, PkiError> {
        let session = self.ctx.open_rw_session(self.slot)?;
        match session.login(UserType::User, Some(&AuthPin::from(self.pin.clone()))) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => Err(PkiError::Pkcs11(format!(
                "wrong PIN for token `{}`",
                self.label
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Generates a key pair in the token under `label`; refuses if one exists already.
    pub fn generate(&self, label: &str, algorithm: CaKeyAlgorithm) -> Result<Pkcs11Key, PkiError> {
        let session = self.session()?;
        if !session
            .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])?
            .is_empty()
        {
            return Err(PkiError::Pkcs11(format!(
                "the token already holds a key labelled `{label}`; refusing to replace it"
            )));
        }
        let id = label.as_bytes().to_vec();
        let common = |private: bool| {
            vec![
                Attribute::Token(true),
                Attribute::Private(private),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.clone()),
            ]
        };
        let mut public = common(false);
        public.push(Attribute::Verify(true));
        let mut private = common(true);
        private.extend([
            Attribute::Sign(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
        ]);
        let mechanism = match algorithm {
            CaKeyAlgorithm::EcP256 | CaKeyAlgorithm::EcP384 => {
                public.push(Attribute::EcParams(curve_oid(algorithm).to_der()?));
                Mechanism::EccKeyPairGen
            }
            CaKeyAlgorithm::Rsa4096 => {
                public.push(Attribute::ModulusBits(4096.into()));
                public.push(Attribute::PublicExponent(vec![0x01, 0x00, 0x01]));
                Mechanism::RsaPkcsKeyPairGen
            }
        };
        let (public_handle, private_handle) =
            session.generate_key_pair(&mechanism, &public, &private)?;
        let spki = read_spki(&session, public_handle, algorithm)?;
        Ok(Pkcs11Key {
            session: Mutex::new(session),
            private: private_handle,
            algorithm,
            spki,
            label: label.to_owned(),
        })
    }

    /// Finds the key pair labelled `label`.
    pub fn find(&self, label: &str, algorithm: CaKeyAlgorithm) -> Result<Pkcs11Key, PkiError> {
        let session = self.session()?;
        let find = |class| -> Result<ObjectHandle, PkiError> {
            let found = session.find_objects(&[
                Attribute::Class(class),
                Attribute::Label(label.as_bytes().to_vec()),
            ])?;
            match found.as_slice() {
                [one] => Ok(*one),
                [] => Err(PkiError::Pkcs11(format!(
                    "token `{}` holds no key labelled `{label}`",
                    self.label
                ))),
                _ => Err(PkiError::Pkcs11(format!(
                    "token `{}` holds several keys labelled `{label}`",
                    self.label
                ))),
            }
        };
        let private = find(ObjectClass::PRIVATE_KEY)?;
        let public = find(ObjectClass::PUBLIC_KEY)?;
        let key_type = session.get_attributes(private, &[AttributeType::KeyType])?;
        let expected = if algorithm == CaKeyAlgorithm::Rsa4096 {
            KeyType::RSA
        } else {
            KeyType::EC
        };
        if !key_type
            .iter()
            .any(|a| matches!(a, Attribute::KeyType(t) if *t == expected))
        {
            return Err(PkiError::Pkcs11(format!(
                "key `{label}` is not a {algorithm} key"
            )));
        }
        let spki = read_spki(&session, public, algorithm)?;
        Ok(Pkcs11Key {
            session: Mutex::new(session),
            private,
            algorithm,
            spki,
            label: label.to_owned(),
        })
    }
}

fn curve_oid(algorithm: CaKeyAlgorithm) -> ObjectIdentifier {
    if algorithm == CaKeyAlgorithm::EcP256 {
        SECP_256_R_1
    } else {
        SECP_384_R_1
    }
}

fn read_spki(
    session: &Session,
    public: ObjectHandle,
    algorithm: CaKeyAlgorithm,
) -> Result<Vec<u8>, PkiError> {
    let spki = match algorithm {
        CaKeyAlgorithm::EcP256 | CaKeyAlgorithm::EcP384 => {
            let attrs = session.get_attributes(public, &[AttributeType::EcPoint])?;
            let point = attrs
                .into_iter()
                .find_map(|a| {
                    if let Attribute::EcPoint(p) = a {
                        Some(p)
                    } else {
                        None
                    }
                })
                .ok_or_else(|| PkiError::Pkcs11("the token returned no EC point".into()))?;
            // CKA_EC_POINT is a DER OCTET STRING around the point (some tokens omit the wrapper).
            let point = OctetString::from_der(&point)
                .map(|o| o.into_bytes().into_vec())
                .unwrap_or(point);
            SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: ID_EC_PUBLIC_KEY,
                    parameters: Some(Any::encode_from(&curve_oid(algorithm))?),
                },
                subject_public_key: BitString::from_bytes(&point)?,
            }
        }
        CaKeyAlgorithm::Rsa4096 => {
            let attrs = session.get_attributes(
                public,
                &[AttributeType::Modulus, AttributeType::PublicExponent],
            )?;
            let (mut n, mut e) = (None, None);
            for a in attrs {
                match a {
                    Attribute::Modulus(v) => n = Some(v),
                    Attribute::PublicExponent(v) => e = Some(v),
                    _ => {}
                }
            }
            let (n, e) = n
                .zip(e)
                .ok_or_else(|| PkiError::Pkcs11("the token returned no RSA public key".into()))?;
            let rsa = RsaPublicKey {
                modulus: UintRef::new(&n)?,
                public_exponent: UintRef::new(&e)?,
            }
            .to_der()?;
            SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: RSA_ENCRYPTION,
                    parameters: Some(Any::null()),
                },
                subject_public_key: BitString::from_bytes(&rsa)?,
            }
        }
    };
    Ok(spki.to_der()?)
}

#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

#[derive(Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// A key that lives in the token; this handle signs with it.
pub struct Pkcs11Key {
    // A cryptoki session is `Send` but not `Sync`: one signature at a time per key handle.
    session: Mutex<Session>,
    private: ObjectHandle,
    algorithm: CaKeyAlgorithm,
    spki: Vec<u8>,
    label: String,
}

impl std::fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("label", &self.label)
            .field("algorithm", &self.algorithm)
            .finish()
    }
}

impl KeyBackend for Pkcs11Key {
    fn algorithm(&self) -> CaKeyAlgorithm {
        self.algorithm
    }

    fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        let session = self
            .session
            .lock()
            .map_err(|_| PkiError::Pkcs11("session lock poisoned".into()))?;
        match self.algorithm {
            CaKeyAlgorithm::Rsa4096 => {
                Ok(session.sign(&Mechanism::Sha256RsaPkcs, self.private, message)?)
            }
            CaKeyAlgorithm::EcP256 | CaKeyAlgorithm::EcP384 => {
                // SoftHSM 2.6 has no CKM_ECDSA_SHA384: hash here, sign the digest with CKM_ECDSA.
                let hash = if self.algorithm == CaKeyAlgorithm::EcP256 {
                    &digest::SHA256
                } else {
                    &digest::SHA384
                };
                let digest = digest::digest(hash, message);
                let raw = session.sign(&Mechanism::Ecdsa, self.private, digest.as_ref())?;
                if raw.len() % 2 != 0 || raw.is_empty() {
                    return Err(PkiError::Pkcs11(format!(
                        "unexpected ECDSA signature length {}",
                        raw.len()
                    )));
                }
                let (r, s) = raw.split_at(raw.len() / 2);
                Ok(EcdsaSigValue {
                    r: UintRef::new(r)?,
                    s: UintRef::new(s)?,
                }
                .to_der()?)
            }
        }
    }
}
