//! The OpenSSH one-line form (`ssh-rsa AAAA… comment`) that tokenleader's
//! `client_configs.yml` carries as `tl_public_key`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{KeyError, PublicKey};

impl PublicKey {
    /// Loads the OpenSSH one-line form that tokenleader's `client_configs.yml` carries as
    /// `tl_public_key`: `ssh-rsa AAAA… comment`.
    ///
    /// Refused: other key types, more than one key, and bytes after the key in its blob.
    pub fn from_openssh(line: &str) -> Result<Self, KeyError> {
        let openssh = |message: &str| KeyError::format("OpenSSH", message);
        let mut lines = line.lines().map(str::trim).filter(|l| !l.is_empty());
        let line = lines.next().ok_or_else(|| openssh("the input is empty"))?;
        if lines.next().is_some() {
            return Err(openssh("more than one line: give exactly one key"));
        }
        let mut words = line.split_ascii_whitespace();
        let key_type = words.next().unwrap_or_default();
        let looks_like_a_key_type = ["ssh-", "ecdsa-", "sk-"]
            .iter()
            .any(|prefix| key_type.starts_with(prefix));
        if !looks_like_a_key_type {
            return Err(openssh(
                "not an OpenSSH public key line (`ssh-rsa AAAA… comment`)",
            ));
        }
        if key_type != "ssh-rsa" {
            return Err(KeyError::NotRsa(key_type.chars().take(40).collect()));
        }
        let blob = words
            .next()
            .ok_or_else(|| openssh("no key data after `ssh-rsa`"))?;
        // The comment is free text, but a second key type in it means two keys were pasted
        // into one line, which is almost certainly a mistake.
        if words.any(|w| w.starts_with("ssh-") || w.starts_with("ecdsa-") || w.starts_with("sk-")) {
            return Err(openssh(
                "more than one key on the line: give exactly one key",
            ));
        }
        let blob = STANDARD
            .decode(blob)
            .map_err(|e| openssh(&format!("key data is not valid base64: {e}")))?;
        let (e, n) = read_rsa_blob(&blob).map_err(openssh)?;
        Self::from_rsa_components(n, e)
    }
}

/// The exponent and modulus of an `ssh-rsa` key blob.
fn read_rsa_blob(blob: &[u8]) -> Result<(&[u8], &[u8]), &'static str> {
    let mut reader = SshReader(blob);
    let blob_type = reader.string().ok_or("key data is truncated")?;
    if blob_type != b"ssh-rsa" {
        return Err("key data does not hold an ssh-rsa key");
    }
    let e = reader.mpint().ok_or("key data is truncated")?;
    let n = reader.mpint().ok_or("key data is truncated")?;
    if !reader.0.is_empty() {
        return Err("trailing bytes after the key data");
    }
    Ok((e, n))
}

/// Reads the SSH wire format (RFC 4251): length-prefixed strings and mpints.
struct SshReader<'a>(&'a [u8]);

impl<'a> SshReader<'a> {
    fn string(&mut self) -> Option<&'a [u8]> {
        let (len, rest) = self.0.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        if rest.len() < len {
            return None;
        }
        let (value, rest) = rest.split_at(len);
        self.0 = rest;
        Some(value)
    }

    /// A non-negative mpint; a negative one (high bit set) is refused.
    fn mpint(&mut self) -> Option<&'a [u8]> {
        let value = self.string()?;
        match value.first() {
            Some(top) if top & 0x80 != 0 => None,
            _ => Some(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(bytes: &[u8]) -> Vec<u8> {
        let mut out = (bytes.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn reads_strings_and_stops_at_truncation() {
        let mut blob = string(b"ssh-rsa");
        blob.extend(string(&[1, 0, 1]));
        let mut reader = SshReader(&blob);
        assert_eq!(reader.string(), Some(&b"ssh-rsa"[..]));
        assert_eq!(reader.mpint(), Some(&[1, 0, 1][..]));
        assert_eq!(reader.string(), None);
        assert_eq!(SshReader(&[0, 0, 0, 9, 1]).string(), None);
        assert_eq!(SshReader(&[0, 0]).string(), None);
    }

    #[test]
    fn a_negative_mpint_is_refused() {
        let blob = string(&[0x80, 1]);
        assert_eq!(SshReader(&blob).mpint(), None);
    }

    #[test]
    fn an_rsa_blob_with_trailing_bytes_or_another_type_is_refused() {
        let mut blob = string(b"ssh-rsa");
        blob.extend(string(&[3]));
        blob.extend(string(&[0, 0xc5]));
        assert_eq!(read_rsa_blob(&blob), Ok((&[3][..], &[0, 0xc5][..])));
        let mut trailing = blob.clone();
        trailing.push(0);
        assert_eq!(
            read_rsa_blob(&trailing),
            Err("trailing bytes after the key data")
        );
        let mut other = string(b"ssh-ed25519");
        other.extend(string(&[3]));
        assert_eq!(
            read_rsa_blob(&other),
            Err("key data does not hold an ssh-rsa key")
        );
    }
}
