package io.kmsgw.hsm;

/**
 * What the gateway asks of the HSM, one session at a time: the HSM port, split by capability ({@link SymmetricCrypto},
 * {@link SigningKeys}, {@link KeyPairs}, {@link HsmObjects}, {@link MacKeys}, {@link AgreementKeys},
 * {@link RsaDecryption}) so that code can depend on the part it uses. A session is used by one thread while borrowed.
 * Every key object created through it has {@code CKA_TOKEN}, {@code CKA_PRIVATE} and {@code CKA_SENSITIVE}
 * true, {@code CKA_EXTRACTABLE} false, and only the usage attributes its purpose needs; the one exception is the
 * ECDH secret of {@link AgreementKeys}, a session object destroyed as soon as it is read.
 */
public interface HsmSession extends SymmetricCrypto, SigningKeys, KeyPairs, HsmObjects, MacKeys,
    AgreementKeys, RsaDecryption, AsymmetricSigning, KeyImport,
    PrivateKeyImport {
}
