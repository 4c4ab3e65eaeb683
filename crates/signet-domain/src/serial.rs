//! Certificate serial numbers (R-CRT-4).

use std::fmt;
use std::str::FromStr;

use crate::Refusal;

/// How many random octets a new serial carries.
pub const SERIAL_ENTROPY_OCTETS: usize = 16;

/// A positive certificate serial number, as the minimal big-endian octets of a DER INTEGER.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(Vec<u8>);

impl Serial {
    /// Makes a serial from CSPRNG output: 16 octets whose top bit is cleared (positive) and whose
    /// second-highest bit is set (so the encoding is always exactly 16 octets). That keeps 126
    /// random bits, far above the 64 the Baseline Requirements ask for, and stays under 20 octets.
    pub fn from_entropy(mut entropy: [u8; SERIAL_ENTROPY_OCTETS]) -> Serial {
        entropy[0] = (entropy[0] & 0x7f) | 0x40;
        Serial(entropy.to_vec())
    }

    /// Accepts the content octets of a DER INTEGER that is positive and at most 20 octets.
    pub fn from_der_integer(octets: &[u8]) -> Result<Serial, Refusal> {
        let bad = || Refusal::InvalidSerial(hex_upper(octets));
        let first = *octets.first().ok_or_else(bad)?;
        if octets.len() > 20 || first & 0x80 != 0 {
            return Err(bad());
        }
        // Minimal encoding: a leading 0x00 only where the next octet has its top bit set.
        if first == 0 && octets.get(1).is_none_or(|b| b & 0x80 == 0) {
            return Err(bad());
        }
        Ok(Serial(octets.to_vec()))
    }

    /// The DER INTEGER content octets.
    pub fn as_der_integer(&self) -> &[u8] {
        &self.0
    }

    /// Upper-case hexadecimal without separators, the form used in the store and the CLI.
    pub fn to_hex(&self) -> String {
        hex_upper(&self.0)
    }
}

fn hex_upper(octets: &[u8]) -> String {
    octets.iter().map(|b| format!("{b:02X}")).collect()
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for Serial {
    type Err = Refusal;

    /// Parses hex as printed by Signet or openssl (`:` separators and a `0x` prefix are allowed).
    fn from_str(text: &str) -> Result<Serial, Refusal> {
        let bad = || Refusal::InvalidSerial(text.to_owned());
        let digits: String = text
            .trim()
            .trim_start_matches("0x")
            .chars()
            .filter(|c| *c != ':')
            .collect();
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let padded = if digits.len() % 2 == 1 {
            format!("0{digits}")
        } else {
            digits
        };
        let mut octets: Vec<u8> = (0..padded.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&padded[i..i + 2], 16).map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        // Strip redundant leading zeros, then re-add one if the top bit would read as negative.
        while octets.len() > 1 && octets[0] == 0 && octets[1] & 0x80 == 0 {
            octets.remove(0);
        }
        if octets[0] & 0x80 != 0 {
            octets.insert(0, 0);
        }
        if octets == [0] {
            return Err(bad());
        }
        Serial::from_der_integer(&octets).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_serials_are_positive_and_fixed_length() {
        for first in [0x00u8, 0x3f, 0x80, 0xff] {
            let mut e = [0xabu8; SERIAL_ENTROPY_OCTETS];
            e[0] = first;
            let s = Serial::from_entropy(e);
            assert_eq!(s.as_der_integer().len(), 16);
            assert_eq!(s.as_der_integer()[0] & 0xc0, 0x40);
            assert!(Serial::from_der_integer(s.as_der_integer()).is_ok());
        }
    }

    #[test]
    fn parses_hex_forms() {
        let s: Serial = "4a:BC:01".parse().expect("hex");
        assert_eq!(s.to_hex(), "4ABC01");
        let s: Serial = "0x00FF".parse().expect("hex");
        assert_eq!(s.as_der_integer(), &[0x00, 0xff]);
        for bad in ["", "zz", "0", "00", &"11".repeat(21)] {
            assert!(bad.parse::<Serial>().is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_negative_and_non_minimal() {
        assert!(Serial::from_der_integer(&[0x80]).is_err());
        assert!(Serial::from_der_integer(&[0x00, 0x01]).is_err());
        assert!(Serial::from_der_integer(&[]).is_err());
        assert!(Serial::from_der_integer(&[0x00, 0x80]).is_ok());
    }
}
