package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.*;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.hsm.GcmIvRecovery;
import io.kmsgw.hsm.GcmSealed;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.HsmSession;
import io.kmsgw.hsm.KeyCustody;
import io.kmsgw.hsm.SecretKeyInfo;
import io.kmsgw.hsm.pkcs11.CkrMapping.Call;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;
import org.xipki.pkcs11.wrapper.params.GCM_PARAMS;

/**
 * One borrowed PKCS#11 session seen through the {@link HsmSession} port: the symmetric and object parts here; the
 * others each in a class of its own, to which this one delegates ({@link Pkcs11Signing}, {@link Pkcs11KeyPairs},
 * {@link Pkcs11AsymmetricSigning}, {@link Pkcs11RsaDecryption}, {@link Pkcs11Mac}, {@link Pkcs11Agreement}).
 */
final class Pkcs11Session implements HsmSession {
  private static final int GCM_TAG_BITS = 128;
  private static final int CIPHER_IV_LENGTH = 12;

  private final Session session;
  private final CkrMapping ckr;
  private final KeyHandles handles;
  private final Pkcs11Counters counters;
  private final boolean gcmIvFromHsm;
  private final GcmEncryption gcm;
  private final ObjectCalls calls;
  private final Pkcs11Signing signing;
  private final Pkcs11KeyPairs keyPairs;
  private final Pkcs11Mac macs;
  private final Pkcs11Agreement agreement;
  private final Pkcs11RsaDecryption rsaDecryption;
  private final Pkcs11AsymmetricSigning asymmetricSigning;
  private final Pkcs11KeyImport keyImport;
  private final Pkcs11PrivateKeyImport privateKeyImport;
  /** The temporary session key of {@link #withTemporaryAesKey}, while its work runs. */
  private HsmKey temporaryKey;
  private long temporaryHandle;

  Pkcs11Session(Session session, CkrMapping ckr, KeyHandles handles, Pkcs11Counters counters, boolean gcmIvFromHsm,
      GcmEncryption gcm) {
    this.session = session;
    this.gcm = gcm;
    this.ckr = ckr;
    this.handles = handles;
    this.counters = counters;
    this.gcmIvFromHsm = gcmIvFromHsm;
    this.calls = new ObjectCalls(session, ckr, handles);
    this.signing = new Pkcs11Signing(calls, handles, counters);
    this.keyPairs = new Pkcs11KeyPairs(calls, handles);
    this.macs = new Pkcs11Mac(calls);
    this.agreement = new Pkcs11Agreement(calls);
    this.rsaDecryption = new Pkcs11RsaDecryption(calls);
    this.asymmetricSigning = new Pkcs11AsymmetricSigning(calls);
    this.keyImport = new Pkcs11KeyImport(calls, handles);
    this.privateKeyImport = new Pkcs11PrivateKeyImport(calls, keyImport);
  }

  /** The wrapped PKCS#11 session (tests close it behind the pool's back). */
  Session raw() {
    return session;
  }

  /**
   * The custody template of every CMK version: a private, sensitive, never-extractable token object that can
   * encrypt and decrypt and do nothing else (no wrap, unwrap, sign, verify or derive).
   */
  static AttributeVector aes256Template(String label, byte[] id) {
    return AttributeVector.newAESSecretKey()
        .token(true)
        .private_(true)
        .sensitive(true)
        .extractable(false)
        .encrypt(true)
        .decrypt(true)
        .wrap(false)
        .unwrap(false)
        .sign(false)
        .verify(false)
        .derive(false)
        .valueLen(32)
        .label(label)
        .id(id);
  }

  @Override
  public HsmKey generateAes256Key(String label, byte[] id) throws HsmException {
    try {
      long handle = session.generateKey(new Mechanism(CKM_AES_KEY_GEN), aes256Template(label, id));
      HsmKey key = new HsmKey(label, id);
      handles.generated(key, handle);
      return key;
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.GENERATE_KEY, "C_GenerateKey (AES-256) failed for " + label);
    }
  }

  @Override
  public byte[] encryptAesGcm(HsmKey key, byte[] iv, byte[] aad, byte[] plaintext) throws HsmException {
    byte[] sealed = withHandle(key, Call.ENCRYPT, handle -> gcm.encrypt(session, handle, iv, aad, plaintext));
    GcmIvRecovery.checkSealedLength(sealed.length, plaintext.length);
    return sealed;
  }

  @Override
  public GcmSealed encryptAesGcmHsmIv(HsmKey key, byte[] aad, byte[] plaintext) throws HsmException {
    if (plaintext.length < GcmIvRecovery.BLOCK) {
      throw new IllegalArgumentException("HSM-IV sealing needs at least 16 bytes of plaintext");
    }
    byte[][] sealedAndCounter = withHandle(key, Call.ENCRYPT, handle -> {
      // CloudHSM refuses a pIv that is not zeroed (its PKCS#11 library documentation); the HSM writes its IV there,
      // where ipkcs11wrapper's JNI never reads it back, hence the recovery below
      byte[] sealed = session.encryptSingle(
          new Mechanism(CKM_AES_GCM, new GCM_PARAMS(new byte[CIPHER_IV_LENGTH], aad, GCM_TAG_BITS)), handle, plaintext);
      if (sealed.length != plaintext.length + GCM_TAG_BITS / 8) {
        return new byte[][] {sealed, null};
      }
      byte[] block = GcmIvRecovery.firstKeystreamBlock(plaintext, sealed);
      return new byte[][] {sealed, session.decryptSingle(new Mechanism(CKM_AES_ECB), handle, block)};
    });
    byte[] sealed = sealedAndCounter[0];
    if (sealedAndCounter[1] == null) {
      GcmIvRecovery.checkSealedLength(sealed.length, plaintext.length); // throws: Luna's FIPS mode appends its IV
    }
    byte[] iv = GcmIvRecovery.ivFromCounterBlock(sealedAndCounter[1], new byte[CIPHER_IV_LENGTH]);
    return new GcmSealed(iv, sealed);
  }

  @Override
  public boolean gcmIvFromHsm() {
    return gcmIvFromHsm;
  }

  @Override
  public <T> T withTemporaryAesKey(TemporaryKeyWork<T> work) throws HsmException {
    if (temporaryKey != null) {
      throw new IllegalStateException("one temporary key at a time");
    }
    long handle;
    try {
      handle = session.generateKey(new Mechanism(CKM_AES_KEY_GEN), AttributeVector.newAESSecretKey()
          .token(false).private_(true).sensitive(true).extractable(false).encrypt(true).decrypt(true)
          .wrap(false).unwrap(false).sign(false).verify(false).derive(false).valueLen(32));
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.GENERATE_KEY, "C_GenerateKey (temporary AES-256 session key) failed");
    }
    temporaryKey = new HsmKey("kmsgw-temporary-session-key", new byte[0]);
    temporaryHandle = handle;
    try {
      return work.run(temporaryKey);
    } finally {
      temporaryKey = null;
      try {
        session.destroyObject(handle);
      } catch (PKCS11Exception e) {
        // a session object: it goes with the session anyway
      }
    }
  }

  @Override
  public byte[] decryptAesGcm(HsmKey key, byte[] iv, byte[] aad, byte[] ciphertextAndTag) throws HsmException {
    return withHandle(key, Call.DECRYPT, handle ->
        session.decryptSingle(new Mechanism(CKM_AES_GCM, new GCM_PARAMS(iv, aad, GCM_TAG_BITS)), handle,
            ciphertextAndTag));
  }

  @Override
  public byte[] generateRandom(int length) throws HsmException {
    try {
      return session.generateRandom(length);
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.RANDOM, "C_GenerateRandom failed");
    }
  }

  @Override
  public List<HsmKey> findKeys(String labelPrefix) throws HsmException {
    List<Long> found = new ArrayList<>();
    try {
      counters.findObjects.increment();
      session.findObjectsInit(new AttributeVector().token(true));
      try {
        long[] batch;
        while ((batch = session.findObjects(256)).length > 0) {
          for (long h : batch) {
            found.add(h);
          }
        }
      } finally {
        // SoftHSM2 (and the standard) need C_FindObjectsFinal before the session can search again
        session.findObjectsFinal();
      }
      java.util.Set<HsmKey> keys = new java.util.LinkedHashSet<>();
      for (long h : found) {
        AttributeVector attrs;
        try {
          attrs = session.getAttrValues(h, CKA_CLASS, CKA_LABEL, CKA_ID);
        } catch (PKCS11Exception e) {
          if (ckr.kind(e.getErrorCode(), Call.FIND) == HsmErrorKind.STALE_HANDLE) {
            continue; // destroyed between the search and now (a rollback or deletion on another session)
          }
          throw e;
        }
        Long objectClass = attrs.class_();
        boolean key = objectClass != null
            && (objectClass == CKO_SECRET_KEY || objectClass == CKO_PRIVATE_KEY || objectClass == CKO_PUBLIC_KEY);
        String label = attrs.label();
        byte[] id = attrs.id();
        if (key && label != null && label.startsWith(labelPrefix)) {
          // the two halves of a pair share label and id: one key
          keys.add(new HsmKey(label, id == null ? new byte[0] : id));
        }
      }
      return List.copyOf(keys);
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.FIND, "listing key objects failed");
    }
  }

  @Override
  public boolean exists(HsmKey key) throws HsmException {
    return handles.findAllTokenObjects(session, key).length > 0;
  }

  @Override
  public void destroy(HsmKey key) throws HsmException {
    handles.forget(key);
    for (long h : handles.findAllTokenObjects(session, key)) {
      try {
        session.destroyObject(h);
      } catch (PKCS11Exception e) {
        if (ckr.kind(e.getErrorCode(), Call.DESTROY) != HsmErrorKind.STALE_HANDLE) {
          throw ckr.map(e, Call.DESTROY, "C_DestroyObject failed for " + key.label());
        }
      }
    }
  }

  /**
   * The custody attributes of the token object itself (never of a session copy): the secret key, or the private half
   * of a key pair.
   */
  @Override
  public KeyCustody custody(HsmKey key) throws HsmException {
    long[] secret = handles.findTokenObjects(session, key);
    if (secret.length == 0) {
      return keyPairs.privateKeyCustody(key);
    }
    try {
      return custodyOf(session, secret[0]);
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.GET_ATTRIBUTES, "reading custody attributes of " + key.label() + " failed");
    }
  }

  static KeyCustody custodyOf(Session session, long handle) throws PKCS11Exception {
    AttributeVector a = session.getAttrValues(handle, CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_ALWAYS_SENSITIVE,
        CKA_EXTRACTABLE, CKA_NEVER_EXTRACTABLE);
    return new KeyCustody(isTrue(a.token()), isTrue(a.private_()), isTrue(a.sensitive()),
        isTrue(a.alwaysSensitive()), isTrue(a.extractable()), isTrue(a.neverExtractable()));
  }

  @Override
  public List<SecretKeyInfo> describeSecretKeys(String label) throws HsmException {
    try {
      counters.findObjects.increment();
      long[] found = session.findObjectsSingle(
          new AttributeVector().class_(CKO_SECRET_KEY).token(true).label(label), 16);
      List<SecretKeyInfo> out = new ArrayList<>(found.length);
      for (long h : found) {
        AttributeVector a = session.getAttrValues(h, CKA_ID, CKA_KEY_TYPE, CKA_VALUE_LEN, CKA_ENCRYPT, CKA_DECRYPT,
            CKA_WRAP, CKA_UNWRAP, CKA_SIGN, CKA_VERIFY, CKA_DERIVE);
        byte[] id = a.id();
        Long type = a.keyType();
        Integer len = a.valueLen();
        out.add(new SecretKeyInfo(new HsmKey(label, id == null ? new byte[0] : id),
            type != null && type == CKK_AES, len == null ? -1 : len, isTrue(a.encrypt()), isTrue(a.decrypt()),
            isTrue(a.wrap()), isTrue(a.unwrap()), isTrue(a.sign()), isTrue(a.verify()), isTrue(a.derive())));
      }
      return out;
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.GET_ATTRIBUTES, "reading the attributes of " + label + " failed");
    }
  }

  static boolean isTrue(Boolean b) {
    return Boolean.TRUE.equals(b);
  }

  /** Runs a call on the key's cached handle, or on the temporary session key while its work runs. */
  private <T> T withHandle(HsmKey key, Call call, ObjectCalls.HandleCall<T> fn) throws HsmException {
    if (temporaryKey != null && key == temporaryKey) {
      try {
        return fn.apply(temporaryHandle);
      } catch (PKCS11Exception e) {
        throw ckr.map(e, call, call + " failed with a temporary session key");
      }
    }
    return calls.withSecretKey(key, call, fn);
  }

  @Override
  public HsmKey generateEcP256SigningKey(String label, byte[] id) throws HsmException {
    return signing.generateEcP256SigningKey(label, id);
  }

  @Override
  public Optional<byte[]> ecP256PublicKey(HsmKey key) throws HsmException {
    return signing.ecP256PublicKey(key);
  }

  @Override
  public byte[] signEcdsa(HsmKey key, byte[] digest) throws HsmException {
    return signing.signEcdsa(key, digest);
  }

  @Override
  public HsmKey generateKeyPair(KeySpec spec, KeyUsage usage, String label, byte[] id) throws HsmException {
    return keyPairs.generateKeyPair(spec, usage, label, id);
  }

  @Override
  public HsmKey generateHmacKey(KeySpec spec, String label, byte[] id) throws HsmException {
    return keyPairs.generateHmacKey(spec, label, id);
  }

  @Override
  public byte[] publicKeyInfo(HsmKey key, KeySpec spec) throws HsmException {
    return keyPairs.publicKeyInfo(key, spec);
  }

  @Override
  public byte[] hmac(HsmKey key, io.kmsgw.domain.Algorithms.Mac algorithm, byte[] message) throws HsmException {
    return macs.hmac(key, algorithm, message);
  }

  @Override
  public byte[] deriveSharedSecret(HsmKey key, byte[] peerPoint, int secretLength) throws HsmException {
    return agreement.deriveSharedSecret(key, peerPoint, secretLength);
  }

  @Override
  public byte[] decryptOaep(HsmKey key, String hash, byte[] ciphertext) throws HsmException {
    return rsaDecryption.decryptOaep(key, hash, ciphertext);
  }

  @Override
  public byte[] decryptRaw(HsmKey key, byte[] ciphertext) throws HsmException {
    return rsaDecryption.decryptRaw(key, ciphertext);
  }

  @Override
  public byte[] signWithKeyPair(HsmKey key, KeySpec spec, io.kmsgw.domain.Algorithms.Signing algorithm, byte[] input)
      throws HsmException {
    return asymmetricSigning.signWithKeyPair(key, spec, algorithm, input);
  }

  @Override
  public HsmKey generateWrappingKeyPair(int bits, String label, byte[] id) throws HsmException {
    return keyImport.generateWrappingKeyPair(bits, label, id);
  }

  @Override
  public Unwrapped unwrapSecretKey(HsmKey wrappingKey, String oaepHash, boolean rsaAes, byte[] wrapped, KeySpec spec,
      int minLength, int maxLength, HsmKey target) throws HsmException {
    return keyImport.unwrapSecretKey(wrappingKey, oaepHash, rsaAes, wrapped, spec, minLength, maxLength, target);
  }

  @Override
  public byte[] unwrapPrivateKey(HsmKey wrappingKey, String oaepHash, boolean rsaAes, byte[] wrapped, KeySpec spec,
      io.kmsgw.domain.KeyUsage usage, HsmKey target) throws HsmException {
    return privateKeyImport.unwrapPrivateKey(wrappingKey, oaepHash, rsaAes, wrapped, spec, usage, target);
  }
}
