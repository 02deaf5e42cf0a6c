//! Sprig's password and random-bytes functions: `htpasswd` (bcrypt as Go's
//! `bcrypt.GenerateFromPassword` at the default cost 10, `$2a$`) and `randBytes`.

use base64::Engine;

use super::{Arity::Exact, P, Table, def};
use crate::value::Value;

/// `randBytes` refuses more than this (Go would allocate whatever is asked).
const MAX_RAND_BYTES: i64 = 1 << 20;

/// AES-256 key from a password as Sprig makes it: the password's bytes,
/// truncated or zero-padded to 32.
fn aes_key(password: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    key
}

/// Sprig's `encryptAES`: AES-256-CBC, PKCS #7 padding, a random IV in front,
/// standard base64.
fn encrypt_aes(password: &str, plaintext: &str) -> Result<String, String> {
    use cbc::cipher::{BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
    if plaintext.is_empty() {
        return Ok(String::new());
    }
    let mut iv = [0u8; 16];
    getrandom::fill(&mut iv).map_err(|e| format!("random source: {e}"))?;
    let sealed = cbc::Encryptor::<aes::Aes256>::new(&aes_key(password).into(), &iv.into())
        .encrypt_padded_vec_mut::<Pkcs7>(plaintext.as_bytes());
    let mut out = iv.to_vec();
    out.extend_from_slice(&sealed);
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

/// Sprig's `decryptAES`. Go slices the input without checks (a short or
/// misaligned one panics inside Sprig); here each is an error.
fn decrypt_aes(password: &str, sealed: &str) -> Result<String, String> {
    use cbc::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};
    if sealed.is_empty() {
        return Ok(String::new());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .map_err(|e| format!("illegal base64 data: {e}"))?;
    if bytes.len() < 32 || bytes.len() % 16 != 0 {
        return Err(
            "decryptAES: ciphertext is not a whole number of AES blocks after its IV".into(),
        );
    }
    let (iv, body) = bytes.split_at(16);
    let mut plain = cbc::Decryptor::<aes::Aes256>::new(&aes_key(password).into(), iv.into())
        .decrypt_padded_vec_mut::<NoPadding>(body)
        .map_err(|_| "decryptAES: bad ciphertext".to_string())?;
    // Sprig strips as many bytes as the last one says, without checking them
    let pad = usize::from(*plain.last().unwrap_or(&0));
    if pad > plain.len() {
        return Err("decryptAES: bad padding".into());
    }
    plain.truncate(plain.len() - pad);
    Ok(String::from_utf8_lossy(&plain).into_owned())
}

/// The Master Password algorithm's seed, character classes and templates,
/// which Sprig's `derivePassword` follows.
const MASTER_PASSWORD_SEED: &[u8] = b"com.lyndir.masterpassword";

fn template_characters(class: u8) -> &'static [u8] {
    match class {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

/// Sprig's `derivePassword`: scrypt (N 32768, r 8, p 2) of the password over
/// the seed and user, HMAC-SHA256 of the seed, site and counter, characters
/// picked by the template the first byte chooses.
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    use hmac::Mac;
    let Some(templates) = password_templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = MASTER_PASSWORD_SEED.to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    let params = scrypt::Params::new(15, 8, 2, 64).expect("constant scrypt parameters");
    if let Err(e) = scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key) {
        return format!("failed to derive password: {e}");
    }
    let mut message = MASTER_PASSWORD_SEED.to_vec();
    message.extend_from_slice(&(site.len() as u32).to_be_bytes());
    message.extend_from_slice(site.as_bytes());
    message.extend_from_slice(&counter.to_be_bytes());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(&message);
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()];
    template
        .bytes()
        .enumerate()
        .map(|(i, class)| {
            let chars = template_characters(class);
            chars[usize::from(seed[i + 1]) % chars.len()] as char
        })
        .collect()
}

pub(super) fn register(t: &mut Table) {
    def(t, "encryptAES", Exact(2), &[P::Str, P::Str], |_, a| {
        let (p, x) = (a[0].as_str().unwrap_or(""), a[1].as_str().unwrap_or(""));
        Ok(Value::str(encrypt_aes(p, x)?))
    });
    def(t, "decryptAES", Exact(2), &[P::Str, P::Str], |_, a| {
        let (p, x) = (a[0].as_str().unwrap_or(""), a[1].as_str().unwrap_or(""));
        Ok(Value::str(decrypt_aes(p, x)?))
    });
    def(
        t,
        "derivePassword",
        Exact(5),
        &[P::Int, P::Str, P::Str, P::Str, P::Str],
        |_, a| {
            let counter = match &a[0] {
                Value::Int(i) | Value::Int64(i) => *i as u32,
                Value::Float(f) => *f as u32,
                _ => 0,
            };
            let s = |i: usize| a[i].as_str().unwrap_or("");
            Ok(Value::str(derive_password(counter, s(1), s(2), s(3), s(4))))
        },
    );
    // Sprig as Helm v4 has it: two arguments, bcrypt only
    def(t, "htpasswd", Exact(2), &[P::Str, P::Str], |_, a| {
        let user = a[0].as_str().unwrap_or("");
        let pass = a[1].as_str().unwrap_or("");
        if user.contains(':') {
            return Ok(Value::str(format!("invalid username: {user}")));
        }
        let hashed = bcrypt::hash_with_result(pass, 10)
            .map_err(|e| e.to_string())?
            .format_for_version(bcrypt::Version::TwoA);
        Ok(Value::str(format!("{user}:{hashed}")))
    });
    def(t, "randBytes", Exact(1), &[P::Int], |_, a| {
        let n = match &a[0] {
            Value::Int(i) | Value::Int64(i) => *i,
            Value::Float(f) => *f as i64,
            _ => 0,
        };
        if !(0..=MAX_RAND_BYTES).contains(&n) {
            return Err(format!("randBytes: {n} bytes out of range 0..={MAX_RAND_BYTES}").into());
        }
        // secrets are made of these: the OS's generator, as Go's crypto/rand
        let mut bytes = vec![0u8; n as usize];
        getrandom::fill(&mut bytes).map_err(|e| format!("randBytes: {e}"))?;
        Ok(Value::str(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        ))
    });
}
