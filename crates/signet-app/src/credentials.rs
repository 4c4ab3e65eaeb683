//! Password hashing (Argon2id) and mailed tokens (≥ 128 random bits, stored only as a hash).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use signet_domain::credentials::OrderNumber;

use crate::AppError;

fn random<const N: usize>() -> Result<[u8; N], AppError> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| AppError::Internal("the system CSPRNG failed".into()))?;
    Ok(bytes)
}

/// Argon2id with the crate's defaults (OWASP: m = 19 MiB, t = 2, p = 1), as a PHC string.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt =
        SaltString::encode_b64(&random::<16>()?).map_err(|e| AppError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing: {e}")))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A new token (256 random bits, URL-safe) and the hash under which it is stored.
pub fn new_token() -> Result<(String, String), AppError> {
    let token = URL_SAFE_NO_PAD.encode(random::<32>()?);
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// Tokens are high-entropy, so a plain SHA-256 suffices to keep the stored form useless.
pub fn token_hash(token: &str) -> String {
    hex::encode(crate::sha256(token.as_bytes()))
}

/// 50 random bits for an order number.
pub fn order_number() -> Result<OrderNumber, AppError> {
    let mut e = random::<7>()?;
    e[0] &= 0x03;
    Ok(OrderNumber::generate(e))
}

/// A PKCS#12 password: 20 characters from 62 (≈ 119 bits), per S/MIME BRs §6.1.2 (≥ 112 bits).
pub fn pkcs12_password() -> Result<String, AppError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(20);
    while out.len() < 20 {
        for b in random::<32>()? {
            // Rejection sampling keeps the distribution uniform: 248 = 4 × 62.
            if b < 248 && out.len() < 20 {
                out.push(ALPHABET[usize::from(b % 62)] as char);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_and_passwords_are_random() {
        let (a, ha) = new_token().expect("token");
        let (b, _) = new_token().expect("token");
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a), ha);
        let p = pkcs12_password().expect("password");
        assert_eq!(p.len(), 20);
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
