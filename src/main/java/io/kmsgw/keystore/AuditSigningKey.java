package io.kmsgw.keystore;

import io.kmsgw.async.Completions;
import io.kmsgw.audit.DigestSigner;
import io.kmsgw.format.EcdsaSignatures;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.KeyCustody;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * The audit trail's digest signer: an ECDSA P-256 key pair in the default key store's HSM, created at the first
 * start under a fixed label, its private half sensitive and never extractable. Digests carry its public key, read
 * from the HSM, so they verify offline with the JDK alone; its fingerprint (SHA-256 of the SubjectPublicKeyInfo) is
 * logged at each connection so that operators can pin it ({@code kmsgw audit verify --trust}).
 *
 * <p>Every HSM call runs on the default key store's worker pool; {@link #sign} blocks the audit writer thread (never
 * an event loop) until it answers.
 */
public final class AuditSigningKey implements DigestSigner {
  private static final Logger LOG = Logger.getLogger(AuditSigningKey.class.getName());
  /** Outside the {@code kmsgw:} prefix of CMK versions, so reconciliation never takes it for a CMK. */
  public static final HsmKey KEY = new HsmKey("kmsgw-audit-signing-1",
      "kmsgw-audit-1".getBytes(StandardCharsets.US_ASCII));

  private final KeyStoreConnection store;
  private volatile byte[] publicKey;

  public AuditSigningKey(KeyStoreConnection defaultStore) {
    this.store = defaultStore;
  }

  /**
   * Finds the key pair in the connected default store, or creates it; checks the private key's custody and reads the
   * public key. Blocking: call it off the event loop once the store is connected. Returns the fingerprint.
   */
  public String initialise() {
    byte[] spki = Completions.await(store.run(ErrorCode.KMS_INTERNAL, null, s -> {
      Optional<byte[]> existing = s.ecP256PublicKey(KEY);
      boolean created = existing.isEmpty();
      if (created) {
        s.generateEcP256SigningKey(KEY.label(), KEY.id());
      }
      KeyCustody custody = s.custody(KEY);
      if (!custody.heldInCustody()) {
        throw KmsException.internal("the audit signing key " + KEY.label() + " is not held in custody ("
            + custody + "); refusing to sign with it", null);
      }
      if (created) {
        LOG.info(() -> "audit: created the signing key " + KEY.label() + " in the default key store");
      }
      return s.ecP256PublicKey(KEY).orElseThrow();
    }));
    publicKey = spki;
    String fingerprint = fingerprint(spki);
    LOG.info(() -> "audit: signing key " + KEY.label() + ", public key SHA-256 fingerprint " + fingerprint);
    return fingerprint;
  }

  @Override
  public byte[] publicKey() {
    byte[] k = publicKey;
    return k != null && store.isConnected() ? k.clone() : null;
  }

  @Override
  public byte[] sign(byte[] message) {
    byte[] digest;
    try {
      digest = MessageDigest.getInstance("SHA-256").digest(message);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    byte[] raw = Completions.await(store.run(ErrorCode.KMS_INTERNAL, null, s -> s.signEcdsa(KEY, digest)));
    return EcdsaSignatures.rawToDer(raw);
  }

  /** SHA-256 of a SubjectPublicKeyInfo, lower-case hex: the form digests and the log use. */
  public static String fingerprint(byte[] spki) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(spki));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
