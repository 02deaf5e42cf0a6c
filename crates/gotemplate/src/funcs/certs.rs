//! Sprig's key and certificate functions: `genPrivateKey`, `genCA`,
//! `genCAWithKey`, `genSelfSignedCert`, `genSelfSignedCertWithKey`,
//! `genSignedCert`, `genSignedCertWithKey`, `buildCustomCert`.
//!
//! As Sprig makes them: RSA 2048 keys for certificates (PEM `RSA PRIVATE
//! KEY`), a random 128-bit serial, validity from now for the given days, CAs
//! with `CertSign`, leaf certificates for server and client auth. A
//! certificate is a value with `Cert` and `Key` (PEM strings), which is what
//! templates read of Sprig's struct. Keys come from the OS generator.

use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};

use super::{
    Arity::{AtLeast, Exact},
    FnResult, P, Table, def,
};
use crate::value::Value;

/// Longest validity accepted, in days (Go would overflow its duration past
/// about 292 years; Sprig passes days straight into it).
const MAX_DAYS: i64 = 106_751;

pub(super) fn register(t: &mut Table) {
    def(t, "genPrivateKey", Exact(1), &[P::Str], |_, a| {
        gen_private_key(a[0].as_str().unwrap_or(""))
    });
    def(t, "genCA", Exact(2), &[P::Str, P::Int], |_, a| {
        let key = new_rsa_key(2048)?;
        ca(str_arg(&a[0]), int_arg(&a[1]), key)
    });
    def(
        t,
        "genCAWithKey",
        Exact(3),
        &[P::Str, P::Int, P::Str],
        |_, a| {
            let key = parse_private_key(str_arg(&a[2]))?;
            ca(str_arg(&a[0]), int_arg(&a[1]), key)
        },
    );
    def(
        t,
        "genSelfSignedCert",
        Exact(4),
        &[P::Str, P::Any, P::Any, P::Int],
        |_, a| {
            let key = new_rsa_key(2048)?;
            leaf(&a[0], &a[1], &a[2], &a[3], key, None)
        },
    );
    def(
        t,
        "genSelfSignedCertWithKey",
        Exact(5),
        &[P::Str, P::Any, P::Any, P::Int, P::Str],
        |_, a| {
            let key = parse_private_key(str_arg(&a[4]))?;
            leaf(&a[0], &a[1], &a[2], &a[3], key, None)
        },
    );
    def(
        t,
        "genSignedCert",
        Exact(5),
        &[P::Str, P::Any, P::Any, P::Int, P::Any],
        |_, a| {
            let key = new_rsa_key(2048)?;
            leaf(&a[0], &a[1], &a[2], &a[3], key, Some(&a[4]))
        },
    );
    def(
        t,
        "genSignedCertWithKey",
        AtLeast(6),
        &[P::Str, P::Any, P::Any, P::Int, P::Any, P::Str],
        |_, a| {
            let key = parse_private_key(str_arg(&a[5]))?;
            leaf(&a[0], &a[1], &a[2], &a[3], key, Some(&a[4]))
        },
    );
    def(t, "buildCustomCert", Exact(2), &[P::Str, P::Str], |_, a| {
        build_custom_cert(str_arg(&a[0]), str_arg(&a[1]))
    });
}

fn str_arg(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn int_arg(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => *f as i64,
        _ => 0,
    }
}

/// A signing key and how it is written out (Sprig's PEM block types).
struct Key {
    pem: String,
    pair: KeyPair,
}

fn new_rsa_key(bits: usize) -> Result<Key, String> {
    let key = match bits {
        2048 => rsa_from_primes::<{ crypto_bigint::U1024::LIMBS }>(bits),
        4096 => rsa_from_primes::<{ crypto_bigint::U2048::LIMBS }>(bits),
        _ => rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits),
    }
    .map_err(|e| format!("error generating RSA key: {e}"))?;
    rsa_key(&key)
}

/// A two-prime RSA key of exactly `bits` bits with e = 65537 (as Go's
/// `rsa.GenerateKey`), its primes `bits / 2` bits each from crypto-primes
/// (sieve, then Miller-Rabin base 2 and a strong Lucas test); the key is
/// assembled and checked by the rsa crate. `L` limbs hold `bits / 2` bits.
fn rsa_from_primes<const L: usize>(bits: usize) -> rsa::errors::Result<rsa::RsaPrivateKey>
where
    crypto_bigint::Uint<L>: crypto_bigint::Encoding,
{
    use crypto_bigint::Encoding;
    let half = bits / 2;
    let to_big = |p: crypto_bigint::Uint<L>| rsa::BigUint::from_bytes_be(p.to_be_bytes().as_ref());
    loop {
        let p = to_big(random_prime::<L>(half));
        let q = to_big(random_prime::<L>(half));
        // the two top bits set in both primes give a product of exactly `bits`
        // bits; a key the rsa crate refuses (p == q, e not invertible) is drawn again
        match rsa::RsaPrivateKey::from_p_q(p, q, rsa::BigUint::from(65537u32)) {
            Ok(k) if rsa::traits::PublicKeyParts::n(&k).bits() == bits => return Ok(k),
            _ => continue,
        }
    }
}

/// A random prime of exactly `bits` bits whose two top bits are set.
fn random_prime<const L: usize>(bits: usize) -> crypto_bigint::Uint<L> {
    use crypto_primes::hazmat::{Sieve, random_odd_uint};
    let rng = &mut rsa::rand_core::OsRng;
    loop {
        let start: crypto_bigint::Uint<L> =
            random_odd_uint::<L>(rng, bits) | (crypto_bigint::Uint::<L>::ONE << (bits - 2));
        for candidate in Sieve::new(&start, bits, false) {
            if crypto_primes::is_prime_with_rng(rng, &candidate) {
                return candidate;
            }
        }
    }
}

fn rsa_key(key: &rsa::RsaPrivateKey) -> Result<Key, String> {
    let pem = key
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| format!("error encoding RSA key: {e}"))?
        .to_string();
    let der = key
        .to_pkcs8_der()
        .map_err(|e| format!("error encoding RSA key: {e}"))?;
    let pair =
        KeyPair::from_pkcs8_der_and_sign_algo(&der.as_bytes().into(), &rcgen::PKCS_RSA_SHA256)
            .map_err(|e| format!("error using RSA key: {e}"))?;
    Ok(Key { pem, pair })
}

/// `genPrivateKey`: `rsa` (4096 bits, PKCS #1), `ecdsa` (P-256, SEC 1),
/// `ed25519` (PKCS #8); `dsa` is refused (Go has deprecated it and no
/// certificate here can use it).
fn gen_private_key(kind: &str) -> FnResult {
    let pem = match kind {
        "" | "rsa" => new_rsa_key(4096)?.pem,
        "ecdsa" => {
            let pair = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                .map_err(|e| format!("error generating ECDSA key: {e}"))?;
            let key = p256::SecretKey::from_pkcs8_der(&pair.serialize_der())
                .map_err(|e| format!("error encoding ECDSA key: {e}"))?;
            key.to_sec1_pem(p256::pkcs8::LineEnding::LF)
                .map_err(|e| format!("error encoding ECDSA key: {e}"))?
                .to_string()
        }
        "ed25519" => KeyPair::generate_for(&rcgen::PKCS_ED25519)
            .map_err(|e| format!("error generating ed25519 key: {e}"))?
            .serialize_pem(),
        "dsa" => return Ok(Value::str("DSA keys are not supported here")),
        other => return Ok(Value::str(format!("Unknown type {other}"))),
    };
    Ok(Value::str(pem))
}

/// Reads a PEM private key as Sprig's `parsePrivateKeyPEM` does: PKCS #1
/// RSA, or PKCS #8 (RSA, ECDSA P-256, ed25519).
fn parse_private_key(pem: &str) -> Result<Key, String> {
    let bad = || "error parsing private key: invalid PEM data".to_string();
    if let Ok(key) = rsa::RsaPrivateKey::from_pkcs1_pem(pem) {
        return rsa_key(&key);
    }
    if let Ok(key) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
        return rsa_key(&key);
    }
    let pair = match p256::SecretKey::from_sec1_pem(pem) {
        // SEC 1 (`EC PRIVATE KEY`, what genPrivateKey "ecdsa" writes)
        Ok(key) => {
            let der = key.to_pkcs8_der().map_err(|_| bad())?;
            KeyPair::from_pkcs8_der_and_sign_algo(
                &der.as_bytes().into(),
                &rcgen::PKCS_ECDSA_P256_SHA256,
            )
            .map_err(|_| bad())?
        }
        Err(_) => KeyPair::from_pem(pem).map_err(|_| bad())?,
    };
    Ok(Key {
        pem: pem.to_string(),
        pair,
    })
}

fn base_params(cn: &str, days: i64) -> Result<CertificateParams, String> {
    if !(0..=MAX_DAYS).contains(&days) {
        return Err(format!("validity of {days} days is out of range"));
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| format!("random source: {e}"))?;
    serial[0] &= 0x7f; // a positive serial, as Go's rand.Int below 2^128 gives
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now;
    params.not_after = now + time::Duration::days(days);
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn ca(cn: &str, days: i64, key: Key) -> FnResult {
    let mut params = base_params(cn, days)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
    ];
    let cert = params
        .self_signed(&key.pair)
        .map_err(|e| format!("error creating certificate: {e}"))?;
    Ok(certificate(cert.pem(), key.pem))
}

/// A leaf certificate for `cn` with IP and DNS alternative names, signed by
/// itself or by `ca` (a value with `Cert` and `Key`, as `genCA` returns).
fn leaf(
    cn: &Value,
    ips: &Value,
    dns: &Value,
    days: &Value,
    key: Key,
    ca: Option<&Value>,
) -> FnResult {
    let mut params = base_params(str_arg(cn), int_arg(days))?;
    for ip in strings(ips, "ips")? {
        let addr: IpAddr = ip.parse().map_err(|_| format!("error parsing ip: {ip}"))?;
        params.subject_alt_names.push(SanType::IpAddress(addr));
    }
    for name in strings(dns, "alternate names")? {
        let name = name
            .try_into()
            .map_err(|e| format!("error parsing alternate name: {e}"))?;
        params.subject_alt_names.push(SanType::DnsName(name));
    }
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert = match ca {
        None => params.self_signed(&key.pair),
        Some(ca) => {
            let (ca_cert, ca_key) = (field(ca, "Cert"), field(ca, "Key"));
            let ca_key = parse_private_key(&ca_key)?;
            let issuer = Issuer::from_ca_cert_pem(&ca_cert, &ca_key.pair)
                .map_err(|e| format!("error parsing CA certificate: {e}"))?;
            params.signed_by(&key.pair, &issuer)
        }
    }
    .map_err(|e| format!("error creating certificate: {e}"))?;
    Ok(certificate(cert.pem(), key.pem))
}

/// `buildCustomCert`: a certificate value from base64 PEM certificate and key,
/// both checked to parse.
fn build_custom_cert(cert_b64: &str, key_b64: &str) -> FnResult {
    let decode = |what: &str, b64: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| format!("unable to decode base64 {what}"))
    };
    let (cert, key) = (
        decode("certificate", cert_b64)?,
        decode("private key", key_b64)?,
    );
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert.as_bytes())
        .map_err(|_| "error decoding certificate: invalid PEM data".to_string())?;
    pem.parse_x509()
        .map_err(|e| format!("error parsing certificate: {e}"))?;
    parse_private_key(&key)?;
    Ok(certificate(cert, key))
}

fn certificate(cert: String, key: String) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Cert".to_string(), Value::str(cert));
    m.insert("Key".to_string(), Value::str(key));
    Value::map(m)
}

fn field(v: &Value, name: &str) -> String {
    match v {
        Value::Map(m) => m
            .borrow()
            .get(name)
            .and_then(|x| x.as_str().map(str::to_string))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// A list of strings (Sprig takes `[]interface{}`; nil is none).
fn strings(v: &Value, what: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Nil => Ok(vec![]),
        Value::List(l) => l
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{what}: expected strings"))
            })
            .collect(),
        _ => Err(format!("{what}: expected a list")),
    }
}
