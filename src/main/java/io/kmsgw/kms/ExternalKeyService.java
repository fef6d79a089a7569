package io.kmsgw.kms;

import io.kmsgw.async.Completions;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyState;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.domain.Tag;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.XksCiphertext;
import io.kmsgw.hsm.GcmIvRecovery;
import io.kmsgw.hsm.GcmSealed;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.HsmSession;
import io.kmsgw.hsm.SecretKeyInfo;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.keystore.KeyStores;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The operations behind the XKS proxy API: which HSM key an {@code externalKeyId} names, its metadata, and AES-GCM
 * encryption and decryption with it in the HSM. Byte formats (AAD framing, ciphertextMetadata, CDIV) are in
 * {@link XksCiphertext}.
 *
 * <p>An external key is either a gateway-managed key (by key id, or alias name without {@code alias/}), served
 * with its versions (the version goes into ciphertextMetadata so decryption works after a rotation), or an HSM
 * secret key named by its {@code CKA_LABEL}, served as it is. Usage comes from the HSM object's own
 * {@code CKA_ENCRYPT}/{@code CKA_DECRYPT}, read with {@code C_GetAttributeValue}: GetKeyMetadata always reads
 * them afresh; Encrypt and Decrypt use the last reading (the key's first use, or its last GetKeyMetadata), so that
 * steady-state crypto makes no {@code C_FindObjects} call.
 *
 * <p>Failures are {@link KmsException}s with these codes, which the XKS API turns into its own error names:
 * NOT_FOUND (no such exposed key), KMS_INVALID_STATE (key disabled or key store disconnected), INVALID_KEY_USAGE,
 * INVALID_CIPHERTEXT, UNSUPPORTED_OPERATION (an AES key of another length), THROTTLING, KMS_INTERNAL.
 */
public final class ExternalKeyService {
  private static final java.util.logging.Logger LOG =
      java.util.logging.Logger.getLogger(ExternalKeyService.class.getName());
  /** Labels of objects the gateway makes start with this; no HSM label exposure serves them. */
  static final String RESERVED_LABEL_PREFIX = "kmsgw";
  /** The label of the test key the deep health check encrypts with (never a key of a KMS key). */
  public static final String HEALTH_KEY_LABEL = "kmsgw-xks-health";
  private static final byte[] HEALTH_KEY_ID = "kmsgw-xks-health".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  private static final Pattern UUID_FORM = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  private static final ThreadLocal<SecureRandom> IV_RANDOM = ThreadLocal.withInitial(() -> {
    try {
      return SecureRandom.getInstance("DRBG");
    } catch (NoSuchAlgorithmException e) {
      return new SecureRandom();
    }
  });

  /**
   * Which keys an XKS endpoint serves, all in one key store: exactly the ones it was given, never every key of the
   * store (issue #15, item 3).
   *
   * @param tag a gateway key carrying this tag is served too; null for none
   * @param keys gateway-managed keys by key id or alias name (without {@code alias/})
   * @param labels HSM key labels served as they are; an entry ending in {@code *} is a prefix
   */
  public record Exposure(String keyStoreId, Tag tag, Set<String> keys, List<String> labels) {
    public Exposure {
      keys = Set.copyOf(keys);
      labels = List.copyOf(labels);
    }

    /** Whether the endpoint was given this key: by id, by one of its alias names, or by the tag. */
    boolean exposes(KeyRecord key, List<String> aliasNames) {
      return keys.contains(key.keyId().toString()) || (tag != null && key.tags().contains(tag))
          || aliasNames.stream().anyMatch(a -> keys.contains(a.substring("alias/".length())));
    }

    boolean exposesLabel(String label) {
      if (label.startsWith(RESERVED_LABEL_PREFIX)) {
        // the gateway's own objects (key versions are kmsgw:..., the health key kmsgw-xks-health) are never served
        return false;
      }
      for (String l : labels) {
        if (l.endsWith("*") ? label.startsWith(l.substring(0, l.length() - 1)) : l.equals(label)) {
          return true;
        }
      }
      return false;
    }
  }

  /** GetKeyMetadata's answer. */
  public record Metadata(String keySpec, List<String> keyUsage, boolean enabled) {}

  /** Encrypt's answer; {@code metadata} and {@code integrityValue} may be null. */
  public record Sealed(byte[] ciphertext, byte[] metadata, byte[] iv, byte[] tag, byte[] integrityValue) {}

  /** A health round trip: whether it worked, how long it took, the key store, and a reason when it did not. */
  public record Probe(String keyStoreId, boolean ok, long micros, int waiting, String detail) {}

  /** What an external key id names: a gateway key, or an HSM object by label. */
  private record Target(KeyRecord managed, String label) {}

  private record CachedInfo(SecretKeyInfo info) {}

  private final KeyService keys;
  private final AliasService aliases;
  private final KeyStores stores;
  private final boolean ivFromHsmRandom;
  private final ConcurrentHashMap<String, CachedInfo> infos = new ConcurrentHashMap<>();

  /**
   * @param ivFromHsmRandom draw GCM IVs from the HSM's generator ({@code C_GenerateRandom}) instead of the
   *     gateway's DRBG
   */
  public ExternalKeyService(KeyService keys, AliasService aliases, KeyStores stores, boolean ivFromHsmRandom) {
    this.keys = keys;
    this.aliases = aliases;
    this.stores = stores;
    this.ivFromHsmRandom = ivFromHsmRandom;
  }

  /** @param onKey told the ARN of the gateway key the id names, once resolved (for the audit trail) */
  public CompletableFuture<Metadata> metadata(Exposure e, String externalKeyId, Consumer<String> onKey) {
    return resolve(e, externalKeyId, onKey).thenCompose(t -> {
      String label = t.managed() != null ? t.managed().current().hsmLabel() : t.label();
      return info(e.keyStoreId(), t, label, true).thenApply(info -> new Metadata(keySpec(info), info.usages(),
          t.managed() == null || t.managed().state() == KeyState.ENABLED));
    });
  }

  /** @param onKey told the ARN of the gateway key the id names, once resolved (for the audit trail) */
  public CompletableFuture<Sealed> encrypt(Exposure e, String externalKeyId, byte[] plaintext, byte[] aad,
      boolean integrityValue, Consumer<String> onKey) {
    return resolve(e, externalKeyId, onKey).thenCompose(t -> {
      requireEnabled(t);
      KeyVersion version = t.managed() == null ? null : t.managed().current();
      String label = version == null ? t.label() : version.hsmLabel();
      return info(e.keyStoreId(), t, label, false).thenCompose(info -> {
        requireAes256(info);
        if (!info.encrypt()) {
          throw new KmsException(ErrorCode.INVALID_KEY_USAGE, "The key does not support ENCRYPT (CKA_ENCRYPT is "
              + "false).");
        }
        if (integrityValue && !info.decrypt()) {
          // XKS spec, Appendix C: a CDIV promises that the ciphertext decrypts; a key that cannot decrypt cannot
          // keep that promise (the public XKS test client expects InvalidKeyUsageException here)
          throw new KmsException(ErrorCode.INVALID_KEY_USAGE, "A ciphertextDataIntegrityValue needs a key that can "
              + "also DECRYPT (CKA_DECRYPT is false).");
        }
        byte[] metadata = version == null ? null : XksCiphertext.metadata(version.version());
        byte[] hsmAad = XksCiphertext.hsmAad(aad, metadata);
        return staleAware(e.keyStoreId(), t, label, connection(e.keyStoreId()).run(ErrorCode.KMS_INVALID_STATE,
            arnOf(t), s -> {
          byte[] iv;
          byte[] sealed;
          if (s.gcmIvFromHsm()) {
            // the HSM chooses the IV; XKS returns it in its own field, and its AAD never held it
            GcmSealed hsmSealed = s.encryptAesGcmHsmIv(info.key(), hsmAad, requireFirstBlock(plaintext));
            iv = hsmSealed.iv();
            sealed = hsmSealed.ciphertextAndTag();
          } else {
            iv = new byte[XksCiphertext.IV_LENGTH];
            if (ivFromHsmRandom) {
              iv = s.generateRandom(XksCiphertext.IV_LENGTH);
            } else {
              IV_RANDOM.get().nextBytes(iv);
            }
            sealed = s.encryptAesGcm(info.key(), iv, hsmAad, plaintext);
          }
          byte[] ciphertext = Arrays.copyOf(sealed, sealed.length - XksCiphertext.TAG_LENGTH);
          byte[] tag = Arrays.copyOfRange(sealed, sealed.length - XksCiphertext.TAG_LENGTH, sealed.length);
          byte[] cdiv = null;
          if (integrityValue) {
            // XKS spec, Appendix C: the CDIV is computed before the verifying decrypt, so a corruption after the
            // check cannot go unnoticed
            cdiv = XksCiphertext.integrityValue(aad, metadata, iv, ciphertext, tag);
            // verify the very arrays that are returned, not the buffer they were split from
            verify(s, info, iv, hsmAad, plaintext, concat(ciphertext, tag));
          }
          return new Sealed(ciphertext, metadata, iv, tag, cdiv);
        }));
      });
    });
  }

  /**
   * On an HSM that generates its IVs, the gateway names the IV from the first 16 bytes of plaintext and ciphertext
   * ({@code GcmIvRecovery}). XKS's ciphertext is plain AES-GCM (ciphertext, IV, tag), with no room to mark a zero
   * block sealed in front of a shorter plaintext, so such a plaintext is refused. AWS KMS's own XKS plaintexts (its
   * key material and headers) are far longer.
   */
  private static byte[] requireFirstBlock(byte[] plaintext) {
    if (plaintext.length < GcmIvRecovery.BLOCK) {
      throw new KmsException(ErrorCode.VALIDATION, "This XKS proxy's HSM generates AES-GCM IVs itself "
          + "(gcm_iv_from_hsm), which needs a plaintext of at least 16 bytes; this one has " + plaintext.length + ".");
    }
    return plaintext;
  }

  /** Checks that what was just sealed opens again to the plaintext, by decrypting it in the HSM. */
  private static void verify(HsmSession s, SecretKeyInfo info, byte[] iv, byte[] hsmAad, byte[] plaintext,
      byte[] sealed) throws HsmException {
    byte[] again = s.decryptAesGcm(info.key(), iv, hsmAad, sealed);
    boolean same = MessageDigest.isEqual(again, plaintext);
    Arrays.fill(again, (byte) 0);
    if (!same) {
      throw new HsmException(HsmErrorKind.OTHER, "the ciphertext just produced did not verify");
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** @param onKey told the ARN of the gateway key the id names, once resolved (for the audit trail) */
  public CompletableFuture<byte[]> decrypt(Exposure e, String externalKeyId, byte[] ciphertext, byte[] metadata,
      byte[] aad, byte[] iv, byte[] tag, Consumer<String> onKey) {
    return resolve(e, externalKeyId, onKey).thenCompose(t -> {
      requireEnabled(t);
      KeyVersion version = null;
      if (t.managed() != null) {
        if (metadata == null) {
          throw invalidCiphertext();
        }
        int v;
        try {
          v = XksCiphertext.keyVersion(metadata);
        } catch (IllegalArgumentException bad) {
          throw invalidCiphertext();
        }
        version = t.managed().version(v).orElseThrow(ExternalKeyService::invalidCiphertext);
      } else if (metadata != null) {
        // an HSM-labelled key never has metadata: this ciphertext was not made by it through the gateway
        throw invalidCiphertext();
      }
      if ((iv.length != 12 && iv.length != 16) || tag.length != XksCiphertext.TAG_LENGTH) {
        throw invalidCiphertext();
      }
      String label = version == null ? t.label() : version.hsmLabel();
      return info(e.keyStoreId(), t, label, false).thenCompose(info -> {
        requireAes256(info);
        if (!info.decrypt()) {
          throw new KmsException(ErrorCode.INVALID_KEY_USAGE, "The key does not support DECRYPT (CKA_DECRYPT is "
              + "false).");
        }
        byte[] hsmAad = XksCiphertext.hsmAad(aad, metadata);
        if (XksCiphertext.legacy(metadata) && XksCiphertext.looksLikeKmsAad(hsmAad, t.managed().keyId(),
            XksCiphertext.keyVersion(metadata), iv)) {
          // a KMS ciphertext dressed as a format-1 XKS one (issue #15, item 3): never opened through XKS
          LOG.warning(() -> "XKS Decrypt refused for " + t.managed().arn() + ": the request has the shape of a KMS "
              + "ciphertext (format-1 ciphertextMetadata, AAD beginning with the KMS blob header)");
          throw invalidCiphertext();
        }
        byte[] sealed = concat(ciphertext, tag);
        return staleAware(e.keyStoreId(), t, label, connection(e.keyStoreId()).run(ErrorCode.KMS_INVALID_STATE,
            arnOf(t), s -> s.decryptAesGcm(info.key(), iv, hsmAad, sealed)));
      });
    });
  }

  /**
   * The deep health check of a key store: an AES-GCM round trip in its HSM with the gateway's own test key
   * ({@link #HEALTH_KEY_LABEL}, created on first use), never with a key of a KMS key.
   */
  public CompletableFuture<Probe> probe(String keyStoreId) {
    long start = System.nanoTime();
    KeyStoreConnection c;
    try {
      c = stores.of(keyStoreId);
    } catch (KmsException e) {
      return CompletableFuture.completedFuture(new Probe(keyStoreId, false, 0, 0, "no such key store"));
    }
    if (!c.isConnected()) {
      KeyStoreConnection.Status st = c.status();
      return CompletableFuture.completedFuture(new Probe(keyStoreId, false, 0, 0, "key store " + st.state()));
    }
    int waiting = c.status().stats() == null ? 0 : c.status().stats().waiting();
    CompletableFuture<Probe> roundTrip;
    try {
      roundTrip = roundTrip(c, keyStoreId, start, waiting);
    } catch (RuntimeException e) {
      // the store left CONNECTED since isConnected(): run() refused synchronously
      return CompletableFuture.completedFuture(new Probe(keyStoreId, false, (System.nanoTime() - start) / 1000,
          waiting, e.getMessage()));
    }
    return roundTrip.exceptionally(t -> new Probe(keyStoreId, false, (System.nanoTime() - start) / 1000, waiting,
        Completions.unwrap(t).getMessage()));
  }

  private static CompletableFuture<Probe> roundTrip(KeyStoreConnection c, String keyStoreId, long start,
      int waiting) {
    return c.run(ErrorCode.KMS_INTERNAL, null, s -> {
      HsmKey key = new HsmKey(HEALTH_KEY_LABEL, HEALTH_KEY_ID);
      if (!s.exists(key)) {
        s.generateAes256Key(HEALTH_KEY_LABEL, HEALTH_KEY_ID);
      }
      byte[] probe = new byte[32];
      IV_RANDOM.get().nextBytes(probe);
      byte[] iv = new byte[XksCiphertext.IV_LENGTH];
      byte[] sealed;
      if (s.gcmIvFromHsm()) {
        GcmSealed hsmSealed = s.encryptAesGcmHsmIv(key, new byte[0], probe);
        iv = hsmSealed.iv();
        sealed = hsmSealed.ciphertextAndTag();
      } else {
        IV_RANDOM.get().nextBytes(iv);
        sealed = s.encryptAesGcm(key, iv, new byte[0], probe);
      }
      byte[] opened = s.decryptAesGcm(key, iv, new byte[0], sealed);
      if (!Arrays.equals(probe, opened)) {
        throw new HsmException(HsmErrorKind.OTHER, "the health round trip returned other bytes");
      }
      return new Probe(keyStoreId, true, (System.nanoTime() - start) / 1000, waiting, "AES-GCM round trip");
    });
  }

  /**
   * The key an external key id names, if the endpoint was given it: a gateway key by key id or alias name, else an
   * HSM label the endpoint serves; NOT_FOUND otherwise.
   */
  private CompletableFuture<Target> resolve(Exposure e, String externalKeyId, Consumer<String> onKey) {
    UUID keyId = null;
    if (UUID_FORM.matcher(externalKeyId).matches()) {
      keyId = UUID.fromString(externalKeyId);
    } else {
      try {
        keyId = aliases.resolve("alias/" + externalKeyId);
      } catch (KmsException notAnAlias) {
        // not an alias: maybe an HSM label
      }
    }
    if (keyId == null) {
      return CompletableFuture.completedFuture(byLabel(e, externalKeyId));
    }
    UUID id = keyId;
    return keys.lookup(id).handle((key, failure) -> {
      if (failure == null) {
        if (servable(e, key) && e.exposes(key, aliases.namesOf(id))) {
          onKey.accept(key.arn());
          return new Target(key, null);
        }
        return byLabel(e, externalKeyId);
      }
      Throwable t = Completions.unwrap(failure);
      if (t instanceof KmsException k && k.code() == ErrorCode.NOT_FOUND) {
        return byLabel(e, externalKeyId);
      }
      throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
    });
  }

  private static Target byLabel(Exposure e, String externalKeyId) {
    if (e.exposesLabel(externalKeyId)) {
      return new Target(null, externalKeyId);
    }
    throw notFound(externalKeyId);
  }

  /** A key of the endpoint's store that can encrypt and decrypt (a symmetric key), not being deleted for good. */
  private static boolean servable(Exposure e, KeyRecord key) {
    return key.keyStoreId().equals(e.keyStoreId()) && key.keySpec() == io.kmsgw.domain.KeySpec.SYMMETRIC_DEFAULT
        && key.keyUsage() == io.kmsgw.domain.KeyUsage.ENCRYPT_DECRYPT;
  }

  /** The HSM object's attributes: read afresh when asked (metadata), else as last read. */
  private CompletableFuture<SecretKeyInfo> info(String storeId, Target t, String label, boolean fresh) {
    String cacheKey = storeId + "\n" + label;
    CachedInfo cached = infos.get(cacheKey);
    if (!fresh && cached != null) {
      return CompletableFuture.completedFuture(cached.info());
    }
    byte[] expectedId = t.managed() == null ? null
        : t.managed().versions().stream().filter(v -> v.hsmLabel().equals(label)).findFirst().orElseThrow().hsmId();
    return connection(storeId).run(ErrorCode.KMS_INVALID_STATE, arnOf(t), s -> s.describeSecretKeys(label))
        .thenApply(found -> {
          List<SecretKeyInfo> matching = expectedId == null ? found
              : found.stream().filter(i -> Arrays.equals(i.key().id(), expectedId)).toList();
          if (matching.isEmpty()) {
            if (t.managed() != null) {
              throw KmsException.internal(t.managed().arn() + ": its material (" + label + ") is missing from the "
                  + "HSM.", null);
            }
            throw notFound(label);
          }
          if (matching.size() > 1) {
            throw KmsException.internal("The HSM holds " + matching.size() + " secret keys labelled " + label
                + "; an external key must name exactly one.", null);
          }
          SecretKeyInfo info = matching.get(0);
          if (!info.aes()) {
            // only AES keys are exposed; another kind of secret key is not an external key
            throw notFound(label);
          }
          infos.put(cacheKey, new CachedInfo(info));
          return info;
        });
  }

  /**
   * Encrypt and Decrypt use the attributes as last read; when the HSM says otherwise, the reading is dropped and the
   * client told what changed: the object is gone (KeyNotFoundException for an HSM-labelled key; a gateway key's
   * missing material stays an internal error), or its usage attributes no longer allow the call
   * (InvalidKeyUsageException). The next call reads the attributes afresh.
   */
  private <T> CompletableFuture<T> staleAware(String storeId, Target t, String label, CompletableFuture<T> work) {
    return work.handle((value, failure) -> {
      if (failure == null) {
        return value;
      }
      Throwable cause = Completions.unwrap(failure);
      if (cause instanceof KmsException k && k.getCause() instanceof HsmException h) {
        if (h.kind() == HsmErrorKind.KEY_NOT_FOUND) {
          infos.remove(storeId + "\n" + label);
          if (t.managed() == null) {
            throw notFound(label);
          }
        } else if (h.kind() == HsmErrorKind.KEY_USAGE_NOT_PERMITTED) {
          infos.remove(storeId + "\n" + label);
          throw new KmsException(ErrorCode.INVALID_KEY_USAGE, "The key's attributes in the HSM no longer allow "
              + "this operation.");
        }
      }
      throw cause instanceof RuntimeException r ? r : new java.util.concurrent.CompletionException(cause);
    });
  }

  private static String keySpec(SecretKeyInfo info) {
    return info.valueLength() > 0 ? "AES_" + info.valueLength() * 8 : "AES";
  }

  private static void requireAes256(SecretKeyInfo info) {
    if (info.valueLength() != 32) {
      throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, "The key is " + keySpec(info)
          + "; the XKS API serves AES_256 keys only.");
    }
  }

  private static void requireEnabled(Target t) {
    if (t.managed() != null && t.managed().state() != KeyState.ENABLED) {
      throw new KmsException(ErrorCode.KMS_INVALID_STATE, "The key is " + t.managed().state().apiName()
          + " in the gateway; enable it to use it.");
    }
  }

  /**
   * The key store's connection, if it can serve now: a store an operator disconnected is KMS_INVALID_STATE; one
   * that is connecting, or failed, cannot reach its HSM (KMS_INTERNAL).
   */
  private KeyStoreConnection connection(String storeId) {
    KeyStoreConnection c;
    try {
      c = stores.of(storeId);
    } catch (KmsException e) {
      throw new KmsException(ErrorCode.KMS_INVALID_STATE, "The key store " + storeId + " does not exist.");
    }
    KeyStoreConnection.State s = c.status().state();
    if (s == KeyStoreConnection.State.DISCONNECTED || s == KeyStoreConnection.State.DISCONNECTING) {
      throw new KmsException(ErrorCode.KMS_INVALID_STATE, "The key store " + storeId + " is " + s + ".");
    }
    if (s != KeyStoreConnection.State.CONNECTED) {
      throw KmsException.internal("The key store " + storeId + " is " + s + "; its HSM cannot be reached now.",
          null);
    }
    return c;
  }

  private static String arnOf(Target t) {
    return t.managed() == null ? null : t.managed().arn();
  }

  private static KmsException notFound(String externalKeyId) {
    return KmsException.notFound("The external key " + externalKeyId + " is not found.");
  }

  private static KmsException invalidCiphertext() {
    return new KmsException(ErrorCode.INVALID_CIPHERTEXT, "The ciphertext, initialization vector, additional "
        + "authenticated data or authentication tag is corrupted, missing, or otherwise invalid.");
  }

  /** Forgets cached attributes (tests, and after an operator changes a key's attributes). */
  public void forgetAttributes() {
    infos.clear();
  }
}
